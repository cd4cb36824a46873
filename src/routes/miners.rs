//! Storage miners: their info, power, balances, deadlines, partitions, sectors and pledges, and block creation.

use std::sync::Arc;

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::{MinerDeadlinePath, MinerPath, MinerSectorPath};
use super::page::{self, Page, PageOf, Shape};
use super::params;
use super::{lotus_json, lotus_json_uncached};
use crate::auth::{Authorized, Caller, Read, Write};
use crate::error::{ApiError, Code};
use crate::lotus::address::parse_cid;
use crate::lotus::miner::*;
use crate::lotus::types::{
    BeaconEntry, BigInt, ChainEpoch, Cid, ElectionProof, PoStProof, SignedMessage, Ticket,
};
use crate::state::AppState;

/// What a block is made of: Lotus's `BlockTemplate`, the miner being the one in the path.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Parents": [{"/": "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"}],
    "Ticket": {"VRFProof": "kmm2Vw=="}, "Eproof": {"WinCount": 1, "VRFProof": "kmm2Vw=="},
    "BeaconValues": [{"Round": 1000201, "Data": "kmm2Vw=="}], "Messages": [], "Epoch": 201, "Timestamp": 1744204890,
    "WinningPoStProof": [{"PoStProof": 3, "ProofBytes": "kmm2Vw=="}]}))]
pub struct NewBlock {
    /// The tipset to build on: its block CIDs.
    pub parents: Vec<Cid>,
    pub ticket: Option<Ticket>,
    pub eproof: Option<ElectionProof>,
    #[serde(default)]
    pub beacon_values: Vec<BeaconEntry>,
    /// The signed messages to include.
    #[serde(default)]
    pub messages: Vec<SignedMessage>,
    /// The epoch of the block, above the parents'.
    pub epoch: ChainEpoch,
    /// Unix seconds.
    pub timestamp: u64,
    #[serde(rename = "WinningPoStProof", default)]
    pub winning_post_proof: Vec<PoStProof>,
}

// ---- helpers ----

/// An error of the node saying something does not exist, as a 404 with a clear detail.
pub(crate) fn not_found_when(
    e: ApiError,
    needles: &[&str],
    detail: impl FnOnce() -> String,
) -> ApiError {
    let matches = e.rpc.as_ref().is_some_and(|rpc| {
        let msg = rpc.message.to_ascii_lowercase();
        needles.iter().any(|n| msg.contains(n))
    });
    if matches {
        let mut out = ApiError::new(Code::NotFound, detail());
        out.rpc = e.rpc;
        out
    } else {
        e
    }
}

/// Lotus's `null` for an object that does not exist, as a 404 with a clear detail.
pub(crate) fn found_or_404(
    result: Arc<str>,
    immutable: bool,
    detail: impl FnOnce() -> String,
) -> Result<HttpResponse, ApiError> {
    if result.trim() == "null" {
        return Err(ApiError::new(Code::NotFound, detail()));
    }
    Ok(lotus_json(result, immutable))
}

/// Reads miner state; an address that is not a miner's is a 404.
async fn miner_read(
    state: &AppState,
    caller: &Caller,
    method: &str,
    address: &str,
    params: Value,
    immutable: bool,
) -> Result<Arc<str>, ApiError> {
    state
        .node
        .call_read(caller, method, params, immutable)
        .await
        .map_err(|e| {
            not_found_when(e, &["unknown actor code"], || {
                format!("{address} is not a storage miner actor")
            })
        })
}

/// Parses a non-negative integer of at most `max`.
pub(crate) fn number(name: &str, value: &str, max: u64) -> Result<u64, ApiError> {
    let digits = value.trim();
    digits
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= max && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "invalid {name} \"{value}\": expected an integer from 0 to {max}"
            ))
        })
}

fn body_error(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        Code::InvalidBody,
        format!("invalid request body: field \"{field}\": {why}"),
    )
}

fn check_cid(field: &str, cid: &Cid) -> Result<(), ApiError> {
    parse_cid(cid.root.trim())
        .map(|_| ())
        .map_err(|e| body_error(field, e))
}

fn check_base64(field: &str, value: &str) -> Result<(), ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map(|_| ())
        .map_err(|e| body_error(field, format!("not base64: {e}")))
}

