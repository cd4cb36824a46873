//! The verifreg resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the verifreg routes.
pub fn register(_cfg: &mut ServiceConfig) {}
