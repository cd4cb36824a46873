//! The REST routes, one module per resource. Each handler names the permission it needs in its signature
//! (`Authorized<Read>`) and the same permission in its OpenAPI security scope; a test holds the two together.

use actix_web::http::header;
use actix_web::HttpResponse;
use std::sync::Arc;
use utoipa_actix_web::service_config::ServiceConfig;

pub mod actors;
pub mod chain;
pub mod health;
pub mod messages;
pub mod node;
pub mod params;
pub mod rpc;

/// Registers every `/v1` route.
pub fn v1(cfg: &mut ServiceConfig) {
    cfg.service(node::get_node_version)
        .service(node::get_network)
        .service(chain::get_chain_head)
        .service(chain::get_tipset_by_height)
        .service(chain::get_tipset_by_key)
        .service(chain::get_block)
        .service(chain::get_block_messages)
        .service(messages::get_message)
        .service(messages::get_message_receipt)
        .service(actors::get_actor)
        .service(actors::get_actor_balance)
        .service(actors::get_address_id)
        .service(actors::get_address_key);
}

/// Cache-Control of an answer that can never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of an answer that may change at the next epoch: clients revalidate with the ETag.
pub const MUTABLE: &str = "no-cache";

/// Decodes a result the route needs to look into.
pub fn decode<T: serde::de::DeserializeOwned>(
    method: &str,
    body: &str,
) -> Result<T, crate::error::ApiError> {
    serde_json::from_str(body).map_err(|e| {
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