/// The query of the list of miners' faults.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FaultsQuery {
    /// How many epochs back from the tipset read to look for faults.
    #[param(value_type = u64, minimum = 0, example = 100)]
    pub lookback: Option<String>,
}

/// The query of a miner's sectors.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SectorsQuery {
    /// Only the active sectors (proven and not faulty), from `Filecoin.StateMinerActiveSectors`; default false:
    /// every live sector, from `Filecoin.StateMinerSectors`.
    #[param(value_type = Option<bool>, example = true)]
    pub active: Option<String>,
}

/// The query of the initial pledge of a sector.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PledgeQuery {
    /// The sector's commitment duration in epochs.
    #[param(value_type = u64, minimum = 1, example = 1555200)]
    pub duration: Option<String>,
    /// The sector size in bytes: 2048, 8388608, 536870912, 34359738368 or 68719476736.
    #[param(value_type = u64, example = 34359738368u64)]
    pub size: Option<String>,
    /// How many of the sector's bytes are verified deals; default 0.
    #[param(value_type = Option<u64>, minimum = 0, example = 0)]
    pub verified_size: Option<String>,
}

/// The query of a miner's mining base info.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoundQuery {
    /// The round (epoch) to mine at: above the height of the tipset read.
    #[param(value_type = u64, minimum = 0, example = 201)]
    pub round: Option<String>,
}

fn required<'a>(name: &str, value: &'a Option<String>) -> Result<&'a str, ApiError> {
    value.as_deref().ok_or_else(|| {
        ApiError::invalid_parameter(format!("the query parameter {name} is required"))
    })
}

// ---- routes ----

/// The storage miners.
///
/// The ID addresses of every storage miner actor, in the state of the tipset selected, a page at a time
/// (`Filecoin.StateListMiners`).
#[utoipa::path(
    tag = "Miners",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateListMiners"]))),
    params(params::AtTipset, Page),
    responses((status = 200, description = "A page of miner addresses", body = PageOf<String>)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn list_miners(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateListMiners",
        |key| json!([key]),
        Shape::Array,
        &at,
        &page,
    )
    .await
}

