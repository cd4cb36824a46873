//! The tokens resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the tokens routes.
pub fn register(_cfg: &mut ServiceConfig) {}
