//! The logs resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the logs routes.
pub fn register(_cfg: &mut ServiceConfig) {}
