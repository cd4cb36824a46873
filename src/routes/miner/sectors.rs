//! The miner's sectors.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the miner's sectors routes.
pub fn register(_cfg: &mut ServiceConfig) {}
