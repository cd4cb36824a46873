//! The node's chain sync: its state, the bad-block list, checkpoints, block submission and tipset validation.

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::body::Body;
use super::chain::{body_tipset_key, TipsetRef};
use super::extract::{BadBlockPath, BlockPath, TipsetPath};
use super::params;
use crate::auth::{Admin, Authorized, Read, Write};
use crate::error::{ApiError, Code};
use crate::lotus::types::{BlockHeader, Cid, TipSet};
use crate::state::AppState;

/// One of the node's sync workers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ActiveSync {
    #[serde(rename = "WorkerID")]
    #[schema(example = 1)]
    pub worker_id: u64,
    /// The tipset the worker syncs from.
    pub base: Option<TipSet>,
    /// The tipset the worker syncs to.
    pub target: Option<TipSet>,
    /// The stage: 0 idle, 1 headers, 2 persisting headers, 3 messages, 4 complete, 5 error, 6 fetching messages
    /// (Lotus's numbering; see its `SyncStateStage`).
    #[schema(example = 4)]
    pub stage: u32,
    #[schema(example = 4863283)]
    pub height: i64,
    #[schema(example = "2026-01-01T00:00:00Z")]
    pub start: String,
    #[schema(example = "2026-01-01T00:00:30Z")]
    pub end: String,
    #[schema(example = "")]
    pub message: String,
}

/// The sync state of the node.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SyncState {
    pub active_syncs: Vec<ActiveSync>,
    /// How many messages the VM has applied.
    #[serde(rename = "VMApplied")]
    #[schema(example = 42)]
    pub vm_applied: u64,
}

/// The node's sync state.
///
/// What each of the node's sync workers is doing (`Filecoin.SyncState`).
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncState"]))),
    responses((status = 200, description = "The sync state", body = SyncState)),
    security(("lotus_token" = ["read"]))
)]
#[get("/state")]
pub async fn get_sync_state(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(&state, &auth.caller, "Filecoin.SyncState", json!([]), false).await
}

/// A block the node refuses.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BadBlock {
    pub cid: Cid,
    /// Why the block is refused.
    #[schema(example = "validating block: block had invalid election proof")]
    pub reason: String,
}

/// A bad block.
///
/// Why the node refuses a block (`Filecoin.SyncCheckBad`); 404 when the block is not in the bad-block list.
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncCheckBad"]))),
    params(BadBlockPath),
    responses((status = 200, description = "The block is marked bad", body = BadBlock)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_bad_block(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    BadBlockPath { cid }: BadBlockPath,
) -> Result<HttpResponse, ApiError> {
    let reason = state
        .node
        .call_raw(&auth.caller, "Filecoin.SyncCheckBad", json!([cid]))
        .await?;
    let reason: String = super::decode("Filecoin.SyncCheckBad", reason.get())?;
    let root = cid.root.as_str();
    if reason.is_empty() {
        return Err(ApiError::new(
            Code::NotFound,
            format!("block {root} is not marked bad"),
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(BadBlock {
            cid: Cid::new(root),
            reason,
        }))
}

/// Marks a block bad.
///
/// Adds a block to the node's bad-block list: the node will not sync a chain that includes it
/// (`Filecoin.SyncMarkBad`).
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncMarkBad"]))),
    params(BlockPath),
    responses((status = 204, description = "The block is marked bad")),
    security(("lotus_token" = ["admin"]))
)]
#[put("")]
pub async fn put_sync_bad_block(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    BlockPath { cid }: BlockPath,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.SyncMarkBad", json!([cid]))
        .await?;
    Ok(super::no_content())
}

/// Unmarks a bad block.
///
/// Removes a block from the node's bad-block list (`Filecoin.SyncUnmarkBad`).
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncUnmarkBad"]))),
    params(BadBlockPath),
    responses((status = 204, description = "The block is no longer marked bad")),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_bad_block(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    BadBlockPath { cid }: BadBlockPath,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.SyncUnmarkBad", json!([cid]))
        .await?;
    Ok(super::no_content())
}

/// Clears the bad-block list.
///
/// Removes every block from the node's bad-block list (`Filecoin.SyncUnmarkAllBad`).
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncUnmarkAllBad"]))),
    responses((status = 204, description = "No block is marked bad")),
    security(("lotus_token" = ["admin"]))
)]
#[delete("/bad-blocks")]
pub async fn delete_bad_blocks(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.SyncUnmarkAllBad", json!([]))
        .await?;
    Ok(super::no_content())
}

/// Checkpoints a tipset.
///
/// Makes the node treat a tipset as final: it syncs to it and never reorganizes below it
/// (`Filecoin.SyncCheckpoint`).
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncCheckpoint"]))),
    request_body = TipsetRef,
    responses((status = 204, description = "The tipset is checkpointed")),
    security(("lotus_token" = ["admin"]))
)]
#[put("/checkpoint")]
pub async fn update_sync_checkpoint(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<TipsetRef>,
) -> Result<HttpResponse, ApiError> {
    let key = body_tipset_key(&body)?;
    state
        .node
        .call_raw(&auth.caller, "Filecoin.SyncCheckpoint", json!([key]))
        .await?;
    Ok(super::no_content())
}

