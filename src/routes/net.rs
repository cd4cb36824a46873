//! The node's libp2p network: peers and connections, bandwidth, the block list, protected peers, resource limits.

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::{PeerPath, ScopePath, StatScopePath};
use super::no_content;
use super::page::{self, Page, PageOf, Shape};
use super::params::AtTipset;
use crate::auth::{Admin, Authorized, Read, Write};
use crate::error::ApiError;
use crate::state::AppState;

const PEER_EXAMPLE: &str = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf";

/// Checks a libp2p peer ID (base58 multihash, as Lotus prints it).
pub fn peer_id(name: &str, value: &str) -> Result<String, ApiError> {
    value
        .parse::<multiaddr::PeerId>()
        .map(|p| p.to_string())
        .map_err(|e| {
            ApiError::invalid_parameter(format!(
                "invalid {name} \"{value}\": not a libp2p peer ID ({e})"
            ))
        })
}

/// Checks a multiaddr, and that a `/p2p/` part names `peer` if given.
fn multiaddr(name: &str, value: &str, peer: Option<&str>) -> Result<String, ApiError> {
    let addr = value.parse::<multiaddr::Multiaddr>().map_err(|e| {
        ApiError::invalid_parameter(format!("invalid {name} \"{value}\": not a multiaddr ({e})"))
    })?;
    if let Some(peer) = peer {
        for proto in addr.iter() {
            if let multiaddr::Protocol::P2p(id) = proto {
                if id.to_string() != peer {
                    return Err(ApiError::invalid_parameter(format!(
                        "invalid {name} \"{value}\": it names peer {id}, not {peer}"
                    )));
                }
            }
        }
    }
    Ok(addr.to_string())
}

/// A peer and its addresses (`peer.AddrInfo`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"ID": PEER_EXAMPLE, "Addrs": ["/ip4/52.36.61.156/tcp/1347"]}))]
pub struct AddrInfo {
    /// The peer ID.
    #[serde(rename = "ID")]
    #[schema(example = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf")]
    pub id: String,
    /// Its multiaddrs.
    #[serde(default)]
    pub addrs: Vec<String>,
}

/// What the node knows of a connected peer (`api.ExtendedPeerInfo`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PeerInfo {
    #[serde(rename = "ID")]
    pub id: String,
    /// The peer's agent version.
    pub agent: String,
    pub addrs: Vec<String>,
    /// The protocols it speaks.
    pub protocols: Vec<String>,
    /// The connection manager's view: first seen, value, tags, connections.
    #[schema(value_type = Object)]
    pub conn_mgr_meta: serde_json::Value,
}

/// Transfer counters in bytes and rates in bytes per second (`metrics.Stats`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BandwidthStats {
    pub total_in: i64,
    pub total_out: i64,
    pub rate_in: f64,
    pub rate_out: f64,
}

/// A peer's transfer counters.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PeerBandwidth {
    /// The peer ID.
    #[serde(rename = "ID")]
    pub id: String,
    pub total_in: i64,
    pub total_out: i64,
    pub rate_in: f64,
    pub rate_out: f64,
}

/// A peer's gossipsub score (`api.PubsubScore`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PubsubScore {
    #[serde(rename = "ID")]
    pub id: String,
    /// Score, per-topic counters, application score, IP colocation factor, behaviour penalty.
    #[schema(value_type = Object)]
    pub score: serde_json::Value,
}

/// The node's block list (`api.NetBlockList`).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Peers": [PEER_EXAMPLE], "IPAddrs": ["192.0.2.66"], "IPSubnets": ["198.51.100.0/24"]}))]
pub struct NetBlockList {
    /// Peer IDs.
    #[serde(default)]
    pub peers: Vec<String>,
    /// IP addresses.
    #[serde(rename = "IPAddrs", default)]
    pub ip_addrs: Vec<String>,
    /// IP subnets in CIDR notation.
    #[serde(rename = "IPSubnets", default)]
    pub ip_subnets: Vec<String>,
}