/// The deposit to create a miner.
///
/// The deposit in attoFIL that creating a storage miner takes now, in the state of the tipset selected
/// (`Filecoin.StateMinerCreationDeposit`).
#[utoipa::path(
    tag = "Miners",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMinerCreationDeposit"]))),
    params(params::AtTipset),
    responses((status = 200, description = "The deposit in attoFIL, as a JSON string", body = String,
        content_type = "application/json", example = json!("1000000000000000000"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/creation-deposit")]
pub async fn get_miner_creation_deposit(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateMinerCreationDeposit",
        |key| json!([key]),
    )
    .await
}

/// Faults of all miners.
///
/// The faults declared by every miner within `lookback` epochs of the tipset selected, a page at a time
/// (`Filecoin.StateAllMinerFaults`).
#[utoipa::path(
    tag = "Miners",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateAllMinerFaults"]))),
    params(FaultsQuery, params::AtTipset, Page),
    responses((status = 200, description = "A page of faults", body = PageOf<Fault>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/faults")]
pub async fn list_miner_faults(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    query: web::Query<FaultsQuery>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let lookback = params::height("lookback", required("lookback", &query.lookback)?)?;
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateAllMinerFaults",
        |key| json!([lookback, key]),
        Shape::Array,
        &at,
        &page,
    )
    .await
}

/// The initial pledge of a sector.
///
/// The initial pledge in attoFIL a sector of this size, duration and verified data would take now
/// (`Filecoin.StateMinerInitialPledgeForSector`).
#[utoipa::path(
    tag = "Miners",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMinerInitialPledgeForSector"]))),
    params(PledgeQuery, params::AtTipset),
    responses((status = 200, description = "The pledge in attoFIL, as a JSON string", body = String,
        content_type = "application/json", example = json!("200000000000000000"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/initial-pledge")]
pub async fn get_sector_initial_pledge(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    query: web::Query<PledgeQuery>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let duration = number(
        "duration",
        required("duration", &query.duration)?,
        i64::MAX as u64,
    )?;
    if duration == 0 {
        return Err(ApiError::invalid_parameter(
            "invalid duration \"0\": a sector is committed for at least one epoch",
        ));
    }
    let size_text = required("size", &query.size)?;
    let size = number("size", size_text, u64::MAX)?;
    if !SECTOR_SIZES.contains(&size) {
        return Err(ApiError::invalid_parameter(format!(
            "invalid size \"{size_text}\": expected a sector size in bytes: 2048, 8388608, 536870912, 34359738368 or 68719476736"
        )));
    }
    let verified = match &query.verified_size {
        Some(v) => number("verified_size", v, u64::MAX)?,
        None => 0,
    };
    if verified > size {
        return Err(ApiError::invalid_parameter(format!(
            "invalid verified_size {verified}: it cannot exceed the sector size {size}"
        )));
    }
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateMinerInitialPledgeForSector",
        |key| json!([duration, size, verified, key]),
    )
    .await
}

macro_rules! miner_route {
    (
        $(#[$doc:meta])*
        $fn:ident, $path:literal, $method:literal, $body:ty, $desc:literal
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "Miners",
            extensions(("x-lotus-methods" = json!([$method]))),
            params(MinerPath, params::AtTipset),
            responses((status = 200, description = $desc, body = $body)),
            security(("lotus_token" = ["read"]))
        )]
        #[get($path)]
        pub async fn $fn(
            auth: Authorized<Read>,
            state: web::Data<AppState>,
            MinerPath { address }: MinerPath,
            at: web::Query<params::AtTipset>,
        ) -> Result<HttpResponse, ApiError> {
            let at = at.key(&state, &auth.caller).await?;
            let result = miner_read(
                &state,
                &auth.caller,
                $method,
                &address.to_string(),
                json!([address, at.key]),
                at.immutable,
            )
            .await?;
            Ok(lotus_json(result, at.immutable))
        }
    };
}

miner_route!(
    /// A storage miner.
    ///
    /// The miner's info: owner, worker and control addresses, peer ID, multiaddresses, sector size, proof types
    /// and beneficiary, in the state of the tipset selected (`Filecoin.StateMinerInfo`).
    get_miner, "", "Filecoin.StateMinerInfo", MinerInfo, "The miner's info"
);

miner_route!(
    /// A miner's power.
    ///
    /// The miner's raw and quality-adjusted power, the network's, and whether the miner has the consensus minimum
    /// (`Filecoin.StateMinerPower`).
    get_miner_power, "/power", "Filecoin.StateMinerPower", MinerPower, "The miner's power"
);

miner_route!(
    /// A miner's available balance.
    ///
    /// What the miner could withdraw, in attoFIL: its balance less locked rewards, pledges and pre-commit deposits
    /// (`Filecoin.StateMinerAvailableBalance`).
    get_miner_available_balance, "/available-balance", "Filecoin.StateMinerAvailableBalance",
    BigInt, "The available balance in attoFIL, as a JSON string"
);

miner_route!(
    /// A miner's proving deadlines.
    ///
    /// The 48 deadlines of the miner's proving period, in order, with the partitions proven in each
    /// (`Filecoin.StateMinerDeadlines`).
    list_miner_deadlines, "/deadlines", "Filecoin.StateMinerDeadlines", Vec<Deadline>,
    "The deadlines, index 0 first"
);

miner_route!(
    /// A miner's current proving deadline.
    ///
    /// The deadline open at the tipset selected, with the proving-period constants
    /// (`Filecoin.StateMinerProvingDeadline`).
    get_miner_proving_deadline, "/deadlines/current", "Filecoin.StateMinerProvingDeadline",
    DeadlineInfo, "The current deadline"
);

miner_route!(
    /// A miner's faulty sectors.
    ///
    /// The numbers of the miner's sectors that are faulty, as a bitfield (`Filecoin.StateMinerFaults`).
    get_miner_faults, "/faults", "Filecoin.StateMinerFaults", BitField,
    "The faulty sectors, as run lengths"
);

miner_route!(
    /// A miner's recovering sectors.
    ///
    /// The numbers of the faulty sectors the miner has declared recovered, to be proven at their next deadline, as a
    /// bitfield (`Filecoin.StateMinerRecoveries`).
    get_miner_recoveries, "/recoveries", "Filecoin.StateMinerRecoveries", BitField,
    "The recovering sectors, as run lengths"
);

miner_route!(
    /// A miner's sector counts.
    ///
    /// How many of the miner's sectors are live, active and faulty (`Filecoin.StateMinerSectorCount`).
    get_miner_sector_count, "/sector-count", "Filecoin.StateMinerSectorCount", MinerSectors,
    "The sector counts"
);

miner_route!(
    /// A miner's allocated sector numbers.
    ///
    /// Every sector number the miner has allocated (used or reserved), as a bitfield
    /// (`Filecoin.StateMinerAllocated`).
    get_miner_allocated_sectors, "/allocated-sectors", "Filecoin.StateMinerAllocated", BitField,
    "The allocated sector numbers, as run lengths"
);

/// The partitions of a deadline.
///
/// The partitions of one of the miner's deadlines with their sectors by state (`Filecoin.StateMinerPartitions`).
#[utoipa::path(
    tag = "Miners",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMinerPartitions"]))),
    params(
        MinerDeadlinePath, params::AtTipset
    ),
    responses((status = 200, description = "The deadline's partitions", body = Vec<Partition>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/deadlines/{index}/partitions")]
pub async fn list_miner_partitions(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MinerDeadlinePath { address, index }: MinerDeadlinePath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = miner_read(
        &state,
        &auth.caller,
        "Filecoin.StateMinerPartitions",
        &address.to_string(),
        json!([address, index, at.key]),
        at.immutable,
    )
    .await?;
    Ok(lotus_json(result, at.immutable))
}

/// A miner's sectors.
///
/// The miner's live sectors (`Filecoin.StateMinerSectors`), or with `active=true` only its active ones
/// (`Filecoin.StateMinerActiveSectors`), a page at a time.
#[utoipa::path(
    tag = "Miners",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.StateMinerSectors", "Filecoin.StateMinerActiveSectors"])),
        ("x-lotus-serves" = json!(["Filecoin.StateMinerSectors", "Filecoin.StateMinerActiveSectors"]))
    ),
    params(
        MinerPath,
        SectorsQuery, params::AtTipset, Page
    ),
    responses((status = 200, description = "A page of sectors", body = PageOf<SectorOnChainInfo>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/sectors")]
pub async fn list_miner_sectors(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MinerPath { address }: MinerPath,
    query: web::Query<SectorsQuery>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let active = match query.active.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "invalid active \"{other}\": expected true or false"
            )))
        }
    };
    let result = if active {
        let a = address.clone();
        page::list(
            &state,
            &auth.caller,
            "Filecoin.StateMinerActiveSectors",
            move |key| json!([a, key]),
            Shape::Array,
            &at,
            &page,
        )
        .await
    } else {
        let a = address.clone();
        page::list(
            &state,
            &auth.caller,
            "Filecoin.StateMinerSectors",
            move |key| json!([a, null, key]),
            Shape::Array,
            &at,
            &page,
        )
        .await
    };
    result.map_err(|e| {
        not_found_when(e, &["unknown actor code"], || {
            format!("{address} is not a storage miner actor")
        })
    })
}

macro_rules! sector_route {
    (
        $(#[$doc:meta])*
        $fn:ident, $path:literal, $method:literal, $body:ty, $desc:literal, null = $null:literal, errors = [$($needle:literal),*]
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "Miners",
            extensions(("x-lotus-methods" = json!([$method]))),
            params(
                MinerSectorPath, params::AtTipset
            ),
            responses((status = 200, description = $desc, body = $body, content_type = "application/json")),
            security(("lotus_token" = ["read"]))
        )]
        #[get($path)]
        pub async fn $fn(
            auth: Authorized<Read>,
            state: web::Data<AppState>,
            MinerSectorPath { address, number }: MinerSectorPath,
            at: web::Query<params::AtTipset>,
        ) -> Result<HttpResponse, ApiError> {
            let at = at.key(&state, &auth.caller).await?;
            let missing = || format!($null, number = number, address = address);
            let result = miner_read(
                &state,
                &auth.caller,
                $method,
                &address.to_string(),
                json!([address, number, at.key]),
                at.immutable,
            )
            .await
            .map_err(|e| not_found_when(e, &[$($needle),*], missing))?;
            found_or_404(result, at.immutable, missing)
        }
    };
}

sector_route!(
    /// A sector of a miner.
    ///
    /// The on-chain info of one of the miner's sectors (`Filecoin.StateSectorGetInfo`). A sector the miner does
    /// not have is a 404.
    get_miner_sector, "/sectors/{number}", "Filecoin.StateSectorGetInfo", SectorOnChainInfo,
    "The sector", null = "miner {address} has no sector {number}", errors = []
);

sector_route!(
    /// When a sector expires.
    ///
    /// The epoch the sector expires at, and the epoch it is terminated at early if it stays faulty
    /// (`Filecoin.StateSectorExpiration`).
    get_miner_sector_expiration, "/sectors/{number}/expiration", "Filecoin.StateSectorExpiration",
    SectorExpiration, "The sector's expiration", null = "miner {address} has no sector {number}",
    errors = ["failed to find sector"]
);

sector_route!(
    /// Where a sector is proven.
    ///
    /// The deadline and partition of one of the miner's sectors (`Filecoin.StateSectorPartition`).
    get_miner_sector_partition, "/sectors/{number}/partition", "Filecoin.StateSectorPartition",
    SectorLocation, "The sector's deadline and partition", null = "miner {address} has no sector {number}",
    errors = ["not due at any deadline"]
);

sector_route!(
    /// A pre-committed sector.
    ///
    /// The pre-commitment of a sector the miner has not proven yet, with its deposit
    /// (`Filecoin.StateSectorPreCommitInfo`). A sector number without a pre-commitment is a 404.
    get_miner_precommit, "/precommits/{number}", "Filecoin.StateSectorPreCommitInfo",
    SectorPreCommitOnChainInfo, "The pre-commitment",
    null = "miner {address} has no pre-committed sector {number}", errors = []
);

sector_route!(
    /// Whether a sector number is allocated.
    ///
    /// Whether the miner has allocated the sector number, used or reserved (`Filecoin.StateMinerSectorAllocated`).
    get_miner_sector_allocated, "/allocated-sectors/{number}", "Filecoin.StateMinerSectorAllocated",
    bool, "Whether the number is allocated, as a JSON boolean", null = "miner {address} has no sector {number}",
    errors = []
);

/// A sector pre-commitment, given in the query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrecommitQuery {
    /// The registered seal proof, 0 to 19 (8 is 32 GiB, 9 is 64 GiB).
    #[param(value_type = u32, minimum = 0, maximum = 19, example = 8)]
    pub seal_proof: Option<String>,
    /// The sector number.
    #[param(value_type = u64, minimum = 0, example = 302)]
    pub sector_number: Option<String>,
    /// The sealed sector's commitment (CommR).
    #[param(value_type = String, example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")]
    pub sealed_cid: Option<String>,
    /// The epoch of the seal randomness.
    #[param(value_type = u64, minimum = 0, example = 100)]
    pub seal_rand_epoch: Option<String>,
    /// The epoch the sector would expire at.
    #[param(value_type = u64, minimum = 1, example = 1555400)]
    pub expiration: Option<String>,
    /// The IDs of the deals the sector would hold, separated by commas; none by default.
    #[param(value_type = Option<String>, pattern = "^[0-9]+(,[0-9]+)*$", example = "5004,5008")]
    pub deal_ids: Option<String>,
    /// The unsealed data's commitment (CommD), when the sector has data.
    #[param(value_type = Option<String>, example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")]
    pub unsealed_cid: Option<String>,
}

