//! The node and its network.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::lotus_json;
use super::params;
use crate::auth::{Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::NodeVersion;
use crate::AppState;

/// The node's version.
///
/// The Lotus version, API version and block time of the node (`Filecoin.Version`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.Version"]))),
    responses((status = 200, description = "The node's version", body = NodeVersion)),
    security(("lotus_token" = ["read"]))
)]
#[get("/node/version")]
pub async fn get_node_version(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let version = state
        .node
        .call_read(&auth.caller, "Filecoin.Version", json!([]), false)
        .await?;
    Ok(lotus_json(version, false))
}

/// The network the node is on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Network {
    /// The network's name.
    #[schema(example = "mainnet")]
    pub name: String,
    /// The network version in force at the tipset read.
    #[schema(example = 25)]
    pub version: u32,
}

/// The network's name and version.
///
/// The network name (`Filecoin.StateNetworkName`) and the network version at the tipset selected
/// (`Filecoin.StateNetworkVersion`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateNetworkName", "Filecoin.StateNetworkVersion", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(params::AtTipset),
    responses((status = 200, description = "The network", body = Network)),
    security(("lotus_token" = ["read"]))
)]
#[get("/network")]
pub async fn get_network(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let (name, version) = futures_util::try_join!(
        state
            .node
            .call_read(&auth.caller, "Filecoin.StateNetworkName", json!([]), true),
        state.node.call_read(
            &auth.caller,
            "Filecoin.StateNetworkVersion",
            json!([at.key]),
            at.immutable
        ),
    )?;
    Ok(super::json_response(
        &Network {
            name: super::decode("Filecoin.StateNetworkName", &name)?,
            version: super::decode("Filecoin.StateNetworkVersion", &version)?,
        },
        at.immutable,
    ))
}

/// Registers the node routes.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(get_node_version).service(get_network);
}