/// Resource limits of a scope (`api.NetLimit`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Memory": 268435456, "Streams": 512, "StreamsInbound": 256, "StreamsOutbound": 256, "Conns": 128, "ConnsInbound": 64, "ConnsOutbound": 64, "FD": 64}))]
pub struct NetLimit {
    /// Memory in bytes.
    #[schema(minimum = 0)]
    pub memory: i64,
    #[schema(minimum = 0)]
    pub streams: i64,
    #[schema(minimum = 0)]
    pub streams_inbound: i64,
    #[schema(minimum = 0)]
    pub streams_outbound: i64,
    #[schema(minimum = 0)]
    pub conns: i64,
    #[schema(minimum = 0)]
    pub conns_inbound: i64,
    #[schema(minimum = 0)]
    pub conns_outbound: i64,
    /// File descriptors.
    #[serde(rename = "FD")]
    #[schema(minimum = 0)]
    pub fd: i64,
}

/// AutoNAT's view of the node's reachability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NatStatus {
    /// 0 unknown, 1 public, 2 private.
    pub reachability: i64,
    pub public_addrs: Option<Vec<String>>,
}

/// Resource usage per scope (`api.NetStat`): only the scopes asked for are present.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NetStat {
    #[schema(value_type = Option<Object>)]
    pub system: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub transient: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub services: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub protocols: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub peers: Option<serde_json::Value>,
}

/// A page of a list that follows the network rather than the chain: the first page reads it anew, later pages
/// continue the list their cursor came from.
async fn live_list(
    state: &AppState,
    auth: &Authorized<Read>,
    method: &str,
    shape: Shape,
    page: &Page,
) -> Result<HttpResponse, ApiError> {
    if page.cursor.is_none() {
        state.node.guard(&auth.caller, method)?;
        state.lists.remove(&format!("{method}\u{0}[]"));
    }
    page::list(
        state,
        &auth.caller,
        method,
        |_| json!([]),
        shape,
        &AtTipset::default(),
        page,
    )
    .await
}

/// Connected peers.
///
/// The peers the node is connected to, with their addresses (`Filecoin.NetPeers`), a page at a time. The first
/// page reads the list; later pages continue that same list.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetPeers", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(Page),
    responses((status = 200, description = "A page of connected peers", body = PageOf<AddrInfo>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/peers")]
pub async fn list_net_peers(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    live_list(&state, &auth, "Filecoin.NetPeers", Shape::Array, &page).await
}

/// Connect to a peer.
///
/// Connects the node to a peer at the addresses given (`Filecoin.NetConnect`); the connection is then at
/// `/v1/net/peers/{peer_id}`. Peer ID and multiaddrs are checked before the node is asked.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetConnect"]))),
    request_body = AddrInfo,
    responses(
        (status = 201, description = "Connected; Location is the peer", body = AddrInfo),
        (status = 409, description = "The peer is on the node's blocklist", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ),
    security(("lotus_token" = ["write"]))
)]
#[post("/peers")]
pub async fn create_net_peer(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    body: Body<AddrInfo>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let id = peer_id("ID", &body.id)?;
    if body.addrs.is_empty() {
        return Err(ApiError::invalid_parameter(
            "invalid Addrs: give at least one multiaddr to dial",
        ));
    }
    let addrs = body
        .addrs
        .iter()
        .enumerate()
        .map(|(i, a)| multiaddr(&format!("Addrs[{i}]"), a, Some(&id)))
        .collect::<Result<Vec<_>, _>>()?;
    let info = AddrInfo { id, addrs };
    state
        .node
        .call_raw(&auth.caller, "Filecoin.NetConnect", json!([info]))
        .await?;
    Ok(super::created(&format!("/v1/net/peers/{}", info.id), &info))
}

/// A connected peer.
///
/// What the node knows of a connected peer: agent, addresses, protocols, connection manager data
/// (`Filecoin.NetPeerInfo`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetPeerInfo"]))),
    params(PeerPath),
    responses((status = 200, description = "The peer", body = PeerInfo)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_net_peer(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    PeerPath { peer_id }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetPeerInfo",
        json!([peer_id]),
        false,
    )
    .await
}

/// Disconnect from a peer.
///
/// Closes the node's connections to a peer (`Filecoin.NetDisconnect`); a peer the node is not connected to
/// (`Filecoin.NetConnectedness`) is a 404.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetDisconnect", "Filecoin.NetConnectedness"]))),
    params(PeerPath),
    responses((status = 204, description = "Disconnected")),
    security(("lotus_token" = ["write"]))
)]
#[delete("")]
pub async fn delete_net_peer(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    PeerPath { peer_id: peer }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    state.node.guard(&auth.caller, "Filecoin.NetDisconnect")?;
    let connected: i64 = state
        .node
        .call(&auth.caller, "Filecoin.NetConnectedness", json!([peer]))
        .await?;
    if connected != 1 {
        return Err(ApiError::new(
            crate::error::Code::NotFound,
            format!("the node is not connected to peer {peer}"),
        ));
    }
    state
        .node
        .call_raw(&auth.caller, "Filecoin.NetDisconnect", json!([peer]))
        .await?;
    Ok(no_content())
}