impl PrecommitQuery {
    /// The pre-commitment as Lotus takes it, every parameter checked.
    fn info(&self) -> Result<SectorPreCommitInfo, ApiError> {
        let seal_proof =
            number("seal_proof", required("seal_proof", &self.seal_proof)?, 19)? as i64;
        let sector_number = number(
            "sector_number",
            required("sector_number", &self.sector_number)?,
            MAX_SECTOR_NUMBER,
        )?;
        let sealed_cid = params::cid("sealed_cid", required("sealed_cid", &self.sealed_cid)?)?;
        let seal_rand_epoch = params::height(
            "seal_rand_epoch",
            required("seal_rand_epoch", &self.seal_rand_epoch)?,
        )?;
        let expiration = params::height("expiration", required("expiration", &self.expiration)?)?;
        if expiration == 0 {
            return Err(ApiError::invalid_parameter(
                "invalid expiration \"0\": expected a positive chain epoch",
            ));
        }
        let deal_ids = match self.deal_ids.as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|d| number("deal_ids", d, u64::MAX))
                .collect::<Result<_, _>>()?,
        };
        let unsealed_cid = match &self.unsealed_cid {
            Some(c) => Some(params::cid("unsealed_cid", c)?),
            None => None,
        };
        let as_cid = |v: Value| Cid::new(v["/"].as_str().unwrap_or_default());
        Ok(SectorPreCommitInfo {
            seal_proof,
            sector_number,
            sealed_cid: as_cid(sealed_cid),
            seal_rand_epoch,
            deal_ids: Some(deal_ids),
            expiration,
            unsealed_cid: unsealed_cid.map(as_cid),
        })
    }
}

