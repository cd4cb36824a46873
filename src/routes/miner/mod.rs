//! The Lotus miner (`lotus-miner run`), under `/v1/miner/`. Its routes take the miner's tokens
//! ([`MinerAuthorized`](crate::auth::MinerAuthorized)) and call the miner's JSON-RPC API; when no miner is configured
//! they answer 503 with the setting that enables them, and the spec still lists them.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Code};
use crate::routes::ServiceConfig;
use utoipa::ToSchema;

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

/// A sector's identity (`abi.SectorID`): the miner actor's ID number and the sector number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Miner": 1000, "Number": 9}))]
pub struct MinerSectorId {
    /// The miner actor's ID number (`1000` for `f01000`).
    #[schema(example = 1000)]
    pub miner: u64,
    /// The sector number.
    #[schema(example = 9)]
    pub number: u64,
}

/// The largest sector number (`abi.MaxSectorNumber`, 2^63-1).
pub const MAX_SECTOR_NUMBER: u64 = i64::MAX as u64;

/// Parses a sector number given in the path or query.
pub fn sector_number(name: &str, value: &str) -> Result<u64, ApiError> {
    let digits = value.trim();
    digits
        .parse::<u64>()
        .ok()
        .filter(|n| {
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && *n <= MAX_SECTOR_NUMBER
        })
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "invalid {name} \"{value}\": expected a sector number, an integer from 0 to {MAX_SECTOR_NUMBER} \
                 (parameter {name})"
            ))
        })
}

/// Gives a Lotus error whose message contains one of `rules`' phrases the code beside it.
pub fn remap(mut e: ApiError, rules: &[(&str, Code)]) -> ApiError {
    if let Some(rpc) = &e.rpc {
        let msg = rpc.message.to_ascii_lowercase();
        if let Some((_, code)) = rules.iter().find(|(phrase, _)| msg.contains(phrase)) {
            e.code = *code;
        }
    }
    e
}

/// Checks an unpadded piece size given in body field `field`: 127 times a power of two bytes.
pub fn unpadded_piece_size(field: &str, size: u64) -> Result<u64, ApiError> {
    if size < 127 || size >> size.trailing_zeros() != 127 {
        return Err(crate::routes::messages::field_error(
            field,
            format!(
                "invalid unpadded piece size {size}: expected 127 times a power of two (127, 254, 508, 1016, 2032, ...)"
            ),
        ));
    }
    Ok(size)
}
