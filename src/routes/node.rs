//! The node and its network.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::params;
use super::raw_json;
use crate::auth::{Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::NodeVersion;
use crate::AppState;

/// The node's version.
///
/// The Lotus version, API version and block time of the node (`Filecoin.Version`).
#[utoipa::path(
    tag = "Node",
    responses((status = 200, description = "The node's version", body = NodeVersion)),
    security(("lotus_token" = ["read"]))
)]
#[get("/node/version")]
pub async fn get_node_version(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_raw(&auth.caller, "Filecoin.Version", json!([]))
        .await?;
    Ok(raw_json(raw))
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
    let key = at.key(&state, &auth.caller).await?;
    let (name, version) = futures_util::try_join!(
        state
            .node
            .call::<String, _>(&auth.caller, "Filecoin.StateNetworkName", json!([])),
        state
            .node
            .call::<u32, _>(&auth.caller, "Filecoin.StateNetworkVersion", json!([key])),
    )?;
    Ok(HttpResponse::Ok().json(Network { name, version }))
}