macro_rules! deposit_route {
    (
        $(#[$doc:meta])*
        $fn:ident, $path:literal, $method:literal, $desc:literal
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "Miners",
            extensions(("x-lotus-methods" = json!([$method]))),
            params(
                MinerPath,
                PrecommitQuery, params::AtTipset
            ),
            responses((status = 200, description = $desc, body = String, content_type = "application/json",
                example = json!("200000000000000000"))),
            security(("lotus_token" = ["read"]))
        )]
        #[get($path)]
        pub async fn $fn(
            auth: Authorized<Read>,
            state: web::Data<AppState>,
            MinerPath { address }: MinerPath,
            query: web::Query<PrecommitQuery>,
            at: web::Query<params::AtTipset>,
        ) -> Result<HttpResponse, ApiError> {
            let info = query.info()?;
            let at = at.key(&state, &auth.caller).await?;
            let result = miner_read(
                &state,
                &auth.caller,
                $method,
                &address.to_string(),
                json!([address, info, at.key]),
                at.immutable,
            )
            .await?;
            Ok(lotus_json(result, at.immutable))
        }
    };
}

deposit_route!(
    /// The initial pledge of a sector.
    ///
    /// The initial pledge in attoFIL the miner would lock to prove the sector described by the query
    /// (`Filecoin.StateMinerInitialPledgeCollateral`).
    get_miner_initial_pledge, "/initial-pledge", "Filecoin.StateMinerInitialPledgeCollateral",
    "The pledge in attoFIL, as a JSON string"
);

