//! The REST routes, one module per resource. Each handler names the permission it needs in its signature
//! (`Authorized<Read>`) and the same permission in its OpenAPI security scope; a test holds the two together.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header;
use actix_web::HttpResponse;
use std::sync::Arc;
use utoipa_actix_web::OpenApiFactory;

pub mod actors;
pub mod body;
pub mod catalog;
pub mod chain;
pub mod extract;
pub mod f3;
pub mod gas;
pub mod health;
pub mod logs;
pub mod market;
pub mod messages;
pub mod miner;
pub mod miners;
pub mod mpool;
pub mod msig;
pub mod net;
pub mod node;
pub mod page;
pub mod params;
pub mod paych;
pub mod rpc;
pub mod rpc_ws;
pub mod send;
pub mod state;
pub mod streams;
pub mod sync;
pub mod tokens;
pub mod verifreg;
pub mod wallet;

/// The `/v1` routes, one scope for each first segment of their paths, with the modules that declare them.
///
/// A request is matched against the scopes' fixed prefixes first, then only against the routes of its own scope:
/// actix-web tries routes one after the other, so with one flat list of three hundred routes every request paid
/// for matching (with a regular expression, for most) all the routes declared before its own. Within a scope the
/// routes are tried in the order they are declared, fixed paths (`/miners/creation-deposit`) before the
/// parameters that would also match them (`/miners/{address}`).
///
/// The routes of one resource named by a path parameter (`/miners/{address}/power`, `/miners/{address}/faults`,
/// ...) are declared in a scope of that parameter (`/{address}`), after the scope's fixed paths, with paths relative
/// to it (`/power`): actix-web compiles a regular expression for each route or scope with a parameter, in each HTTP
/// worker (about 17 KiB each), and matches one after the other; in a scope of the parameter, the parameter is
/// matched once and the routes under it are fixed paths. A resource whose routes two modules declare is nested here;
/// a module nests the ones it declares alone ([`ServiceConfig::scope`]).
type Register = fn(&mut ServiceConfig);
enum Part {
    Routes(Register),
    Scope(&'static str, &'static [Part]),
}
use Part::{Routes, Scope};
const V1: &[Part] = &[
    Scope("/node", &[Routes(node::register_node)]),
    Scope(
        "/network",
        &[
            Routes(node::register_network),
            Routes(state::register_network),
        ],
    ),
    Scope("/chain", &[Routes(chain::register_chain)]),
    Scope(
        "/tipsets",
        &[
            Scope(
                "/key/{key}",
                &[
                    Routes(chain::register_tipset),
                    Routes(sync::register_tipset),
                ],
            ),
            Routes(chain::register_tipsets),
        ],
    ),
    Scope("/blocks", &[Routes(chain::register_blocks)]),
    Scope(
        "/messages",
        &[
            Routes(messages::register_messages),
            Scope(
                "/{cid}",
                &[
                    Routes(messages::register_message),
                    Routes(state::register_message),
                ],
            ),
        ],
    ),
    Scope("/mpool", &[Routes(mpool::register_mpool)]),
    Scope("/gas", &[Routes(gas::register_gas)]),
    Scope(
        "/actors",
        &[
            Routes(state::register_actors),
            Scope(
                "/{address}",
                &[
                    Routes(actors::register_actor),
                    Routes(state::register_actor),
                ],
            ),
        ],
    ),
    Scope(
        "/addresses",
        &[Scope(
            "/{address}",
            &[
                Routes(actors::register_address),
                Routes(state::register_address),
            ],
        )],
    ),
    Scope("/state", &[Routes(state::register_state)]),
    Scope("/actor-codes", &[Routes(state::register_actor_codes)]),
    Scope("/supply", &[Routes(state::register_supply)]),
    Scope("/beacon", &[Routes(state::register_beacon)]),
    Scope("/randomness", &[Routes(state::register_randomness)]),
    Scope("/events", &[Routes(state::register_events)]),
    Scope(
        "/miners",
        &[
            Routes(miners::register_miners),
            Scope(
                "/{address}",
                &[
                    Routes(miners::register_miner),
                    Routes(verifreg::register_miner),
                ],
            ),
        ],
    ),
    Scope("/sectors", &[Routes(miners::register_sectors)]),
    Scope("/market", &[Routes(market::register_market)]),
    Scope("/verifreg", &[Routes(verifreg::register_verifreg)]),
    Scope("/wallet", &[Routes(wallet::register_wallet)]),
    Scope("/multisigs", &[Routes(msig::register_multisigs)]),
    Scope("/paych", &[Routes(paych::register_paych)]),
    Scope("/net", &[Routes(net::register_net)]),
    Scope("/sync", &[Routes(sync::register_sync)]),
    Scope("/f3", &[Routes(f3::register_f3)]),
    Scope("/logs", &[Routes(logs::register_logs)]),
    Scope("/auth", &[Routes(tokens::register_auth)]),
    Scope("/streams", &[Routes(streams::register_streams)]),
    Scope("/miner", &[Routes(miner::register)]),
];

