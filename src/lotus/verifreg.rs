//! The verified registry's allocations and claims, as Lotus's JSON shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::{ChainEpoch, Cid};

/// DataCap a client has set aside for a provider to store a piece (`StateGetAllocation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Allocation {
    /// The client's actor ID.
    #[schema(example = 100)]
    pub client: u64,
    /// The provider's (miner's) actor ID.
    #[schema(example = 1000)]
    pub provider: u64,
    /// The piece's CID (CommP).
    pub data: Cid,
    /// The piece size in bytes.
    #[schema(example = 34359738368u64)]
    pub size: u64,
    /// The least number of epochs the provider must store it.
    #[schema(example = 518400)]
    pub term_min: ChainEpoch,
    /// The most number of epochs the provider may store it.
    #[schema(example = 5256000)]
    pub term_max: ChainEpoch,
    /// The epoch by which the provider must claim it.
    #[schema(example = 1000)]
    pub expiration: ChainEpoch,
}

/// A provider's claim to verified data it stores in a sector (`StateGetClaim`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Claim {
    /// The provider's (miner's) actor ID.
    #[schema(example = 1000)]
    pub provider: u64,
    /// The client's actor ID.
    #[schema(example = 100)]
    pub client: u64,
    pub data: Cid,
    pub size: u64,
    pub term_min: ChainEpoch,
    pub term_max: ChainEpoch,
    /// The epoch the claim started at.
    pub term_start: ChainEpoch,
    /// The sector that holds the data.
    #[schema(example = 5)]
    pub sector: u64,
}