/// A peer's connectedness.
///
/// Whether the node is connected to a peer (`Filecoin.NetConnectedness`): 0 not connected, 1 connected, 2 can
/// connect, 3 cannot connect, 4 limited.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetConnectedness"]))),
    params(PeerPath),
    responses((status = 200, description = "The connectedness, as a JSON number", body = i64, content_type = "application/json", example = 1)),
    security(("lotus_token" = ["read"]))
)]
#[get("/connectedness")]
pub async fn get_net_peer_connectedness(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    PeerPath { peer_id }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetConnectedness",
        json!([peer_id]),
        false,
    )
    .await
}

/// A peer's agent version.
///
/// The agent a connected peer announced (`Filecoin.NetAgentVersion`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetAgentVersion"]))),
    params(PeerPath),
    responses((status = 200, description = "The agent version, as a JSON string", body = String, content_type = "application/json", example = json!("lotus-1.32.0+mainnet"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/agent")]
pub async fn get_net_peer_agent(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    PeerPath { peer_id }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetAgentVersion",
        json!([peer_id]),
        false,
    )
    .await
}

/// A peer's addresses, found through the DHT.
///
/// Looks a peer up in the routing table / DHT (`Filecoin.NetFindPeer`); 404 when it cannot be found.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetFindPeer"]))),
    params(PeerPath),
    responses((status = 200, description = "The peer and its addresses", body = AddrInfo)),
    security(("lotus_token" = ["read"]))
)]
#[get("/addresses")]
pub async fn get_net_peer_addresses(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    PeerPath { peer_id }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetFindPeer",
        json!([peer_id]),
        false,
    )
    .await
}

/// A peer's latency.
///
/// Pings a peer (`Filecoin.NetPing`): the round trip in nanoseconds.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetPing"]))),
    params(PeerPath),
    responses((status = 200, description = "The round trip in nanoseconds, as a JSON number", body = i64, content_type = "application/json", example = 25000000)),
    security(("lotus_token" = ["read"]))
)]
#[get("/latency")]
pub async fn get_net_peer_latency(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    PeerPath { peer_id }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetPing",
        json!([peer_id]),
        false,
    )
    .await
}

/// The node's listen addresses.
///
/// The node's own peer ID and the multiaddrs it listens on (`Filecoin.NetAddrsListen`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetAddrsListen"]))),
    responses((status = 200, description = "The node's peer ID and addresses", body = AddrInfo)),
    security(("lotus_token" = ["read"]))
)]
#[get("/addresses")]
pub async fn get_net_addresses(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetAddrsListen",
        json!([]),
        false,
    )
    .await
}

/// Whether the node listens.
///
/// Whether the libp2p host is listening (`Filecoin.NetListening`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetListening"]))),
    responses((status = 200, description = "A JSON boolean", body = bool, content_type = "application/json", example = true)),
    security(("lotus_token" = ["read"]))
)]
#[get("/listening")]
pub async fn get_net_listening(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetListening",
        json!([]),
        false,
    )
    .await
}

