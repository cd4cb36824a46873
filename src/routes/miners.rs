//! The miners resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the miners routes.
pub fn register(_cfg: &mut ServiceConfig) {}
