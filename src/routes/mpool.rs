//! The mpool resources.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the mpool routes.
pub fn register(_cfg: &mut ServiceConfig) {}
