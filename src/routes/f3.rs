//! The f3 resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the f3 routes.
pub fn register(_cfg: &mut ServiceConfig) {}