deposit_route!(
    /// The pre-commit deposit of a sector.
    ///
    /// The deposit in attoFIL the miner would lock to pre-commit the sector described by the query
    /// (`Filecoin.StateMinerPreCommitDepositForPower`).
    get_miner_precommit_deposit, "/precommit-deposit",
    "Filecoin.StateMinerPreCommitDepositForPower", "The deposit in attoFIL, as a JSON string"
);

/// A miner's mining base.
///
/// What the miner needs to try to produce a block at `round` on the tipset selected: its power and the network's,
/// the sectors challenged, its worker key and the beacon entries (`Filecoin.MinerGetBaseInfo`). A miner that cannot
/// mine on that tipset is a 404.
#[utoipa::path(
    tag = "Miners",
    extensions(("x-lotus-methods" = json!(["Filecoin.MinerGetBaseInfo"]))),
    params(
        MinerPath,
        RoundQuery, params::AtTipset
    ),
    responses((status = 200, description = "The mining base info", body = MiningBaseInfo)),
    security(("lotus_token" = ["read"]))
)]
#[get("/mining-base")]
pub async fn get_miner_mining_base(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MinerPath { address }: MinerPath,
    query: web::Query<RoundQuery>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let round = params::height("round", required("round", &query.round)?)?;
    let at = at.key(&state, &auth.caller).await?;
    let result = miner_read(
        &state,
        &auth.caller,
        "Filecoin.MinerGetBaseInfo",
        &address.to_string(),
        json!([address, round, at.key]),
        at.immutable,
    )
    .await?;
    found_or_404(result, at.immutable, || {
        format!(
            "miner {address} has no mining base at round {round}: it has no power on that tipset"
        )
    })
}

