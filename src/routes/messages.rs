//! Messages and their execution.

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use super::lotus_json;
use super::params;
use crate::auth::{Authorized, Read};
use crate::error::{ApiError, Code};
use crate::lotus::types::{Message, MsgLookup};
use crate::AppState;

/// A message by CID.
///
/// An on-chain or pending message (`Filecoin.ChainGetMessage`).
#[utoipa::path(
    tag = "Messages",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetMessage"]))),
    params(("cid" = String, Path, description = "The message's CID", pattern = "^[A-Za-z0-9]+$",
        example = "bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s")),
    responses((status = 200, description = "The message", body = Message)),
    security(("lotus_token" = ["read"]))
)]
#[get("/messages/{cid}")]
pub async fn get_message(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cid = params::cid("cid", &path)?;
    let message = state
        .node
        .call_read(&auth.caller, "Filecoin.ChainGetMessage", json!([cid]), true)
        .await?;
    Ok(lotus_json(message, true))
}

/// A message's receipt and inclusion.
///
/// Where the message was executed and its receipt (`Filecoin.StateSearchMsg`), searching back from the tipset
/// selected (default: the head). 404 `message_not_found` while the message has not been executed.
#[utoipa::path(
    tag = "Messages",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateSearchMsg", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(("cid" = String, Path, description = "The message's CID", pattern = "^[A-Za-z0-9]+$",
        example = "bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s"),
        params::AtTipset),
    responses((status = 200, description = "The receipt and the tipset that executed the message", body = MsgLookup)),
    security(("lotus_token" = ["read"]))
)]
#[get("/messages/{cid}/receipt")]
pub async fn get_message_receipt(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let cid = params::cid("cid", &path)?;
    let at = at.key(&state, &auth.caller).await?;
    // A lookup can still change (a reorg, or the message executing later): never kept.
    let lookup = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateSearchMsg",
            json!([at.key, cid, -1, true]),
            false,
        )
        .await?;
    if &*lookup == "null" {
        return Err(ApiError::new(
            Code::MessageNotFound,
            format!(
                "message {} has not been executed in the chain up to the tipset read; it may still be pending",
                path.trim()
            ),
        ));
    }
    Ok(lotus_json(lookup, false))
}

/// Registers the message routes.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(get_message).service(get_message_receipt);
}
