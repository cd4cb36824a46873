//! Tipsets and blocks.

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use super::lotus_json;
use super::params;
use crate::auth::{Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::{BlockHeader, BlockMessages, TipSet};
use crate::AppState;

/// The current head of the chain.
///
/// The tipset the node considers the head now (`Filecoin.ChainHead`). While the node's `ChainNotify` stream is
/// open the gateway answers from it, without a call to the node.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainHead"]))),
    responses((status = 200, description = "The head tipset", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/chain/head")]
pub async fn get_chain_head(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(head) = state.head_feed.head() {
        state.node.guard(&auth.caller, "Filecoin.ChainHead")?;
        return Ok(lotus_json(head, false));
    }
    let head = state
        .node
        .call_read(&auth.caller, "Filecoin.ChainHead", json!([]), false)
        .await?;
    if let Ok(h) = serde_json::from_str::<params::HeightOnly>(&head) {
        state.head.observe(h.height);
    }
    Ok(lotus_json(head, false))
}

/// A tipset by height.
///
/// The tipset at a chain epoch (`Filecoin.ChainGetTipSetByHeight`). A height at which no blocks were produced
/// (a null round) is answered with 404 `null_round` rather than with another tipset; a height beyond the head
/// with 400.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainHead"]))),
    params(("height" = u64, Path, description = "The chain epoch", minimum = 0, example = 100)),
    responses((status = 200, description = "The tipset at that height", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/tipsets/{height}")]
pub async fn get_tipset_by_height(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let height = params::height("height", &path)?;
    let (tipset, immutable) = params::tipset_at_height(&state, &auth.caller, height).await?;
    Ok(lotus_json(tipset, immutable))
}

/// A tipset by key.
///
/// The tipset whose blocks have these CIDs (`Filecoin.ChainGetTipSet`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetTipSet"]))),
    params(("key" = String, Path, description = "The tipset key: its block CIDs, separated by commas", pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$",
        example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")),
    responses((status = 200, description = "The tipset", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/tipsets/key/{key}")]
pub async fn get_tipset_by_key(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = params::tipset_key("key", &path)?;
    let tipset = state
        .node
        .call_read(&auth.caller, "Filecoin.ChainGetTipSet", json!([key]), true)
        .await?;
    Ok(lotus_json(tipset, true))
}

/// A block header by CID.
///
/// The header of a block (`Filecoin.ChainGetBlock`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetBlock"]))),
    params(("cid" = String, Path, description = "The block's CID", pattern = "^[A-Za-z0-9]+$",
        example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")),
    responses((status = 200, description = "The block header", body = BlockHeader)),
    security(("lotus_token" = ["read"]))
)]
#[get("/blocks/{cid}")]
pub async fn get_block(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cid = params::cid("cid", &path)?;
    let block = state
        .node
        .call_read(&auth.caller, "Filecoin.ChainGetBlock", json!([cid]), true)
        .await?;
    Ok(lotus_json(block, true))
}

/// The messages of a block.
///
/// The BLS and secp256k1 messages a block includes, and all their CIDs in block order
/// (`Filecoin.ChainGetBlockMessages`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetBlockMessages"]))),
    params(("cid" = String, Path, description = "The block's CID", pattern = "^[A-Za-z0-9]+$",
        example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")),
    responses((status = 200, description = "The block's messages", body = BlockMessages)),
    security(("lotus_token" = ["read"]))
)]
#[get("/blocks/{cid}/messages")]
pub async fn get_block_messages(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cid = params::cid("cid", &path)?;
    let messages = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.ChainGetBlockMessages",
            json!([cid]),
            true,
        )
        .await?;
    Ok(lotus_json(messages, true))
}

/// Registers the chain routes.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(get_chain_head)
        .service(get_tipset_by_height)
        .service(get_tipset_by_key)
        .service(get_block)
        .service(get_block_messages);
}