/// The network version.
///
/// The network's chain ID as a decimal string, as Ethereum's `net_version` gives it (`Filecoin.NetVersion`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetVersion"]))),
    responses((status = 200, description = "The chain ID, as a JSON string", body = String, content_type = "application/json", example = json!("314"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/version")]
pub async fn get_net_version(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetVersion",
        json!([]),
        false,
    )
    .await
}

/// The node's reachability.
///
/// What AutoNAT found of the node's reachability from the internet (`Filecoin.NetAutoNatStatus`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetAutoNatStatus"]))),
    responses((status = 200, description = "Reachability and public addresses", body = NatStatus)),
    security(("lotus_token" = ["read"]))
)]
#[get("/reachability")]
pub async fn get_net_reachability(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetAutoNatStatus",
        json!([]),
        false,
    )
    .await
}

/// Bandwidth totals.
///
/// The node's total transfer counters and rates (`Filecoin.NetBandwidthStats`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetBandwidthStats"]))),
    responses((status = 200, description = "Totals and rates", body = BandwidthStats)),
    security(("lotus_token" = ["read"]))
)]
#[get("/bandwidth")]
pub async fn get_net_bandwidth(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetBandwidthStats",
        json!([]),
        false,
    )
    .await
}

/// Bandwidth per peer.
///
/// Transfer counters and rates per peer (`Filecoin.NetBandwidthStatsByPeer`), a page at a time, each entry with
/// its peer ID under `ID`.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetBandwidthStatsByPeer", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(Page),
    responses((status = 200, description = "A page of per-peer counters", body = PageOf<PeerBandwidth>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/bandwidth/peers")]
pub async fn list_net_bandwidth_peers(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    live_list(
        &state,
        &auth,
        "Filecoin.NetBandwidthStatsByPeer",
        Shape::Map("ID"),
        &page,
    )
    .await
}

/// Bandwidth per protocol.
///
/// Transfer counters and rates per libp2p protocol, keyed by protocol ID (`Filecoin.NetBandwidthStatsByProtocol`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetBandwidthStatsByProtocol"]))),
    responses((status = 200, description = "Counters by protocol ID", body = std::collections::BTreeMap<String, BandwidthStats>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/bandwidth/protocols")]
pub async fn get_net_bandwidth_protocols(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetBandwidthStatsByProtocol",
        json!([]),
        false,
    )
    .await
}

/// Gossipsub scores.
///
/// The node's gossipsub score of each peer (`Filecoin.NetPubsubScores`), a page at a time.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetPubsubScores", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(Page),
    responses((status = 200, description = "A page of scores", body = PageOf<PubsubScore>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/pubsub-scores")]
pub async fn list_net_pubsub_scores(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    live_list(
        &state,
        &auth,
        "Filecoin.NetPubsubScores",
        Shape::Array,
        &page,
    )
    .await
}

/// The block list.
///
/// The peers, IP addresses and subnets the connection gater refuses (`Filecoin.NetBlockList`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetBlockList"]))),
    responses((status = 200, description = "The block list", body = NetBlockList)),
    security(("lotus_token" = ["read"]))
)]
#[get("/blocklist")]
pub async fn get_net_blocklist(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetBlockList",
        json!([]),
        false,
    )
    .await
}

fn check_block_list(list: &NetBlockList) -> Result<NetBlockList, ApiError> {
    let peers = list
        .peers
        .iter()
        .enumerate()
        .map(|(i, p)| peer_id(&format!("Peers[{i}]"), p))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, ip) in list.ip_addrs.iter().enumerate() {
        ip.parse::<std::net::IpAddr>().map_err(|_| {
            ApiError::invalid_parameter(format!("invalid IPAddrs[{i}] \"{ip}\": not an IP address"))
        })?;
    }
    for (i, net) in list.ip_subnets.iter().enumerate() {
        let ok = net.split_once('/').is_some_and(|(ip, bits)| {
            let max = match ip.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(_)) => 32,
                Ok(std::net::IpAddr::V6(_)) => 128,
                Err(_) => return false,
            };
            bits.parse::<u8>().is_ok_and(|b| b <= max) && bits.bytes().all(|c| c.is_ascii_digit())
        });
        if !ok {
            return Err(ApiError::invalid_parameter(format!(
                "invalid IPSubnets[{i}] \"{net}\": not a subnet in CIDR notation (e.g. 198.51.100.0/24)"
            )));
        }
    }
    if peers.is_empty() && list.ip_addrs.is_empty() && list.ip_subnets.is_empty() {
        return Err(ApiError::invalid_parameter(
            "the block list entries are empty: give Peers, IPAddrs or IPSubnets",
        ));
    }
    Ok(NetBlockList {
        peers,
        ip_addrs: list.ip_addrs.clone(),
        ip_subnets: list.ip_subnets.clone(),
    })
}

