//! The REST routes, one module per resource. Each handler names the permission it needs in its signature
//! (`Authorized<Read>`) and the same permission in its OpenAPI security scope; a test holds the two together.

use actix_web::http::header;
use actix_web::HttpResponse;
use serde_json::value::RawValue;
use utoipa_actix_web::service_config::ServiceConfig;

pub mod actors;
pub mod chain;
pub mod health;
pub mod messages;
pub mod node;
pub mod params;

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

/// A 200 response whose body is Lotus's result, passed through without being parsed and printed again.
pub fn raw_json(raw: Box<RawValue>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(String::from(Box::<str>::from(raw)))
}
