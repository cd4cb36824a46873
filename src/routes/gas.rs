//! The gas resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the gas routes.
pub fn register(_cfg: &mut ServiceConfig) {}