/// Block peers, addresses or subnets.
///
/// Adds entries to the block list (`Filecoin.NetBlockAdd`); blocked peers connected now are disconnected.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetBlockAdd"]))),
    request_body = NetBlockList,
    responses((status = 204, description = "Added")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/blocklist")]
pub async fn create_net_blocklist_entries(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<NetBlockList>,
) -> Result<HttpResponse, ApiError> {
    let list = check_block_list(&body)?;
    state
        .node
        .call_raw(&auth.caller, "Filecoin.NetBlockAdd", json!([list]))
        .await?;
    Ok(no_content())
}

/// Entries of the block list to remove, each a comma-separated list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BlockListQuery {
    /// Peer IDs, separated by commas.
    #[param(example = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf")]
    pub peers: Option<String>,
    /// IP addresses, separated by commas.
    #[param(example = "192.0.2.66")]
    pub ip_addrs: Option<String>,
    /// Subnets in CIDR notation, separated by commas.
    #[param(example = "198.51.100.0/24")]
    pub ip_subnets: Option<String>,
}

fn split(value: &Option<String>) -> Vec<String> {
    value
        .as_deref()
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Unblock peers, addresses or subnets.
///
/// Removes entries from the block list (`Filecoin.NetBlockRemove`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetBlockRemove"]))),
    params(BlockListQuery),
    responses((status = 204, description = "Removed")),
    security(("lotus_token" = ["admin"]))
)]
#[delete("/blocklist")]
pub async fn delete_net_blocklist_entries(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    query: web::Query<BlockListQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = check_block_list(&NetBlockList {
        peers: split(&query.peers),
        ip_addrs: split(&query.ip_addrs),
        ip_subnets: split(&query.ip_subnets),
    })?;
    state
        .node
        .call_raw(&auth.caller, "Filecoin.NetBlockRemove", json!([list]))
        .await?;
    Ok(no_content())
}

/// Protected peers.
///
/// The peers the connection manager never prunes (`Filecoin.NetProtectList`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetProtectList"]))),
    responses((status = 200, description = "Peer IDs", body = Vec<String>, example = json!([PEER_EXAMPLE]))),
    security(("lotus_token" = ["read"]))
)]
#[get("/protected")]
pub async fn list_net_protected_peers(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetProtectList",
        json!([]),
        false,
    )
    .await
}

/// Protect a peer.
///
/// Keeps the connection manager from pruning a peer (`Filecoin.NetProtectAdd`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetProtectAdd"]))),
    params(PeerPath),
    responses((status = 204, description = "Protected")),
    security(("lotus_token" = ["admin"]))
)]
#[put("")]
pub async fn put_net_protected_peer(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    PeerPath { peer_id: peer }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.NetProtectAdd", json!([[peer]]))
        .await?;
    Ok(no_content())
}

/// Stop protecting a peer.
///
/// Lets the connection manager prune a peer again (`Filecoin.NetProtectRemove`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetProtectRemove"]))),
    params(PeerPath),
    responses((status = 204, description = "No longer protected")),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_net_protected_peer(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    PeerPath { peer_id: peer }: PeerPath,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.NetProtectRemove", json!([[peer]]))
        .await?;
    Ok(no_content())
}

