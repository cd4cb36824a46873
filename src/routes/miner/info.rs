//! The miner itself: version, actor, addresses, logs, backups, tokens.

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{MinerAuthorized, Read};
use crate::error::ApiError;
use crate::lotus::types::NodeVersion;
use crate::routes::lotus_json_uncached;
use crate::AppState;

/// The miner's version.
///
/// The Lotus version, API version and block time of the miner (`Filecoin.Version` on the miner).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.Version"]))),
    responses((status = 200, description = "The miner's version", body = NodeVersion)),
    security(("lotus_token" = ["read"]))
)]
#[get("/miner/version")]
pub async fn get_miner_version(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let version = state
        .miner
        .call_raw(&auth.caller, "Filecoin.Version", json!([]))
        .await?;
    Ok(lotus_json_uncached(&version))
}

/// Registers the routes of the miner itself.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(get_miner_version);
}
