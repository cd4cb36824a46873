//! `GET /v1/methods`: which REST route serves which Lotus method, and the permission each needs.
//!
//! The catalogue is read off the OpenAPI spec the routes generate: an operation serves the first Lotus method of
//! its `x-lotus-methods` (the others are what it may call besides, such as resolving a height to a tipset), or
//! every method of its `x-lotus-serves` when it has one. A method without a route says why.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Perm;
use crate::error::ApiError;
use crate::lotus::methods::{Method, FULL_NODE, MINER};

/// The channel methods: their result is a stream of values, which needs a WebSocket.
pub const CHANNEL_METHODS: &[&str] = &[
    "Filecoin.ChainExport",
    "Filecoin.ChainNotify",
    "Filecoin.Closing",
    "Filecoin.MpoolSub",
    "Filecoin.SubscribeActorEventsRaw",
    "Filecoin.SyncIncomingBlocks",
];

/// Methods outside the Eth group and the channel methods that have no REST route on purpose, and why.
pub const UNROUTED: &[(&str, &str)] = &[];

/// Says why a method has no REST route, when it has none on purpose.
type Reason = fn(&Method) -> Option<&'static str>;

/// Why a miner method has no REST route, when it has none on purpose.
pub fn miner_reason(method: &Method) -> Option<&'static str> {
    if method.name.starts_with("Filecoin.Return") {
        return Some(
            "a worker's report of a finished sealing task: lotus-worker calls it on the miner's own API",
        );
    }
    if CHANNEL_METHODS.contains(&method.name) {
        return Some("a channel method (a stream of values over a WebSocket): it has no request/response form");
    }
    None
}

/// Why a method has no REST route, when it has none on purpose.
pub fn reason(method: &Method) -> Option<&'static str> {
    if method.group == "Eth" {
        return Some(
            "an Ethereum JSON-RPC method: call it on /rpc/v1 (also by its eth_* name), as Ethereum tooling does",
        );
    }
    if CHANNEL_METHODS.contains(&method.name) {
        return Some("a channel method (a stream of values over a WebSocket): it has no request/response form");
    }
    UNROUTED
        .iter()
        .find(|(name, _)| *name == method.name)
        .map(|(_, why)| *why)
}

/// A REST operation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteRef {
    /// The HTTP method.
    #[schema(example = "GET")]
    pub method: String,
    /// The path template.
    #[schema(example = "/v1/chain/head")]
    pub path: String,
    /// The operationId in the spec.
    #[schema(example = "get_chain_head")]
    pub operation_id: String,
}

/// One Lotus method and how to reach it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MethodEntry {
    /// The Lotus method.
    #[schema(example = "Filecoin.ChainHead")]
    pub method: String,
    /// Its group in the Lotus API.
    #[schema(example = "Chain")]
    pub group: String,
    /// The permission a token needs for it.
    #[schema(example = "read")]
    pub permission: String,
    /// The REST operations that serve it.
    pub routes: Vec<RouteRef>,
    /// Whether `/rpc/v1` forwards it (channel methods need a WebSocket).
    pub json_rpc: bool,
    /// Why it has no REST route, when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_route_reason: Option<String>,
}

/// The Lotus API a catalogue is of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// The full node (`lotus daemon`).
    #[default]
    Node,
    /// The miner (`lotus-miner run`), served under `/v1/miner/`.
    Miner,
}

/// The catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Catalog {
    /// Every method of the Lotus API the gateway knows, by name.
    pub methods: Vec<MethodEntry>,
    /// How many of the methods outside the Eth group and the channel methods have a REST route.
    pub routed: usize,
    /// How many methods are outside the Eth group and the channel methods.
    pub routable: usize,
}

/// Filters of the catalogue.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// The API: `node` (the default) or `miner`.
    #[param(inline, example = "miner")]
    pub api: Option<Api>,
    /// Only the methods of this Lotus group, e.g. `Wallet`.
    #[param(pattern = "^[A-Za-z0-9]+$", example = "Wallet")]
    pub group: Option<String>,
    /// Only the methods that need this permission.
    #[param(value_type = Option<String>, pattern = "^(read|write|sign|admin)$", example = "sign")]
    pub permission: Option<String>,
}

