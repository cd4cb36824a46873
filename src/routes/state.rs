//! The state resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the state routes.
pub fn register(_cfg: &mut ServiceConfig) {}
