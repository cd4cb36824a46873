//! The market resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the market routes.
pub fn register(_cfg: &mut ServiceConfig) {}
