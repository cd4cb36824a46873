//! The REST routes, one module per resource. Each handler names the permission it needs in its signature
//! (`Authorized<Read>`) and the same permission in its OpenAPI security scope; a test holds the two together.

use actix_web::http::header;
use actix_web::HttpResponse;
use std::sync::Arc;
use utoipa_actix_web::service_config::ServiceConfig;

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

/// Registers every `/v1` route, resource by resource.
pub fn v1(cfg: &mut ServiceConfig) {
    node::register(cfg);
    chain::register(cfg);
    messages::register(cfg);
    mpool::register(cfg);
    gas::register(cfg);
    actors::register(cfg);
    state::register(cfg);
    miners::register(cfg);
    market::register(cfg);
    verifreg::register(cfg);
    wallet::register(cfg);
    msig::register(cfg);
    paych::register(cfg);
    net::register(cfg);
    sync::register(cfg);
    f3::register(cfg);
    logs::register(cfg);
    tokens::register(cfg);
    streams::register(cfg);
    miner::register(cfg);
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
