//! The wallet resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the wallet routes.
pub fn register(_cfg: &mut ServiceConfig) {}