/// Checks a resource manager scope: `system`, `transient`, `svc:NAME`, `proto:ID` or `peer:PEER_ID`.
pub fn scope(value: &str, all: bool) -> Result<String, ApiError> {
    let ok = value == "system"
        || value == "transient"
        || (all && value == "all")
        || value
            .strip_prefix("svc:")
            .or_else(|| value.strip_prefix("proto:"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
        || value
            .strip_prefix("peer:")
            .is_some_and(|p| peer_id("scope", p).is_ok());
    if ok {
        Ok(value.to_string())
    } else {
        Err(ApiError::invalid_parameter(format!(
            "invalid scope \"{value}\": expected {}system, transient, svc:NAME, proto:PROTOCOL or peer:PEER_ID",
            if all { "all, " } else { "" }
        )))
    }
}

/// A scope's resource limits.
///
/// The libp2p resource manager's limits of a scope (`Filecoin.NetLimit`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetLimit"]))),
    params(ScopePath),
    responses((status = 200, description = "The limits", body = NetLimit)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_net_limit(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ScopePath { scope }: ScopePath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetLimit",
        json!([scope]),
        false,
    )
    .await
}

/// Set a scope's resource limits.
///
/// Replaces the libp2p resource manager's limits of a scope (`Filecoin.NetSetLimit`).
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetSetLimit"]))),
    params(ScopePath),
    request_body = NetLimit,
    responses((status = 204, description = "Set")),
    security(("lotus_token" = ["admin"]))
)]
#[put("")]
pub async fn put_net_limit(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    ScopePath { scope }: ScopePath,
    body: Body<NetLimit>,
) -> Result<HttpResponse, ApiError> {
    let limit = body.into_inner();
    for (name, v) in [
        ("Memory", limit.memory),
        ("Streams", limit.streams),
        ("StreamsInbound", limit.streams_inbound),
        ("StreamsOutbound", limit.streams_outbound),
        ("Conns", limit.conns),
        ("ConnsInbound", limit.conns_inbound),
        ("ConnsOutbound", limit.conns_outbound),
        ("FD", limit.fd),
    ] {
        if v < 0 {
            return Err(ApiError::invalid_parameter(format!(
                "invalid {name} {v}: limits are not negative"
            )));
        }
    }
    state
        .node
        .call_raw(&auth.caller, "Filecoin.NetSetLimit", json!([scope, limit]))
        .await?;
    Ok(no_content())
}

/// A scope's resource usage.
///
/// The libp2p resource manager's current usage (`Filecoin.NetStat`) of a scope, or of every scope with `all`.
#[utoipa::path(
    tag = "Network",
    extensions(("x-lotus-methods" = json!(["Filecoin.NetStat"]))),
    params(StatScopePath),
    responses((status = 200, description = "The usage", body = NetStat)),
    security(("lotus_token" = ["read"]))
)]
#[get("/stats/{scope}")]
pub async fn get_net_stat(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    StatScopePath { scope }: StatScopePath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.NetStat",
        json!([scope]),
        false,
    )
    .await
}

/// Registers the net routes.
/// The routes under `/v1/net`, in the order they are matched.
pub fn register_net(cfg: &mut ServiceConfig) {
    cfg.service(list_net_peers)
        .service(create_net_peer)
        .scope("/peers/{peer_id}", &|cfg| {
            cfg.service(get_net_peer)
                .service(delete_net_peer)
                .service(get_net_peer_connectedness)
                .service(get_net_peer_agent)
                .service(get_net_peer_addresses)
                .service(get_net_peer_latency);
        })
        .service(get_net_addresses)
        .service(get_net_listening)
        .service(get_net_version)
        .service(get_net_reachability)
        .service(get_net_bandwidth)
        .service(list_net_bandwidth_peers)
        .service(get_net_bandwidth_protocols)
        .service(list_net_pubsub_scores)
        .service(get_net_blocklist)
        .service(create_net_blocklist_entries)
        .service(delete_net_blocklist_entries)
        .service(list_net_protected_peers)
        .scope("/protected/{peer_id}", &|cfg| {
            cfg.service(put_net_protected_peer)
                .service(delete_net_protected_peer);
        })
        .scope("/limits/{scope}", &|cfg| {
            cfg.service(get_net_limit).service(put_net_limit);
        })
        .service(get_net_stat);
}