/// Where routes are declared: into the app and the OpenAPI document at once, or into the app alone. The document is
/// made once per process; each HTTP worker's app declares the same routes without making it again (it would only be
/// dropped, after costing the worker its memory for the rest of the process's life).
pub enum ServiceConfig<'a, 'c> {
    Documented(&'a mut utoipa_actix_web::service_config::ServiceConfig<'c>),
    Plain(&'a mut actix_web::web::ServiceConfig),
}

impl ServiceConfig<'_, '_> {
    pub fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        match self {
            ServiceConfig::Documented(cfg) => {
                cfg.service(factory);
            }
            ServiceConfig::Plain(cfg) => {
                cfg.service(factory);
            }
        }
        self
    }

    /// Declares the routes `declare` declares in a scope of `prefix`: their paths are relative to it. Not generic:
    /// the scope's registration is compiled once, not once for each scope (more code run once at start).
    pub fn scope(&mut self, prefix: &str, declare: &dyn Fn(&mut ServiceConfig)) -> &mut Self {
        match self {
            ServiceConfig::Documented(cfg) => {
                cfg.service(
                    utoipa_actix_web::scope::scope(prefix)
                        .configure(|cfg| declare(&mut ServiceConfig::Documented(cfg))),
                );
            }
            ServiceConfig::Plain(cfg) => {
                cfg.service(
                    actix_web::web::scope(prefix)
                        .configure(|cfg| declare(&mut ServiceConfig::Plain(cfg))),
                );
            }
        }
        self
    }
}

fn declare(cfg: &mut ServiceConfig, parts: &[Part]) {
    for part in parts {
        match part {
            Routes(register) => register(cfg),
            Scope(prefix, parts) => {
                cfg.scope(prefix, &|cfg| declare(cfg, parts));
            }
        }
    }
}

/// Registers every `/v1` route, in the scope of its first segment.
pub fn v1(cfg: &mut ServiceConfig) {
    declare(cfg, V1);
}

/// `201 Created` with the new resource's URL in `Location`.
pub fn created<T: serde::Serialize>(location: &str, value: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// `202 Accepted`: the node took the work and finishes it later; `Location` is where to follow it.
pub fn accepted<T: serde::Serialize>(location: Option<&str>, value: &T) -> HttpResponse {
    let mut res = HttpResponse::Accepted();
    if let Some(location) = location {
        res.insert_header((header::LOCATION, location));
    }
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// `202 Accepted` without a body: the node has started work it finishes later, with nothing to follow.
pub fn accepted_empty() -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `204 No Content`: done, nothing to return.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Lotus's result of a call that is not a read (it changes something, or depends on the caller's keys): a 200
/// that must not be cached.
pub fn lotus_json_uncached(body: &serde_json::value::RawValue) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.get().to_owned())
}

/// Cache-Control of an answer that can never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of an answer that may change at the next epoch: clients revalidate with the ETag.
pub const MUTABLE: &str = "no-cache";

/// Decodes a result the route needs to look into (a Go node's `null` list is the empty list).
pub fn decode<T: serde::de::DeserializeOwned>(
    method: &str,
    body: &str,
) -> Result<T, crate::error::ApiError> {
    crate::lotus::gojson::from_str(body).map_err(|e| {
        crate::error::ApiError::new(
            crate::error::Code::UpstreamBadResponse,
            format!("the Lotus node's reply to {method} does not have the expected shape: {e}"),
        )
    })
}

/// A value of the gateway's own as the body of a 200, with the Cache-Control its freshness calls for.
pub fn json_response<T: serde::Serialize>(value: &T, immutable: bool) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            if immutable { IMMUTABLE } else { MUTABLE },
        ))
        .json(value)
}

/// Lotus's result as the body of a 200, passed through without being parsed and printed again.
pub fn lotus_json(body: Arc<str>, immutable: bool) -> HttpResponse {
    struct Body(Arc<str>);
    impl AsRef<[u8]> for Body {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((
            header::CACHE_CONTROL,
            if immutable { IMMUTABLE } else { MUTABLE },
        ))
        .body(actix_web::web::Bytes::from_owner(Body(body)))
}

/// A read method of the node, its result passed through; `immutable` says whether it can ever change.
pub async fn read(
    state: &crate::state::AppState,
    caller: &crate::auth::Caller,
    method: &str,
    params: serde_json::Value,
    immutable: bool,
) -> Result<HttpResponse, crate::error::ApiError> {
    let result = state
        .node
        .call_read(caller, method, params, immutable)
        .await?;
    Ok(lotus_json(result, immutable))
}

/// A read method of the node at the tipset `at` selects, its result passed through: `params` is given the tipset
/// key and makes the method's parameters.
pub async fn read_at(
    state: &crate::state::AppState,
    caller: &crate::auth::Caller,
    at: &params::AtTipset,
    method: &str,
    params: impl FnOnce(serde_json::Value) -> serde_json::Value,
) -> Result<HttpResponse, crate::error::ApiError> {
    let at = at.key(state, caller).await?;
    read(state, caller, method, params(at.key), at.immutable).await
}
