//! The msig resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the msig routes.
pub fn register(_cfg: &mut ServiceConfig) {}