/// Create a block.
///
/// Has the node build a block for the miner from the template given and sign it with the miner's worker key
/// (`Filecoin.MinerCreateBlock`). The block is returned, not submitted: submitting it to the network is a separate
/// step.
#[utoipa::path(
    tag = "Miners",
    extensions(("x-lotus-methods" = json!(["Filecoin.MinerCreateBlock"]))),
    params(MinerPath),
    request_body = NewBlock,
    responses((status = 200, description = "The signed block and the CIDs of its messages", body = BlockMsg)),
    security(("lotus_token" = ["write"]))
)]
#[post("/blocks")]
pub async fn create_miner_block(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    MinerPath { address }: MinerPath,
    body: Body<NewBlock>,
) -> Result<HttpResponse, ApiError> {
    let block = body.into_inner();
    if block.parents.is_empty() {
        return Err(body_error(
            "Parents",
            "the block needs the CIDs of its parent tipset",
        ));
    }
    for (i, c) in block.parents.iter().enumerate() {
        check_cid(&format!("Parents[{i}]"), c)?;
    }
    if block.epoch <= 0 {
        return Err(body_error("Epoch", "must be a positive chain epoch"));
    }
    if let Some(t) = &block.ticket {
        check_base64("Ticket.VRFProof", &t.vrf_proof)?;
    }
    if let Some(e) = &block.eproof {
        check_base64("Eproof.VRFProof", &e.vrf_proof)?;
    }
    for (i, b) in block.beacon_values.iter().enumerate() {
        check_base64(&format!("BeaconValues[{i}].Data"), &b.data)?;
    }
    for (i, p) in block.winning_post_proof.iter().enumerate() {
        check_base64(&format!("WinningPoStProof[{i}].ProofBytes"), &p.proof_bytes)?;
    }
    for (i, m) in block.messages.iter().enumerate() {
        super::send::address_field(&format!("Messages[{i}].Message.From"), &m.message.from)?;
        super::send::address_field(&format!("Messages[{i}].Message.To"), &m.message.to)?;
        check_base64(&format!("Messages[{i}].Signature.Data"), &m.signature.data)?;
    }
    let mut template = serde_json::to_value(&block)
        .map_err(|e| ApiError::internal(format!("encoding a block template: {e}")))?;
    if let Some(obj) = template.as_object_mut() {
        obj.insert("Miner".into(), Value::String(address.to_string()));
    }
    let result = state
        .node
        .call_raw(&auth.caller, "Filecoin.MinerCreateBlock", json!([template]))
        .await
        .map_err(|e| {
            let too_low = e
                .rpc
                .as_ref()
                .is_some_and(|rpc| rpc.message.contains("is not above its parents"));
            if too_low {
                let why = e
                    .rpc
                    .as_ref()
                    .map(|r| r.message.clone())
                    .unwrap_or_default();
                return body_error("Epoch", why);
            }
            not_found_when(e, &["unknown actor code"], || {
                format!("{address} is not a storage miner actor")
            })
        })?;
    Ok(lotus_json_uncached(&result))
}

/// Registers the miners routes. Fixed paths come before the ones they would match as a miner address.
/// The routes under `/v1/miners` with a fixed path, in the order they are matched.
pub fn register_miners(cfg: &mut ServiceConfig) {
    cfg.service(list_miners)
        .service(get_miner_creation_deposit)
        .service(list_miner_faults);
}

/// The routes under `/v1/miners/{address}` this module declares, in the order they are matched.
pub fn register_miner(cfg: &mut ServiceConfig) {
    cfg.service(get_miner)
        .service(get_miner_power)
        .service(get_miner_available_balance)
        .service(list_miner_deadlines)
        .service(get_miner_proving_deadline)
        .service(list_miner_partitions)
        .service(get_miner_faults)
        .service(get_miner_recoveries)
        .service(list_miner_sectors)
        .service(get_miner_sector_count)
        .service(get_miner_allocated_sectors)
        .service(get_miner_sector_allocated)
        .service(get_miner_sector)
        .service(get_miner_sector_expiration)
        .service(get_miner_sector_partition)
        .service(get_miner_precommit)
        .service(get_miner_initial_pledge)
        .service(get_miner_precommit_deposit)
        .service(get_miner_mining_base)
        .service(create_miner_block);
}

/// The routes under `/v1/sectors`, in the order they are matched.
pub fn register_sectors(cfg: &mut ServiceConfig) {
    cfg.service(get_sector_initial_pledge);
}

#[cfg(test)]
mod tests {
    use super::BitField;

    #[test]
    fn bitfields_round_trip() {
        for set in [
            vec![],
            vec![0],
            vec![5],
            vec![0, 1, 2, 5],
            vec![3, 4, 9, 10, 11],
        ] {
            let bf = BitField::from_numbers(&set);
            assert_eq!(bf.numbers(), set, "{bf:?}");
        }
        assert_eq!(BitField::from_numbers(&[5]).0, vec![5, 1]);
        assert_eq!(BitField::from_numbers(&[0, 1, 2, 5]).0, vec![0, 3, 2, 1]);
    }
}
