//! The miner's storage.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the miner's storage routes.
pub fn register(_cfg: &mut ServiceConfig) {}
