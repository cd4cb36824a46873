//! The node and its network.

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::params;
use crate::auth::{Admin, Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::NodeVersion;
use crate::state::AppState;

/// The node's version.
///
/// The Lotus version, API version and block time of the node (`Filecoin.Version`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.Version"]))),
    responses((status = 200, description = "The node's version", body = NodeVersion)),
    security(("lotus_token" = ["read"]))
)]
#[get("/version")]
pub async fn get_node_version(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(&state, &auth.caller, "Filecoin.Version", json!([]), false).await
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
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.StateNetworkName", "Filecoin.StateNetworkVersion"])),
        ("x-lotus-serves" = json!(["Filecoin.StateNetworkName", "Filecoin.StateNetworkVersion"]))
    ),
    params(params::AtTipset),
    responses((status = 200, description = "The network", body = Network)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
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

/// The node's session ID.
///
/// A UUID the node draws when it starts (`Filecoin.Session`): a new value means the node has restarted.
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.Session"]))),
    responses((status = 200, description = "The session ID, as a JSON string", body = String,
        content_type = "application/json", example = json!("07070707-0707-0707-0707-070707070707"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/session")]
pub async fn get_node_session(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(&state, &auth.caller, "Filecoin.Session", json!([]), false).await
}

/// When the node started.
///
/// The time the node process started, RFC 3339 (`Filecoin.StartTime`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.StartTime"]))),
    responses((status = 200, description = "The start time, as a JSON string", body = String,
        content_type = "application/json", example = json!("2026-01-01T00:00:00Z"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/start-time")]
pub async fn get_node_start_time(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(&state, &auth.caller, "Filecoin.StartTime", json!([]), false).await
}

/// The node's peer ID.
///
/// The libp2p peer ID the node is known by on the network (`Filecoin.ID`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.ID"]))),
    responses((status = 200, description = "The peer ID, as a JSON string", body = String,
        content_type = "application/json", example = json!("12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/id")]
pub async fn get_node_id(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(&state, &auth.caller, "Filecoin.ID", json!([]), false).await
}

/// How far the node is in sync.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NodeSyncStatus {
    /// The head's epoch.
    #[schema(example = 4863283)]
    pub epoch: u64,
    /// How many epochs the head is behind the wall clock.
    #[schema(example = 0)]
    pub behind: u64,
}

/// How well the node is connected.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NodePeerStatus {
    #[schema(example = 8)]
    pub peers_to_publish_msgs: i64,
    #[schema(example = 6)]
    pub peers_to_publish_blocks: i64,
}

/// How full recent tipsets are.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NodeChainStatus {
    #[schema(example = 4.8)]
    pub blocks_per_tipset_last100: f64,
    #[schema(example = 4.9)]
    pub blocks_per_tipset_last_finality: f64,
}

/// The node's status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NodeStatus {
    pub sync_status: NodeSyncStatus,
    pub peer_status: NodePeerStatus,
    /// Zero unless `chain_status=true` was asked for.
    pub chain_status: NodeChainStatus,
}

/// Whether to compute the chain statistics.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusOptions {
    /// Also compute the blocks per tipset over the last 100 epochs and over the finality window (slower).
    #[param(value_type = Option<bool>, example = true)]
    pub chain_status: Option<String>,
}

/// The node's status.
///
/// How far the node is in sync, how well it is connected and, on request, how full recent tipsets are
/// (`Filecoin.NodeStatus`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.NodeStatus"]))),
    params(StatusOptions),
    responses((status = 200, description = "The node's status", body = NodeStatus)),
    security(("lotus_token" = ["read"]))
)]
#[get("/status")]
pub async fn get_node_status(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    query: web::Query<StatusOptions>,
) -> Result<HttpResponse, ApiError> {
    let inclusive = match query.chain_status.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "invalid chain_status \"{other}\": expected true or false"
            )))
        }
    };
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NodeStatus",
        json!([inclusive]),
        false,
    )
    .await
}

/// The node's OpenRPC document.
///
/// The OpenRPC description of the node's JSON-RPC API (`Filecoin.Discover`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.Discover"]))),
    responses((status = 200, description = "The OpenRPC document", body = std::collections::HashMap<String, serde_json::Value>,
        example = json!({"openrpc": "1.2.6", "info": {"title": "Lotus RPC API", "version": "1.36.2"}, "methods": []}))),
    security(("lotus_token" = ["read"]))
)]
#[get("/openrpc")]
pub async fn get_node_openrpc(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(&state, &auth.caller, "Filecoin.Discover", json!([]), false).await
}

/// The node's Web3 client version.
///
/// The client version the node reports to Ethereum JSON-RPC clients (`Filecoin.Web3ClientVersion`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.Web3ClientVersion"]))),
    responses((status = 200, description = "The client version, as a JSON string", body = String,
        content_type = "application/json", example = json!("lotus/1.36.2"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/client-version")]
pub async fn get_node_client_version(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.Web3ClientVersion",
        json!([]),
        false,
    )
    .await
}

/// Shuts the node down.
///
/// Asks the node to stop (`Filecoin.Shutdown`); it stops shortly after answering, so the answer is 202.
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.Shutdown"]))),
    responses((status = 202, description = "The node is shutting down")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/shutdown")]
pub async fn shutdown_node(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.Shutdown", json!([]))
        .await?;
    Ok(super::accepted_empty())
}

/// A backup to write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Path": "/var/backups/lotus/2026-01-01.cbor"}))]
pub struct BackupRequest {
    /// Where the node writes the backup: an absolute path on the node's machine, under its
    /// `LOTUS_BACKUP_BASE_PATH`.
    #[schema(example = "/var/backups/lotus/2026-01-01.cbor", pattern = "^/.+")]
    pub path: String,
}

/// Backs up the node's metadata.
///
/// Writes a backup of the node's metadata store to a file on the node's machine (`Filecoin.CreateBackup`).
#[utoipa::path(
    tag = "Node",
    extensions(("x-lotus-methods" = json!(["Filecoin.CreateBackup"]))),
    request_body = BackupRequest,
    responses(
        (status = 204, description = "The backup is written"),
        (status = 409, description = "A file already exists at the path", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/backups")]
pub async fn create_node_backup(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<BackupRequest>,
) -> Result<HttpResponse, ApiError> {
    let path = body.path.trim();
    if !path.starts_with('/') || path.len() < 2 || path.contains('\0') || path.ends_with('/') {
        return Err(ApiError::new(
            crate::error::Code::InvalidBody,
            format!(
                "invalid request body: field \"Path\": \"{path}\" is not an absolute file path"
            ),
        ));
    }
    state
        .node
        .call_raw(&auth.caller, "Filecoin.CreateBackup", json!([path]))
        .await?;
    Ok(super::no_content())
}

/// Registers the node routes.
/// The routes under `/v1/node`, in the order they are matched.
pub fn register_node(cfg: &mut ServiceConfig) {
    cfg.service(get_node_version)
        .service(get_node_session)
        .service(get_node_start_time)
        .service(get_node_id)
        .service(get_node_status)
        .service(get_node_openrpc)
        .service(get_node_client_version)
        .service(shutdown_node)
        .service(create_node_backup);
}

/// The routes under `/v1/network`, in the order they are matched.
pub fn register_network(cfg: &mut ServiceConfig) {
    cfg.service(get_network);
}
