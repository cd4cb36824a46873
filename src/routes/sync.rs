//! The sync resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the sync routes.
pub fn register(_cfg: &mut ServiceConfig) {}