/// The Lotus methods of `api` each operation of `spec` serves: the miner's are served under `/v1/miner/`.
pub fn served_by(spec: &serde_json::Value, api: Api) -> BTreeMap<String, Vec<RouteRef>> {
    let mut served: BTreeMap<String, Vec<RouteRef>> = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        if path.starts_with("/v1/miner/") != (api == Api::Miner) {
            continue;
        }
        for (verb, op) in item.as_object().into_iter().flatten() {
            let names: Vec<&str> = match op.get("x-lotus-serves").and_then(|v| v.as_array()) {
                Some(list) => list.iter().filter_map(|v| v.as_str()).collect(),
                None => op["x-lotus-methods"]
                    .as_array()
                    .and_then(|l| l.first())
                    .and_then(|v| v.as_str())
                    .into_iter()
                    .collect(),
            };
            for name in names {
                served.entry(name.to_string()).or_default().push(RouteRef {
                    method: verb.to_uppercase(),
                    path: path.clone(),
                    operation_id: op["operationId"].as_str().unwrap_or_default().to_string(),
                });
            }
        }
    }
    served
}

/// The whole catalogue of `api` for `spec`.
/// The catalogue of each API (the node's, the miner's), made once from the spec.
pub struct Catalogs([Catalog; 2]);

impl Catalogs {
    pub fn from_spec(spec: &serde_json::Value) -> Catalogs {
        Catalogs([catalog(spec, Api::Node), catalog(spec, Api::Miner)])
    }
}

pub fn catalog(spec: &serde_json::Value, api: Api) -> Catalog {
    let served = served_by(spec, api);
    let (table, why): (&[Method], Reason) = match api {
        Api::Node => (FULL_NODE, reason),
        Api::Miner => (MINER, miner_reason),
    };
    let methods: Vec<MethodEntry> = table
        .iter()
        .map(|m| {
            let routes = served.get(m.name).cloned().unwrap_or_default();
            MethodEntry {
                method: m.name.to_string(),
                group: m.group.to_string(),
                permission: m.perm.to_string(),
                json_rpc: api == Api::Node && !CHANNEL_METHODS.contains(&m.name),
                no_route_reason: if routes.is_empty() {
                    Some(
                        why(m)
                            .unwrap_or(match api {
                                Api::Node => "not served by a REST route yet: call it on /rpc/v1",
                                Api::Miner => "not served by a REST route yet",
                            })
                            .to_string(),
                    )
                } else {
                    None
                },
                routes,
            }
        })
        .collect();
    let routable: Vec<&MethodEntry> = methods
        .iter()
        .filter(|e| {
            e.group != "Eth"
                && !CHANNEL_METHODS.contains(&e.method.as_str())
                && !(api == Api::Miner && e.method.starts_with("Filecoin.Return"))
        })
        .collect();
    Catalog {
        routed: routable.iter().filter(|e| !e.routes.is_empty()).count(),
        routable: routable.len(),
        methods,
    }
}

/// Which route serves which Lotus method.
///
/// Every Lotus full-node method the gateway knows (or, with `api=miner`, every miner method): the permission a
/// token needs for it, the REST operations that serve it, whether `/rpc/v1` forwards it, and why it has no REST
/// route when it has none. It needs no token and makes no call upstream.
#[utoipa::path(
    tag = "Methods",
    params(CatalogQuery),
    responses((status = 200, description = "The catalogue", body = Catalog)),
    security(())
)]
#[get("/v1/methods")]
pub async fn list_methods(
    catalogs: web::Data<Catalogs>,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, ApiError> {
    let permission = match query.permission.as_deref() {
        None => None,
        Some(p) => Some(p.trim().parse::<Perm>().map_err(|_| {
            ApiError::invalid_parameter(format!(
                "invalid permission \"{p}\": expected read, write, sign or admin"
            ))
        })?),
    };
    let api = query.api.unwrap_or_default();
    let mut all = catalogs.0[api as usize].clone();
    all.methods.retain(|e| {
        query
            .group
            .as_deref()
            .is_none_or(|g| e.group.eq_ignore_ascii_case(g.trim()))
            && permission.is_none_or(|p| e.permission == p.as_str())
    });
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=300",
        ))
        .json(all))
}
