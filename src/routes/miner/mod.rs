//! The Lotus miner (`lotus-miner run`), under `/v1/miner/`. Its routes take the miner's tokens
//! ([`MinerAuthorized`](crate::auth::MinerAuthorized)) and call the miner's JSON-RPC API; when no miner is configured
//! they answer 503 with the setting that enables them, and the spec still lists them.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod info;
pub mod sectors;
pub mod storage;
pub mod workers;

/// Registers the miner routes.
pub fn register(cfg: &mut ServiceConfig) {
    info::register(cfg);
    sectors::register(cfg);
    storage::register(cfg);
    workers::register(cfg);
}
