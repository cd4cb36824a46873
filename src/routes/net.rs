//! The net resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the net routes.
pub fn register(_cfg: &mut ServiceConfig) {}
