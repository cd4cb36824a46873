//! The miner's workers, their jobs and the sealing scheduler.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the miner's worker routes.
pub fn register(_cfg: &mut ServiceConfig) {}