/// A block to submit, as a miner produced it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct BlockSubmission {
    pub header: BlockHeader,
    /// The CIDs of the block's BLS messages.
    pub bls_messages: Vec<Cid>,
    /// The CIDs of the block's secp256k1 messages.
    pub secpk_messages: Vec<Cid>,
}

/// Submits a block.
///
/// Hands a newly mined block to the node, which validates it and publishes it to the network
/// (`Filecoin.SyncSubmitBlock`); 202 as the network takes it from there.
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncSubmitBlock"]))),
    request_body = BlockSubmission,
    responses((status = 202, description = "The block is accepted for publication")),
    security(("lotus_token" = ["write"]))
)]
#[post("/blocks")]
pub async fn submit_block(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    body: Body<BlockSubmission>,
) -> Result<HttpResponse, ApiError> {
    let block = body.into_inner();
    let bad = |field: &str, detail: String| {
        ApiError::new(
            Code::InvalidBody,
            format!("invalid request body: field \"{field}\": {detail}"),
        )
    };
    for (field, cid) in std::iter::once(("Header.ParentStateRoot", &block.header.parent_state_root))
        .chain(std::iter::once((
            "Header.ParentMessageReceipts",
            &block.header.parent_message_receipts,
        )))
        .chain(std::iter::once(("Header.Messages", &block.header.messages)))
        .chain(block.header.parents.iter().map(|c| ("Header.Parents", c)))
        .chain(block.bls_messages.iter().map(|c| ("BlsMessages", c)))
        .chain(block.secpk_messages.iter().map(|c| ("SecpkMessages", c)))
    {
        params::cid(field, &cid.root).map_err(|e| bad(field, e.detail))?;
    }
    if block.header.parents.is_empty() {
        return Err(bad("Header.Parents", "a block has parents".into()));
    }
    if block.header.height <= 0 {
        return Err(bad(
            "Header.Height",
            format!("{} is not a height above genesis", block.header.height),
        ));
    }
    params::address("Header.Miner", &block.header.miner)
        .map_err(|e| bad("Header.Miner", e.detail))?;
    state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.SyncSubmitBlock",
            json!([{
                "Header": block.header,
                "BlsMessages": block.bls_messages,
                "SecpkMessages": block.secpk_messages,
            }]),
        )
        .await?;
    Ok(super::accepted_empty())
}

/// The result of validating a tipset.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TipsetValidity {
    /// The tipset key validated.
    pub tipset: Vec<Cid>,
    #[schema(example = true)]
    pub valid: bool,
    /// Why the node finds the tipset invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "validating tipset: block had invalid election proof")]
    pub reason: Option<String>,
}

/// Validates a tipset.
///
/// Has the node validate a tipset: its blocks, messages and state transition (`Filecoin.SyncValidateTipset`). An
/// invalid tipset is answered with `Valid: false` and the node's reason.
#[utoipa::path(
    tag = "Sync",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncValidateTipset"]))),
    params(TipsetPath),
    responses((status = 200, description = "The tipset is valid", body = TipsetValidity)),
    security(("lotus_token" = ["read"]))
)]
#[get("/validity")]
pub async fn get_tipset_validity(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    TipsetPath { key }: TipsetPath,
) -> Result<HttpResponse, ApiError> {
    let (valid, reason) = match state
        .node
        .call::<bool, _>(
            &auth.caller,
            "Filecoin.SyncValidateTipset",
            json!([key.clone()]),
        )
        .await
    {
        Ok(valid) => (valid, None),
        Err(e) if e.code == Code::UpstreamError => {
            (false, Some(e.rpc.map(|r| r.message).unwrap_or(e.detail)))
        }
        Err(e) => return Err(e),
    };
    let tipset: Vec<Cid> = serde_json::from_value(key.0).unwrap_or_default();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TipsetValidity {
            tipset,
            valid,
            reason,
        }))
}

/// Registers the sync routes.
/// The routes under `/v1/sync`, in the order they are matched.
pub fn register_sync(cfg: &mut ServiceConfig) {
    cfg.service(get_sync_state)
        .service(delete_bad_blocks)
        .service(update_sync_checkpoint)
        .service(submit_block)
        .scope("/bad-blocks/{cid}", &|cfg| {
            cfg.service(get_bad_block)
                .service(put_sync_bad_block)
                .service(delete_bad_block);
        });
}

/// The routes under `/v1/tipsets/key/{key}` this module declares, in the order they are matched.
pub fn register_tipset(cfg: &mut ServiceConfig) {
    cfg.service(get_tipset_validity);
}
