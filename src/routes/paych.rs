//! The paych resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the paych routes.
pub fn register(_cfg: &mut ServiceConfig) {}
