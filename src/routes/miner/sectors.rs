//! The miner's sectors: the sealing pipeline's sectors and their states, pledging, removal, termination, snap
//! upgrades, unsealing, fault recovery, the pre-commit / commit / termination batches, sector number reservations,
//! adding deal pieces, and the sealing delays.

use super::{remap, unpadded_piece_size, MinerSectorId};
use std::collections::BTreeMap;

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Caller, MinerAuthorized, Read, Write};
use crate::error::{ApiError, Code};
use crate::lotus::miner::BitField;
use crate::lotus::sealing::{SECTOR_STATES, UPGRADE_STATES};
use crate::lotus::types::Cid;
use crate::routes::body::Body;
use crate::routes::extract::{BatchPath, ReservationPath, SectorPath};
use crate::routes::messages::field_error;
use crate::routes::page::{decode_after, encode_after, list_fingerprint, Page};
use crate::routes::{accepted, accepted_empty, created, no_content};
use crate::state::AppState;

/// The largest number of sector numbers one request may list.
pub const MAX_SECTORS_PER_REQUEST: usize = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// Schemas

/// A sector of the list: its number and its state in the sealing pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"SectorID": 9, "State": "Proving"}))]
pub struct MinerSectorListItem {
    /// The sector number.
    #[serde(rename = "SectorID")]
    #[schema(example = 9)]
    pub sector_id: u64,
    /// Its state (`api.SectorState`), e.g. `Proving`.
    #[schema(example = "Proving")]
    pub state: String,
}

/// A page of the miner's sectors, in ascending sector number.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MinerSectorsPage {
    /// The sectors of this page.
    pub items: Vec<MinerSectorListItem>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many sectors the whole (filtered) list has.
    pub total: usize,
}

/// Where a deal's data is in a sector (`api.SealedRef`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSealedRef {
    /// The sector number.
    #[serde(rename = "SectorID")]
    #[schema(example = 100)]
    pub sector_id: u64,
    /// The unpadded byte offset of the deal's piece in the sector.
    #[schema(example = 10485760)]
    pub offset: u64,
    /// The unpadded size of the piece.
    #[schema(example = 1048576)]
    pub size: u64,
}

/// A deal and the sectors holding its data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerDealSectorRefs {
    /// The deal ID.
    #[serde(rename = "DealID")]
    #[schema(example = 98000)]
    pub deal_id: u64,
    /// Where its data is.
    pub refs: Vec<MinerSealedRef>,
}

/// A page of deal → sector references, in ascending deal ID.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MinerSectorRefsPage {
    /// The deals of this page.
    pub items: Vec<MinerDealSectorRefs>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many deals the whole list has.
    pub total: usize,
}

/// A ticket or seed drawn for sealing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSealRandomness {
    /// The randomness, base64.
    #[schema(example = "Bw==")]
    pub value: String,
    /// The epoch it was drawn at.
    #[schema(example = 10101)]
    pub epoch: i64,
}

/// One entry of a sector's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSectorLog {
    /// The event, e.g. `event;sealing.SectorStartCC`.
    #[schema(example = "event;sealing.SectorStartCC")]
    pub kind: String,
    /// Unix seconds.
    #[schema(example = 1700000000)]
    pub timestamp: u64,
    pub trace: String,
    pub message: String,
}

/// A sector of the sealing pipeline in full (`api.SectorInfo`). The on-chain fields (`SealProof` onwards) are
/// filled when `on_chain=true`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSectorStatus {
    #[serde(rename = "SectorID")]
    #[schema(example = 9)]
    pub sector_id: u64,
    #[schema(example = "Proving")]
    pub state: String,
    pub comm_d: Option<Cid>,
    pub comm_r: Option<Cid>,
    /// The seal proof, base64.
    pub proof: String,
    /// The deals whose data the sector holds.
    pub deals: Vec<u64>,
    /// The pieces in the sector (`api.SectorPiece`): `Piece` with `Size` and `PieceCID`, and `DealInfo`.
    #[schema(value_type = Vec<Object>)]
    pub pieces: Value,
    pub ticket: MinerSealRandomness,
    pub seed: MinerSealRandomness,
    pub pre_commit_msg: Option<Cid>,
    pub commit_msg: Option<Cid>,
    pub retries: u64,
    pub to_upgrade: bool,
    pub replica_update_message: Option<Cid>,
    pub last_err: String,
    pub log: Vec<MinerSectorLog>,
    /// The registered seal proof type, e.g. 8 (32 GiB, v1.1).
    #[schema(example = 8)]
    pub seal_proof: i64,
    pub activation: i64,
    pub expiration: i64,
    #[schema(value_type = String, example = "0")]
    pub deal_weight: Value,
    #[schema(value_type = String, example = "0")]
    pub verified_deal_weight: Value,
    /// attoFIL.
    #[schema(value_type = String, example = "0")]
    pub initial_pledge: Value,
    pub on_time: i64,
    pub early: i64,
}

/// The sector an accepted request is about; follow it at `Location`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"SectorID": 9}))]
pub struct MinerSectorNumber {
    #[serde(rename = "SectorID")]
    pub sector_id: u64,
}

/// A state to force a sector into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"State": "Proving"}))]
pub struct MinerSectorStateUpdate {
    /// One of Lotus's sector states, e.g. `Proving`, `Removing`, `SubmitPreCommitBatch`.
    pub state: String,
}

/// What part of a sector to unseal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Offset": 0, "Size": 1016}))]
pub struct MinerUnsealPiece {
    /// The unpadded byte offset of the piece in the sector; default 0.
    #[serde(default)]
    pub offset: u64,
    /// The unpadded size of the piece: 127 × 2^k bytes, at least 127.
    pub size: u64,
    /// The sealing ticket, base64; default the sector's.
    #[serde(default)]
    pub randomness: Option<String>,
    /// The sector's unsealed CID; default the sector's CommD.
    #[serde(default, rename = "CommD")]
    pub comm_d: Option<Cid>,
}

/// Sectors to declare recovered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Sectors": [123, 124]}))]
pub struct MinerRecoveryRequest {
    /// The sector numbers, each once.
    pub sectors: Vec<u64>,
}

/// The messages that declare the recoveries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerRecoveryMessages {
    /// Their CIDs; follow each at `/v1/messages/{cid}`.
    pub messages: Vec<Cid>,
}

/// A sector sealed elsewhere, to import into the pipeline (`api.RemoteSectorMeta`). `State`, `Sector` and `Type`
/// are required; which other fields are needed depends on `State` (Lotus's `SectorReceive` documents them).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"State": "Proving", "Sector": {"Miner": 1000, "Number": 9}, "Type": 8,
    "CommD": {"/": "baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq"},
    "CommR": {"/": "bagboea4b5abcamxbh7ij6gg2c3hsxrtbs3c6wdcdmxjgb7pl5sp2yl6fhyrpqhum"}}))]
pub struct MinerRemoteSector {
    /// The state to import it in, one of Lotus's sector states.
    pub state: String,
    /// The sector: the miner's actor ID and the sector number.
    pub sector: MinerSectorId,
    /// The registered seal proof type.
    pub r#type: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub pieces: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ticket_value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub pre_commit1_out: Option<Value>,
    #[serde(default, rename = "CommD", skip_serializing_if = "Option::is_none")]
    pub comm_d: Option<Cid>,
    #[serde(default, rename = "CommR", skip_serializing_if = "Option::is_none")]
    pub comm_r: Option<Cid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub pre_commit_info: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub pre_commit_deposit: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_commit_message: Option<Cid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Cid>>)]
    pub pre_commit_tip_set: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub seed_value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub commit_proof: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_message: Option<Cid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<MinerSectorLog>>,
    /// Where to fetch the unsealed data: `Local`, `URL`, `Headers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data_unsealed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data_sealed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data_cache: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_commit1_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_commit2_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_sealing_done_endpoint: Option<String>,
}

/// One message a batch flush sent (`sealiface.PreCommitBatchRes` / `CommitBatchRes`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerBatchResult {
    /// The sectors the message covers.
    pub sectors: Vec<u64>,
    /// Sectors left out, with why (commit batches only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_sectors: Option<BTreeMap<String, String>>,
    /// The message, if one was sent.
    pub msg: Option<Cid>,
    /// What went wrong, if anything.
    #[serde(default)]
    pub error: String,
}

/// The miner's sector number assigner (`api.NumAssignerMeta`); sets are run-length bitfields.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSectorNumbers {
    /// Numbers held by named reservations.
    pub reserved: BitField,
    /// Numbers the miner has assigned to sectors.
    pub allocated: BitField,
    /// Both, and the numbers allocated on chain.
    pub in_use: BitField,
    /// The number the next new sector gets.
    #[schema(example = 9)]
    pub next: u64,
}

/// A named reservation of sector numbers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"Name": "snap-batch", "Sectors": [200, 5], "Count": 5}))]
pub struct MinerSectorNumberReservation {
    /// Its name.
    pub name: String,
    /// The reserved numbers, as a run-length bitfield.
    pub sectors: BitField,
    /// How many numbers it holds.
    pub count: u64,
}

/// A reservation to make: `Count` free numbers (`SectorNumReserveCount`), or the listed `Sectors`
/// (`SectorNumReserve`, with `Force` to override the collision checks).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Name": "import-batch", "Count": 10}))]
pub struct MinerReservationRequest {
    /// Letters, digits, `_` and `-`.
    #[schema(pattern = "^[a-zA-Z0-9_-]+$", example = "import-batch")]
    pub name: String,
    /// How many free numbers to reserve, the lowest available.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000)]
    pub count: Option<u64>,
    /// The numbers to reserve.
    #[serde(default)]
    pub sectors: Option<Vec<u64>>,
    /// With `Sectors`: reserve even if they collide with another reservation or with allocated numbers.
    #[serde(default)]
    pub force: Option<bool>,
}

/// Where a piece's data comes from (Lotus's reader encoding, `rpcenc.ReaderStream`): `{"Type": "null", "Info":
/// "<bytes>"}` is that many zero bytes, `{"Type": "http", "Info": "<URL>"}` is fetched by the miner. Lotus's
/// `push` streams need a client of the miner's own and are not available here.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Type": "http", "Info": "https://data.example.com/piece.car"}))]
pub struct MinerPieceData {
    /// `null` or `http`.
    #[schema(pattern = "^(null|http)$")]
    pub r#type: String,
    /// The byte count (`null`) or the URL (`http`).
    pub info: String,
}

/// A piece to add to an open sector.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Size": 1016, "Data": {"Type": "null", "Info": "1016"},
    "Deal": {"DealID": 5432, "PublishCid": null, "DealProposal": null, "DealSchedule": {"StartEpoch": 10101, "EndEpoch": 20202},
      "PieceActivationManifest": null, "KeepUnsealed": true}}))]
pub struct MinerAddPiece {
    /// The unpadded piece size: 127 × 2^k bytes, at least 127.
    pub size: u64,
    pub data: MinerPieceData,
    /// The deal (`piece.PieceDealInfo`): `PublishCid`, `DealID`, `DealProposal`, `DealSchedule`,
    /// `PieceActivationManifest`, `KeepUnsealed`; passed to the miner as given.
    #[schema(value_type = Object)]
    pub deal: Value,
}

/// Where a piece went (`api.SectorOffset`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"Sector": 9, "Offset": 1032}))]
pub struct MinerSectorOffset {
    /// The sector number.
    pub sector: u64,
    /// The unpadded byte offset in the sector.
    pub offset: u64,
}

/// A duration, as Go prints it (`1h30m0s`) and in nanoseconds (Lotus's `time.Duration`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"Duration": "1h30m0s", "Nanoseconds": 5400000000000i64}))]
pub struct MinerDuration {
    #[schema(example = "1h30m0s")]
    pub duration: String,
    #[schema(example = 5400000000000i64)]
    pub nanoseconds: i64,
}

/// A duration given as Go's duration text (`90m`, `1h30m`, `1.5h`, `45s`; units ns, us, µs, ms, s, m, h) or as
/// an integer of nanoseconds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MinerDurationValue {
    Text(String),
    Nanoseconds(i64),
}

/// A duration to set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Duration": "1h30m"}))]
pub struct MinerDurationSetting {
    #[schema(value_type = MinerDurationValue)]
    pub duration: Value,
}

/// The filter of the sector list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MinerSectorFilter {
    /// Only sectors in these states: repeat the parameter or separate states with commas
    /// (`state=Proving&state=Available`, `state=Proving,Available`).
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["Proving"]))]
    pub state: Option<String>,
}

/// Options of a sector's status.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MinerSectorStatusQuery {
    /// Also read the sector's on-chain info (seal proof, activation, expiration, pledge); default false.
    #[param(value_type = Option<bool>, example = true)]
    pub on_chain: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters, errors and cursors

fn sector_location(n: u64) -> String {
    format!("/v1/miner/sectors/{n}")
}

fn known_state(state: &str) -> bool {
    SECTOR_STATES.contains(&state)
}

fn unknown_state_detail(state: &str) -> String {
    format!(
        "unknown sector state \"{state}\": expected one of Lotus's sector states, e.g. {}",
        [
            "WaitDeals",
            "PreCommit1",
            "Committing",
            "Proving",
            "Available",
            "Faulty",
            "Removed"
        ]
        .join(", ")
    )
}

/// Checks that the miner has sector `n` (404 otherwise), then asks it to do `method` to it; the miner does the work
/// later, so the answer is a 202 pointing at the sector.
async fn act_on_sector(
    state: &AppState,
    caller: &Caller,
    n: u64,
    method: &str,
) -> Result<HttpResponse, ApiError> {
    sector_head(state, caller, n, false).await?;
    state
        .miner
        .call_raw(caller, method, json!([n]))
        .await
        .map_err(|e| not_found_sector(e, n))?;
    Ok(accepted(
        Some(&sector_location(n)),
        &MinerSectorNumber { sector_id: n },
    ))
}

/// The part of a sector's status the routes look at.
#[derive(Debug, Deserialize)]
struct StatusHead {
    #[serde(rename = "State")]
    state: String,
    #[serde(rename = "SealProof", default)]
    seal_proof: i64,
    #[serde(rename = "Ticket", default)]
    ticket: Option<Value>,
    #[serde(rename = "CommD", default)]
    comm_d: Option<Cid>,
}

/// Reads a sector's status; an unknown sector is a 404 that names it.
async fn sector_head(
    state: &AppState,
    caller: &Caller,
    n: u64,
    on_chain: bool,
) -> Result<StatusHead, ApiError> {
    state
        .miner
        .call::<StatusHead, _>(caller, "Filecoin.SectorsStatus", json!([n, on_chain]))
        .await
        .map_err(|e| not_found_sector(e, n))
}

fn not_found_sector(mut e: ApiError, n: u64) -> ApiError {
    if e.code == Code::NotFound {
        e.detail = format!("the miner has no sector {n}: {}", e.detail);
    }
    e
}

fn state_conflict(n: u64, state: &str, what: &str, allowed: &[&str]) -> ApiError {
    ApiError::new(
        Code::Conflict,
        format!(
            "sector {n} is in state {state}: {what} needs it in {}",
            allowed.join(" or ")
        ),
    )
}

// Keyset cursors: a page starts after the last key of the previous one, so entries added or removed between pages
// never make another entry show twice or not at all.

/// One page of `entries` (sorted by key, keys unique): the page, the next cursor and the total.
fn keyset_page<T>(
    entries: Vec<(u64, T)>,
    page: &Page,
    print: u64,
) -> Result<(Vec<T>, Option<String>, usize), ApiError> {
    let limit = page.limit()?;
    let after = page
        .cursor
        .as_deref()
        .map(|c| decode_after::<u64>(c, print))
        .transpose()?;
    let total = entries.len();
    let mut rest = entries
        .into_iter()
        .filter(|(k, _)| after.is_none_or(|a| *k > a))
        .peekable();
    let mut items = Vec::new();
    let mut last = None;
    while items.len() < limit {
        match rest.next() {
            Some((k, v)) => {
                last = Some(k);
                items.push(v);
            }
            None => break,
        }
    }
    let next = match (rest.peek(), last) {
        (Some(_), Some(k)) => Some(encode_after(&k, print)),
        _ => None,
    };
    Ok((items, next, total))
}

/// The states asked for with `state`, repeated or comma-separated, in the order given, each once.
fn state_filter(req: &HttpRequest) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if k != "state" {
            continue;
        }
        for s in v.split(',') {
            let s = s.trim();
            if s.is_empty() {
                return Err(ApiError::invalid_parameter(format!(
                    "invalid state \"{v}\" (parameter state): expected sector state names separated by commas"
                )));
            }
            if !known_state(s) {
                return Err(ApiError::invalid_parameter(format!(
                    "{} (parameter state)",
                    unknown_state_detail(s)
                )));
            }
            if !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
    }
    Ok(out)
}

// Durations in Go's notation.

/// Parses Go's duration text (`1h30m`, `1.5h`, `300ms`) or a plain integer of nanoseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map_err(|_| format!("duration \"{text}\" is out of range"));
    }
    if s == "0" {
        return Ok(0);
    }
    let bad = || {
        format!(
            "invalid duration \"{text}\": expected a non-negative Go duration such as 90m, 1h30m, 1.5h or 45s \
             (units ns, us, µs, ms, s, m, h), or an integer of nanoseconds"
        )
    };
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    if !total.is_finite() || total > i64::MAX as f64 {
        return Err(format!("duration \"{text}\" is out of range"));
    }
    Ok(total.round() as i64)
}

fn decimal(v: u64, unit: u64) -> String {
    let whole = v / unit;
    let frac = v % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Prints nanoseconds as Go's `time.Duration.String` does: `1h30m0s`, `1.5s`, `300ms`, `0s`.
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", decimal(u, 1_000))
    } else if u < 1_000_000_000 {
        format!("{}ms", decimal(u, 1_000_000))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u % 3_600_000_000_000) / 60_000_000_000;
        let s = decimal(u % 60_000_000_000, 1_000_000_000);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    format!("{sign}{body}")
}

fn duration_field(v: &Value) -> Result<i64, ApiError> {
    let ns = match v {
        Value::String(s) => parse_duration(s).map_err(|e| field_error("Duration", e))?,
        Value::Number(n) => n.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            field_error(
                "Duration",
                format!("invalid duration {n}: expected a non-negative integer of nanoseconds"),
            )
        })?,
        other => {
            return Err(field_error(
                "Duration",
                format!("invalid duration {other}: expected Go duration text such as \"1h30m\" or an integer of nanoseconds"),
            ))
        }
    };
    Ok(ns)
}

async fn read_duration(
    state: &AppState,
    caller: &Caller,
    method: &str,
) -> Result<HttpResponse, ApiError> {
    let ns: i64 = state.miner.call(caller, method, json!([])).await?;
    Ok(duration_response(ns))
}

fn duration_response(ns: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(MinerDuration {
            duration: format_duration(ns),
            nanoseconds: ns,
        })
}

// ---------------------------------------------------------------------------------------------------------------
// Sectors

/// The miner's sectors.
///
/// The sectors of the miner's sealing pipeline with their states, in ascending number, a page at a time
/// (`Filecoin.SectorsList`, and `Filecoin.SectorsStatus` for the states of the page's sectors). With `state`, only
/// the sectors in those states (`Filecoin.SectorsListInStates`, one call per state). Paging is by sector number:
/// sectors added while paging appear on later pages, and none shows twice.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.SectorsList", "Filecoin.SectorsListInStates", "Filecoin.SectorsStatus"])),
        ("x-lotus-serves" = json!(["Filecoin.SectorsList", "Filecoin.SectorsListInStates"]))
    ),
    params(MinerSectorFilter, Page),
    responses(
        (status = 200, description = "A page of sectors", body = MinerSectorsPage),
        (status = 400, description = "An unknown state, a bad limit or cursor", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["read"]))
)]
#[get("/sectors")]
pub async fn list_miner_managed_sectors(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    req: HttpRequest,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let states = state_filter(&req)?;
    page.limit()?;
    let print = list_fingerprint("Filecoin.SectorsList", &json!(states));
    if let Some(c) = &page.cursor {
        decode_after::<u64>(c, print)?;
    }
    let caller = &auth.caller;
    let (items, next_cursor, total) = if states.is_empty() {
        let mut numbers: Vec<u64> = state
            .miner
            .call::<Option<Vec<u64>>, _>(caller, "Filecoin.SectorsList", json!([]))
            .await?
            .unwrap_or_default();
        numbers.sort_unstable();
        numbers.dedup();
        let (numbers, next, total) =
            keyset_page(numbers.into_iter().map(|n| (n, n)).collect(), &page, print)?;
        let miner = &state.miner;
        let items: Vec<MinerSectorListItem> = futures_util::stream::iter(numbers)
            .map(|n| async move {
                let head: StatusHead = miner
                    .call(caller, "Filecoin.SectorsStatus", json!([n, false]))
                    .await?;
                Ok::<_, ApiError>(MinerSectorListItem {
                    sector_id: n,
                    state: head.state,
                })
            })
            .buffered(8)
            .try_collect()
            .await?;
        (items, next, total)
    } else {
        let mut all: BTreeMap<u64, String> = BTreeMap::new();
        for s in &states {
            let numbers: Option<Vec<u64>> = state
                .miner
                .call(caller, "Filecoin.SectorsListInStates", json!([[s]]))
                .await?;
            for n in numbers.unwrap_or_default() {
                all.entry(n).or_insert_with(|| s.clone());
            }
        }
        let entries = all
            .into_iter()
            .map(|(n, s)| {
                (
                    n,
                    MinerSectorListItem {
                        sector_id: n,
                        state: s,
                    },
                )
            })
            .collect();
        keyset_page(entries, &page, print)?
    };
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(MinerSectorsPage {
            items,
            next_cursor,
            total,
        }))
}

/// How many sectors are in each state.
///
/// The count of the miner's sectors per state (`Filecoin.SectorsSummary`).
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorsSummary"]))),
    responses((status = 200, description = "Sector counts by state", body = BTreeMap<String, u64>,
        example = json!({"Proving": 90, "WaitDeals": 3}))),
    security(("lotus_token" = ["read"]))
)]
#[get("/sectors/summary")]
pub async fn get_miner_sectors_summary(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let summary: Option<BTreeMap<String, u64>> = state
        .miner
        .call(&auth.caller, "Filecoin.SectorsSummary", json!([]))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(summary.unwrap_or_default()))
}

/// Which sectors hold each deal's data.
///
/// For each deal with data in the miner's sectors, the sectors and where in them (`Filecoin.SectorsRefs`), in
/// ascending deal ID, a page at a time.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorsRefs"]))),
    params(Page),
    responses(
        (status = 200, description = "A page of deals and their sectors", body = MinerSectorRefsPage),
        (status = 400, description = "A bad limit or cursor", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["read"]))
)]
#[get("/sectors/refs")]
pub async fn list_miner_sector_refs(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page.limit()?;
    let print = list_fingerprint("Filecoin.SectorsRefs", &json!([]));
    if let Some(c) = &page.cursor {
        decode_after::<u64>(c, print)?;
    }
    let refs: Option<BTreeMap<String, Option<Vec<MinerSealedRef>>>> = state
        .miner
        .call(&auth.caller, "Filecoin.SectorsRefs", json!([]))
        .await?;
    let mut entries: Vec<(u64, MinerDealSectorRefs)> = Vec::new();
    for (deal, refs) in refs.unwrap_or_default() {
        let deal_id = deal.parse::<u64>().map_err(|_| {
            ApiError::new(
                Code::UpstreamBadResponse,
                format!("the Lotus miner's reply to Filecoin.SectorsRefs has a deal ID that is not a number: {deal}"),
            )
        })?;
        entries.push((
            deal_id,
            MinerDealSectorRefs {
                deal_id,
                refs: refs.unwrap_or_default(),
            },
        ));
    }
    entries.sort_by_key(|(k, _)| *k);
    let (items, next_cursor, total) = keyset_page(entries, &page, print)?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(MinerSectorRefsPage {
            items,
            next_cursor,
            total,
        }))
}

/// Pledge a committed-capacity sector.
///
/// Creates a new sector filled with zeros and starts sealing it (`Filecoin.PledgeSector`). Answers 201 with the
/// new sector; follow it at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.PledgeSector"]))),
    responses((status = 201, description = "The new sector", body = MinerSectorId,
        headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}")))),
    security(("lotus_token" = ["write"]))
)]
#[post("/sectors")]
pub async fn pledge_miner_sector(
    auth: MinerAuthorized<Write>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let sector: MinerSectorId = state
        .miner
        .call(&auth.caller, "Filecoin.PledgeSector", json!([]))
        .await?;
    Ok(created(&sector_location(sector.number), &sector))
}

/// Declare faulty sectors recovered.
///
/// Sends the messages that declare the listed sectors recovered to the miner actor, batched by partition as the
/// miner's config allows (`Filecoin.RecoverFault`). Answers 202 with the messages' CIDs; `Location` is the first.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.RecoverFault"]))),
    request_body = MinerRecoveryRequest,
    responses(
        (status = 202, description = "The recovery messages are sent", body = MinerRecoveryMessages,
            headers(("Location" = String, description = "The first message: /v1/messages/{cid}"))),
        (status = 400, description = "No sectors, too many, or one listed twice", body = crate::error::Problem),
        (status = 404, description = "A sector the miner does not have", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/sectors/recoveries")]
pub async fn declare_miner_sector_recoveries(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerRecoveryRequest>,
) -> Result<HttpResponse, ApiError> {
    let sectors = distinct_sectors("Sectors", &body.sectors)?;
    let messages: Option<Vec<Cid>> = state
        .miner
        .call(&auth.caller, "Filecoin.RecoverFault", json!([sectors]))
        .await?;
    let messages = messages.unwrap_or_default();
    let location = messages.first().map(|c| format!("/v1/messages/{}", c.root));
    Ok(accepted(
        location.as_deref(),
        &MinerRecoveryMessages { messages },
    ))
}

fn distinct_sectors(field: &str, sectors: &[u64]) -> Result<Vec<u64>, ApiError> {
    if sectors.is_empty() {
        return Err(field_error(field, "expected at least one sector number"));
    }
    if sectors.len() > MAX_SECTORS_PER_REQUEST {
        return Err(field_error(
            field,
            format!(
                "{} sector numbers: at most {MAX_SECTORS_PER_REQUEST} per request",
                sectors.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for n in sectors {
        if !seen.insert(*n) {
            return Err(field_error(field, format!("sector {n} is listed twice")));
        }
    }
    Ok(sectors.to_vec())
}

/// Import a sector sealed elsewhere.
///
/// Adds a sector sealed outside this miner to its pipeline in the given state, from where the miner continues
/// (`Filecoin.SectorReceive`). Answers 201; follow the sector at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorReceive"]))),
    request_body = MinerRemoteSector,
    responses(
        (status = 201, description = "The sector is in the pipeline", body = MinerSectorNumber,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 400, description = "An unknown state, a malformed sector, or a sector of another miner actor",
            body = crate::error::Problem),
        (status = 409, description = "The miner already has a sector with this number", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/sectors/received")]
pub async fn receive_miner_sector(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerRemoteSector>,
) -> Result<HttpResponse, ApiError> {
    let meta = body.into_inner();
    if !known_state(&meta.state) {
        return Err(field_error("State", unknown_state_detail(&meta.state)));
    }
    let n = meta.sector.number;
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.SectorReceive", json!([meta]))
        .await
        .map_err(|e| {
            // The sector must be this miner's: its actor ID is the miner actor's.
            let wrong_miner = e
                .rpc
                .as_ref()
                .is_some_and(|r| r.message.contains("wrong actor"));
            if wrong_miner {
                let mut bad = field_error(
                    "Sector.Miner",
                    "the sector belongs to another miner actor than this miner's (GET /v1/miner/info)",
                );
                bad.rpc = e.rpc;
                bad
            } else {
                remap(e, &[("already exists", Code::Conflict)])
            }
        })?;
    Ok(created(
        &sector_location(n),
        &MinerSectorNumber { sector_id: n },
    ))
}

/// A sector of the miner.
///
/// The sector's state, commitments, deals, pieces, messages and history (`Filecoin.SectorsStatus`); with
/// `on_chain=true` also its on-chain info.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorsStatus"]))),
    params(
        SectorPath,
        MinerSectorStatusQuery
    ),
    responses(
        (status = 200, description = "The sector", body = MinerSectorStatus),
        (status = 400, description = "A bad number or on_chain", body = crate::error::Problem),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_miner_managed_sector(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
    query: web::Query<MinerSectorStatusQuery>,
) -> Result<HttpResponse, ApiError> {
    let on_chain = match query.on_chain.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "invalid on_chain \"{other}\": expected true or false (parameter on_chain)"
            )))
        }
    };
    let raw = state
        .miner
        .call_raw(&auth.caller, "Filecoin.SectorsStatus", json!([n, on_chain]))
        .await
        .map_err(|e| not_found_sector(e, n))?;
    Ok(crate::routes::lotus_json_uncached(&raw))
}

/// Remove a sector.
///
/// Removes the sector and its data from the miner (`Filecoin.SectorRemove`); the sector is known afterwards in
/// state `Removed`. Committed sectors should be terminated first. Answers 202; follow the sector at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorRemove", "Filecoin.SectorsStatus"]))),
    params(SectorPath),
    responses(
        (status = 202, description = "The miner is removing the sector", body = MinerSectorNumber,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_miner_sector(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
) -> Result<HttpResponse, ApiError> {
    act_on_sector(&state, &auth.caller, n, "Filecoin.SectorRemove").await
}

/// Terminate a sector.
///
/// Queues the sector for termination on chain (`Filecoin.SectorTerminate`); terminations are sent in batches (see
/// `/v1/miner/batches/terminate`). Answers 202; follow the sector at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorTerminate", "Filecoin.SectorsStatus"]))),
    params(SectorPath),
    responses(
        (status = 202, description = "The sector is queued for termination", body = MinerSectorNumber,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/terminate")]
pub async fn terminate_miner_sector(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
) -> Result<HttpResponse, ApiError> {
    act_on_sector(&state, &auth.caller, n, "Filecoin.SectorTerminate").await
}

/// Force a sector's state.
///
/// Moves the sector to the given state of the sealing pipeline (`Filecoin.SectorsUpdate`), e.g. to retry a
/// failed step. Lotus applies it asynchronously: answers 202; follow the sector at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorsUpdate", "Filecoin.SectorsStatus"]))),
    params(SectorPath),
    request_body = MinerSectorStateUpdate,
    responses(
        (status = 202, description = "The miner is moving the sector", body = MinerSectorStateUpdate,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 400, description = "An unknown state", body = crate::error::Problem),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[put("/state")]
pub async fn put_miner_sector_state(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
    body: Body<MinerSectorStateUpdate>,
) -> Result<HttpResponse, ApiError> {
    let wanted = body.into_inner();
    if !known_state(&wanted.state) {
        return Err(field_error("State", unknown_state_detail(&wanted.state)));
    }
    sector_head(&state, &auth.caller, n, false).await?;
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.SectorsUpdate",
            json!([n, wanted.state]),
        )
        .await
        .map_err(|e| not_found_sector(e, n))?;
    Ok(accepted(Some(&sector_location(n)), &wanted))
}

/// Mark a sector for a snap-deal upgrade.
///
/// Marks a `Proving` or `Available` committed-capacity sector to receive deal data through a snap-deal replica
/// update (`Filecoin.SectorMarkForUpgrade`). Answers 202; follow the sector at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorMarkForUpgrade", "Filecoin.SectorsStatus"]))),
    params(SectorPath),
    responses(
        (status = 202, description = "The sector is marked", body = MinerSectorNumber,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem),
        (status = 409, description = "The sector is not Proving or Available", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/upgrade")]
pub async fn mark_miner_sector_for_upgrade(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
) -> Result<HttpResponse, ApiError> {
    let head = sector_head(&state, &auth.caller, n, false).await?;
    const FROM: &[&str] = &["Proving", "Available"];
    if !FROM.contains(&head.state.as_str()) {
        return Err(state_conflict(n, &head.state, "an upgrade", FROM));
    }
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.SectorMarkForUpgrade",
            json!([n, true]),
        )
        .await
        .map_err(|e| {
            remap(
                not_found_sector(e, n),
                &[
                    ("can't mark", Code::Conflict),
                    ("not in the", Code::Conflict),
                ],
            )
        })?;
    Ok(accepted(
        Some(&sector_location(n)),
        &MinerSectorNumber { sector_id: n },
    ))
}

/// Abort a sector's upgrade.
///
/// Aborts the snap-deal upgrade the sector is in; it returns to `Proving` with its old replica
/// (`Filecoin.SectorAbortUpgrade`). Answers 202; follow the sector at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorAbortUpgrade", "Filecoin.SectorsStatus"]))),
    params(SectorPath),
    responses(
        (status = 202, description = "The upgrade is being aborted", body = MinerSectorNumber,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem),
        (status = 409, description = "The sector is not being upgraded", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[delete("/upgrade")]
pub async fn delete_miner_sector_upgrade(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
) -> Result<HttpResponse, ApiError> {
    let head = sector_head(&state, &auth.caller, n, false).await?;
    if !UPGRADE_STATES.contains(&head.state.as_str()) {
        return Err(ApiError::new(
            Code::Conflict,
            format!(
                "sector {n} is in state {}: it is not being upgraded",
                head.state
            ),
        ));
    }
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.SectorAbortUpgrade", json!([n]))
        .await
        .map_err(|e| not_found_sector(e, n))?;
    Ok(accepted(
        Some(&sector_location(n)),
        &MinerSectorNumber { sector_id: n },
    ))
}

/// Start sealing a sector now.
///
/// Starts sealing a sector that waits for deals (`WaitDeals` or `Empty`) without waiting longer
/// (`Filecoin.SectorStartSealing`). Answers 202; follow the sector at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorStartSealing", "Filecoin.SectorsStatus"]))),
    params(SectorPath),
    responses(
        (status = 202, description = "The sector is sealing", body = MinerSectorNumber,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem),
        (status = 409, description = "The sector is not waiting for deals", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["write"]))
)]
#[post("/start-sealing")]
pub async fn start_miner_sector_sealing(
    auth: MinerAuthorized<Write>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
) -> Result<HttpResponse, ApiError> {
    let head = sector_head(&state, &auth.caller, n, false).await?;
    const FROM: &[&str] = &["WaitDeals", "Empty"];
    if !FROM.contains(&head.state.as_str()) {
        return Err(state_conflict(n, &head.state, "starting to seal", FROM));
    }
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.SectorStartSealing", json!([n]))
        .await
        .map_err(|e| not_found_sector(e, n))?;
    Ok(accepted(
        Some(&sector_location(n)),
        &MinerSectorNumber { sector_id: n },
    ))
}

/// Unseal a sector.
///
/// Starts making an unsealed copy of the whole sector (`Filecoin.SectorUnseal`); the miner does it in the
/// background. Answers 202.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorUnseal", "Filecoin.SectorsStatus"]))),
    params(SectorPath),
    responses(
        (status = 202, description = "The miner is unsealing the sector", body = MinerSectorNumber,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/unseal")]
pub async fn unseal_miner_sector(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
) -> Result<HttpResponse, ApiError> {
    act_on_sector(&state, &auth.caller, n, "Filecoin.SectorUnseal").await
}

/// Unseal a piece of a sector.
///
/// Unseals `Size` bytes at `Offset` of the sector into its unsealed copy and returns when done
/// (`Filecoin.SectorsUnsealPiece`). The sector's proof type, ticket and CommD come from its status
/// (`Filecoin.SectorsStatus`) and the miner's ID from `Filecoin.ActorAddress`, unless the body gives them.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorsUnsealPiece", "Filecoin.SectorsStatus", "Filecoin.ActorAddress"]))),
    params(SectorPath),
    request_body = MinerUnsealPiece,
    responses(
        (status = 204, description = "The piece is unsealed"),
        (status = 400, description = "A bad size, offset, randomness or CID", body = crate::error::Problem),
        (status = 404, description = "The miner has no such sector", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/pieces/unseal")]
pub async fn unseal_miner_sector_piece(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number: n }: SectorPath,
    body: Body<MinerUnsealPiece>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let size = unpadded_piece_size("Size", req.size)?;
    if let Some(r) = &req.randomness {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(r)
            .map_err(|e| field_error("Randomness", format!("invalid base64: {e}")))?;
        if bytes.len() != 32 {
            return Err(field_error(
                "Randomness",
                format!("expected 32 bytes of randomness, got {}", bytes.len()),
            ));
        }
    }
    if let Some(c) = &req.comm_d {
        crate::lotus::address::parse_cid(&c.root).map_err(|e| field_error("CommD./", e))?;
    }
    let head = sector_head(&state, &auth.caller, n, false).await?;
    let actor: String = state
        .miner
        .call(&auth.caller, "Filecoin.ActorAddress", json!([]))
        .await?;
    let miner_id = actor
        .get(2..)
        .and_then(|id| id.parse::<u64>().ok())
        .filter(|_| actor.get(1..2) == Some("0"))
        .ok_or_else(|| {
            ApiError::new(
                Code::UpstreamBadResponse,
                format!("the Lotus miner's actor address {actor} is not an ID address"),
            )
        })?;
    let randomness = match req.randomness {
        Some(r) => json!(r),
        None => head
            .ticket
            .as_ref()
            .and_then(|t| t.get("Value").cloned())
            .unwrap_or(Value::Null),
    };
    let comm_d = req.comm_d.or(head.comm_d);
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.SectorsUnsealPiece",
            json!([
                {"ID": {"Miner": miner_id, "Number": n}, "ProofType": head.seal_proof},
                req.offset,
                size,
                randomness,
                comm_d,
            ]),
        )
        .await
        .map_err(|e| not_found_sector(e, n))?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------------------------
// Batches

/// A batch of sector messages the miner queues: pre-commits, commits or terminations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    PreCommit,
    Commit,
    Terminate,
}

impl Batch {
    /// The method listing the batch's queued sectors.
    pub fn pending(self) -> &'static str {
        match self {
            Batch::PreCommit => "Filecoin.SectorPreCommitPending",
            Batch::Commit => "Filecoin.SectorCommitPending",
            Batch::Terminate => "Filecoin.SectorTerminatePending",
        }
    }

    /// The method sending the batch now.
    pub fn flush(self) -> &'static str {
        match self {
            Batch::PreCommit => "Filecoin.SectorPreCommitFlush",
            Batch::Commit => "Filecoin.SectorCommitFlush",
            Batch::Terminate => "Filecoin.SectorTerminateFlush",
        }
    }
}

/// The sectors waiting in a batch.
///
/// The sectors queued for the next pre-commit (`Filecoin.SectorPreCommitPending`), commit
/// (`Filecoin.SectorCommitPending`) or termination (`Filecoin.SectorTerminatePending`) message.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.SectorPreCommitPending", "Filecoin.SectorCommitPending", "Filecoin.SectorTerminatePending"])),
        ("x-lotus-serves" = json!(["Filecoin.SectorPreCommitPending", "Filecoin.SectorCommitPending", "Filecoin.SectorTerminatePending"]))
    ),
    params(BatchPath),
    responses(
        (status = 200, description = "The queued sectors", body = Vec<MinerSectorId>),
        (status = 400, description = "An unknown kind", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[get("")]
pub async fn list_miner_batch_sectors(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    BatchPath { kind }: BatchPath,
) -> Result<HttpResponse, ApiError> {
    let sectors: Option<Vec<MinerSectorId>> = state
        .miner
        .call(&auth.caller, kind.pending(), json!([]))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(sectors.unwrap_or_default()))
}

/// Send a batch now.
///
/// Sends the queued pre-commit (`Filecoin.SectorPreCommitFlush`), commit (`Filecoin.SectorCommitFlush`) or
/// termination (`Filecoin.SectorTerminateFlush`, whose queue is read first with `Filecoin.SectorTerminatePending`)
/// messages without waiting for the batch to fill. Answers the messages sent, none when the queue was empty.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.SectorPreCommitFlush", "Filecoin.SectorCommitFlush", "Filecoin.SectorTerminateFlush", "Filecoin.SectorTerminatePending"])),
        ("x-lotus-serves" = json!(["Filecoin.SectorPreCommitFlush", "Filecoin.SectorCommitFlush", "Filecoin.SectorTerminateFlush"]))
    ),
    params(BatchPath),
    responses(
        (status = 200, description = "The messages sent", body = Vec<MinerBatchResult>),
        (status = 400, description = "An unknown kind", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/flush")]
pub async fn flush_miner_batch(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    BatchPath { kind }: BatchPath,
) -> Result<HttpResponse, ApiError> {
    let (pending, flush) = (kind.pending(), kind.flush());
    let results: Vec<MinerBatchResult> = if kind == Batch::Terminate {
        let queued: Option<Vec<MinerSectorId>> =
            state.miner.call(&auth.caller, pending, json!([])).await?;
        let msg: Option<Cid> = state.miner.call(&auth.caller, flush, json!([])).await?;
        match msg {
            None => vec![],
            Some(msg) => vec![MinerBatchResult {
                sectors: queued
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| s.number)
                    .collect(),
                failed_sectors: None,
                msg: Some(msg),
                error: String::new(),
            }],
        }
    } else {
        let results: Option<Vec<MinerBatchResult>> =
            state.miner.call(&auth.caller, flush, json!([])).await?;
        results.unwrap_or_default()
    };
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(results))
}

// ---------------------------------------------------------------------------------------------------------------
// Sector numbers

/// The sector number assigner.
///
/// Which sector numbers are reserved, allocated and in use, and the next one a new sector gets
/// (`Filecoin.SectorNumAssignerMeta`).
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorNumAssignerMeta"]))),
    responses((status = 200, description = "The assigner's state", body = MinerSectorNumbers)),
    security(("lotus_token" = ["read"]))
)]
#[get("/sector-numbers")]
pub async fn get_miner_sector_numbers(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .miner
        .call_raw(&auth.caller, "Filecoin.SectorNumAssignerMeta", json!([]))
        .await?;
    Ok(crate::routes::lotus_json_uncached(&raw))
}

async fn reservations(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<MinerSectorNumberReservation>, ApiError> {
    let map: Option<BTreeMap<String, BitField>> = state
        .miner
        .call(caller, "Filecoin.SectorNumReservations", json!([]))
        .await?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(name, sectors)| {
            let count = sectors.0.iter().skip(1).step_by(2).sum();
            MinerSectorNumberReservation {
                name,
                sectors,
                count,
            }
        })
        .collect())
}

pub(crate) fn reservation_name(name: &str, field: Option<&str>) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        return Ok(());
    }
    let what =
        format!("invalid reservation name \"{name}\": expected letters, digits, '_' and '-' only");
    Err(match field {
        Some(f) => field_error(f, what),
        None => ApiError::invalid_parameter(format!("{what} (parameter name)")),
    })
}

/// Named sector number reservations.
///
/// The miner's named reservations of sector numbers, by name (`Filecoin.SectorNumReservations`).
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorNumReservations"]))),
    responses((status = 200, description = "The reservations", body = Vec<MinerSectorNumberReservation>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/sector-numbers/reservations")]
pub async fn list_miner_sector_number_reservations(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list = reservations(&state, &auth.caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(list))
}

/// A named sector number reservation.
///
/// One reservation of sector numbers (`Filecoin.SectorNumReservations`).
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorNumReservations"]))),
    params(ReservationPath),
    responses(
        (status = 200, description = "The reservation", body = MinerSectorNumberReservation),
        (status = 400, description = "A bad name", body = crate::error::Problem),
        (status = 404, description = "No reservation has this name", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_miner_sector_number_reservation(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    ReservationPath { name }: ReservationPath,
) -> Result<HttpResponse, ApiError> {
    let found = reservations(&state, &auth.caller)
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| no_reservation(&name))?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(found))
}

fn no_reservation(name: &str) -> ApiError {
    ApiError::new(
        Code::NotFound,
        format!("the miner has no sector number reservation named \"{name}\""),
    )
}

/// Reserve sector numbers.
///
/// Reserves `Count` free sector numbers, the lowest available (`Filecoin.SectorNumReserveCount`), or the listed
/// `Sectors` (`Filecoin.SectorNumReserve`; `Force` overrides the collision checks), under a new name; reserved
/// numbers are never given to new sectors. Answers 201 with the reservation; it is at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.SectorNumReserveCount", "Filecoin.SectorNumReserve", "Filecoin.SectorNumReservations"])),
        ("x-lotus-serves" = json!(["Filecoin.SectorNumReserveCount", "Filecoin.SectorNumReserve"]))
    ),
    request_body = MinerReservationRequest,
    responses(
        (status = 201, description = "The reservation", body = MinerSectorNumberReservation,
            headers(("Location" = String, description = "The reservation: /v1/miner/sector-numbers/reservations/{name}"))),
        (status = 400, description = "A bad name, or not exactly one of Count and Sectors", body = crate::error::Problem),
        (status = 409, description = "The name is taken, or the numbers collide with a reservation or allocated numbers", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/sector-numbers/reservations")]
pub async fn create_miner_sector_number_reservation(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerReservationRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    reservation_name(&req.name, Some("Name"))?;
    enum Ask {
        Count(u64),
        Sectors(Vec<u64>, bool),
    }
    let ask = match (req.count, req.sectors) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::new(
                Code::InvalidBody,
                "invalid request body: give exactly one of \"Count\" (how many numbers) and \"Sectors\" (which numbers)",
            ))
        }
        (Some(c), None) => {
            if req.force.is_some() {
                return Err(field_error(
                    "Force",
                    "only with \"Sectors\": a count reserves free numbers, which never collide",
                ));
            }
            if c == 0 || c as usize > MAX_SECTORS_PER_REQUEST {
                return Err(field_error(
                    "Count",
                    format!("invalid count {c}: expected 1 to {MAX_SECTORS_PER_REQUEST}"),
                ));
            }
            Ask::Count(c)
        }
        (None, Some(s)) => Ask::Sectors(
            distinct_sectors("Sectors", &s)?,
            req.force.unwrap_or(false),
        ),
    };
    let force = matches!(ask, Ask::Sectors(_, true));
    if !force
        && reservations(&state, &auth.caller)
            .await?
            .iter()
            .any(|r| r.name == req.name)
    {
        return Err(ApiError::new(
            Code::Conflict,
            format!(
                "a sector number reservation named \"{}\" exists already; free it first, or choose another name",
                req.name
            ),
        ));
    }
    let conflicts = &[
        ("already exists", Code::Conflict),
        ("colliding", Code::Conflict),
    ];
    let sectors = match ask {
        Ask::Count(c) => state
            .miner
            .call::<BitField, _>(
                &auth.caller,
                "Filecoin.SectorNumReserveCount",
                json!([req.name, c]),
            )
            .await
            .map_err(|e| remap(e, conflicts))?,
        Ask::Sectors(list, force) => {
            let bits = BitField::from_numbers(&list);
            state
                .miner
                .call_raw(
                    &auth.caller,
                    "Filecoin.SectorNumReserve",
                    json!([req.name, bits, force]),
                )
                .await
                .map_err(|e| remap(e, conflicts))?;
            bits
        }
    };
    let count = sectors.0.iter().skip(1).step_by(2).sum();
    let out = MinerSectorNumberReservation {
        name: req.name,
        sectors,
        count,
    };
    Ok(created(
        &format!("/v1/miner/sector-numbers/reservations/{}", out.name),
        &out,
    ))
}

/// Free a sector number reservation.
///
/// Deletes the named reservation; its numbers become available again (`Filecoin.SectorNumFree`, after
/// `Filecoin.SectorNumReservations` to answer 404 for an unknown name).
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorNumFree", "Filecoin.SectorNumReservations"]))),
    params(ReservationPath),
    responses(
        (status = 204, description = "Freed"),
        (status = 400, description = "A bad name", body = crate::error::Problem),
        (status = 404, description = "No reservation has this name", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_miner_sector_number_reservation(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    ReservationPath { name }: ReservationPath,
) -> Result<HttpResponse, ApiError> {
    if !reservations(&state, &auth.caller)
        .await?
        .iter()
        .any(|r| r.name == name)
    {
        return Err(no_reservation(&name));
    }
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.SectorNumFree", json!([name]))
        .await
        .map_err(|e| {
            let gone = e
                .rpc
                .as_ref()
                .is_some_and(|r| r.message.contains("doesn't exist"));
            if gone {
                no_reservation(&name)
            } else {
                e
            }
        })?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------------------------
// Pieces

/// Add a deal's piece to a sector.
///
/// Writes the piece into an open sector with room, opening a new one if needed (`Filecoin.SectorAddPieceToAny`).
/// `Data` is Lotus's reader encoding: `{"Type": "null", "Info": "<Size>"}` for zeros, or `{"Type": "http", "Info":
/// "<URL>"}` for data the miner fetches. Answers 201 with the sector and offset; the sector is at `Location`.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorAddPieceToAny"]))),
    request_body = MinerAddPiece,
    responses(
        (status = 201, description = "Where the piece went", body = MinerSectorOffset,
            headers(("Location" = String, description = "The sector: /v1/miner/sectors/{number}"))),
        (status = 400, description = "A bad size, data source or deal", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/pieces")]
pub async fn add_miner_piece(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerAddPiece>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let size = unpadded_piece_size("Size", req.size)?;
    match req.data.r#type.as_str() {
        "null" => {
            let n = req.data.info.trim().parse::<u64>().map_err(|_| {
                field_error(
                    "Data.Info",
                    format!(
                        "invalid byte count \"{}\": a null reader's Info is its length in bytes",
                        req.data.info
                    ),
                )
            })?;
            if n != size {
                return Err(field_error(
                    "Data.Info",
                    format!("{n} bytes of zeros for a piece of {size} bytes: they must be equal"),
                ));
            }
        }
        "http" => {
            let url = url::Url::parse(req.data.info.trim()).map_err(|e| {
                field_error("Data.Info", format!("invalid URL \"{}\": {e}", req.data.info))
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(field_error(
                    "Data.Info",
                    format!("invalid URL \"{url}\": expected an http or https URL"),
                ));
            }
        }
        "push" => {
            return Err(field_error(
                "Data.Type",
                "push streams need a client of the miner's own: give the data as {\"Type\": \"http\", \"Info\": \"<URL>\"}",
            ))
        }
        other => {
            return Err(field_error(
                "Data.Type",
                format!("unknown data type \"{other}\": expected null or http"),
            ))
        }
    }
    if !req.deal.is_object() {
        return Err(field_error(
            "Deal",
            "expected an object (piece.PieceDealInfo)",
        ));
    }
    let out: MinerSectorOffset = state
        .miner
        .call(
            &auth.caller,
            "Filecoin.SectorAddPieceToAny",
            json!([size, req.data, req.deal]),
        )
        .await?;
    Ok(created(&sector_location(out.sector), &out))
}

/// Match pending pieces to open sectors.
///
/// Asks the miner to place the pieces waiting for a sector into open sectors now
/// (`Filecoin.SectorMatchPendingPiecesToOpenSectors`). Answers 202.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorMatchPendingPiecesToOpenSectors"]))),
    responses((status = 202, description = "The miner is matching")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/pieces/matches")]
pub async fn match_miner_pending_pieces(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.SectorMatchPendingPiecesToOpenSectors",
            json!([]),
        )
        .await?;
    Ok(accepted_empty())
}

// ---------------------------------------------------------------------------------------------------------------
// Sealing settings

/// The seal delay.
///
/// How long a sector waits for more deals before it is sealed (`Filecoin.SectorGetSealDelay`), as Go's duration
/// text (`1h0m0s`) and in nanoseconds.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorGetSealDelay"]))),
    responses((status = 200, description = "The delay", body = MinerDuration)),
    security(("lotus_token" = ["read"]))
)]
#[get("/sealing/seal-delay")]
pub async fn get_miner_seal_delay(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    read_duration(&state, &auth.caller, "Filecoin.SectorGetSealDelay").await
}

/// Set the seal delay.
///
/// Sets how long a sector waits for more deals before it is sealed (`Filecoin.SectorSetSealDelay`), then reads it
/// back (`Filecoin.SectorGetSealDelay`). `Duration` is Go's duration text (`90m`, `1h30m`) or nanoseconds.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorSetSealDelay", "Filecoin.SectorGetSealDelay"]))),
    request_body = MinerDurationSetting,
    responses(
        (status = 200, description = "The new delay", body = MinerDuration),
        (status = 400, description = "A bad duration", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["write"]))
)]
#[put("/sealing/seal-delay")]
pub async fn put_miner_seal_delay(
    auth: MinerAuthorized<Write>,
    state: web::Data<AppState>,
    body: Body<MinerDurationSetting>,
) -> Result<HttpResponse, ApiError> {
    let ns = duration_field(&body.duration)?;
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.SectorSetSealDelay", json!([ns]))
        .await?;
    read_duration(&state, &auth.caller, "Filecoin.SectorGetSealDelay").await
}

/// The expected seal duration.
///
/// How long the miner expects sealing a sector to take, which it uses to plan deal start epochs
/// (`Filecoin.SectorGetExpectedSealDuration`), as Go's duration text and in nanoseconds.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorGetExpectedSealDuration"]))),
    responses((status = 200, description = "The duration", body = MinerDuration)),
    security(("lotus_token" = ["read"]))
)]
#[get("/sealing/expected-seal-duration")]
pub async fn get_miner_expected_seal_duration(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    read_duration(
        &state,
        &auth.caller,
        "Filecoin.SectorGetExpectedSealDuration",
    )
    .await
}

/// Set the expected seal duration.
///
/// Sets how long the miner expects sealing to take (`Filecoin.SectorSetExpectedSealDuration`), then reads it back
/// (`Filecoin.SectorGetExpectedSealDuration`). `Duration` is Go's duration text (`24h`, `1h30m`) or nanoseconds.
#[utoipa::path(
    tag = "Miner sectors",
    extensions(("x-lotus-methods" = json!(["Filecoin.SectorSetExpectedSealDuration", "Filecoin.SectorGetExpectedSealDuration"]))),
    request_body = MinerDurationSetting,
    responses(
        (status = 200, description = "The new duration", body = MinerDuration),
        (status = 400, description = "A bad duration", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["write"]))
)]
#[put("/sealing/expected-seal-duration")]
pub async fn put_miner_expected_seal_duration(
    auth: MinerAuthorized<Write>,
    state: web::Data<AppState>,
    body: Body<MinerDurationSetting>,
) -> Result<HttpResponse, ApiError> {
    let ns = duration_field(&body.duration)?;
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.SectorSetExpectedSealDuration",
            json!([ns]),
        )
        .await?;
    read_duration(
        &state,
        &auth.caller,
        "Filecoin.SectorGetExpectedSealDuration",
    )
    .await
}

/// Registers the miner's sectors routes. The fixed paths under `/miner/sectors/` come before
/// `/miner/sectors/{number}`.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_miner_managed_sectors)
        .service(get_miner_sectors_summary)
        .service(list_miner_sector_refs)
        .service(pledge_miner_sector)
        .service(declare_miner_sector_recoveries)
        .service(receive_miner_sector)
        .scope("/sectors/{number}", &|cfg| {
            cfg.service(get_miner_managed_sector)
                .service(delete_miner_sector)
                .service(terminate_miner_sector)
                .service(put_miner_sector_state)
                .service(mark_miner_sector_for_upgrade)
                .service(delete_miner_sector_upgrade)
                .service(start_miner_sector_sealing)
                .service(unseal_miner_sector)
                .service(unseal_miner_sector_piece);
        })
        .scope("/batches/{kind}", &|cfg| {
            cfg.service(list_miner_batch_sectors)
                .service(flush_miner_batch);
        })
        .service(get_miner_sector_numbers)
        .service(list_miner_sector_number_reservations)
        .service(create_miner_sector_number_reservation)
        .scope("/sector-numbers/reservations/{name}", &|cfg| {
            cfg.service(get_miner_sector_number_reservation)
                .service(delete_miner_sector_number_reservation);
        })
        .service(add_miner_piece)
        .service(match_miner_pending_pieces)
        .service(get_miner_seal_delay)
        .service(put_miner_seal_delay)
        .service(get_miner_expected_seal_duration)
        .service(put_miner_expected_seal_duration);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::miner::sector_number;

    #[test]
    fn durations_read_and_print_like_go() {
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("1.5h").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("90m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("300ms").unwrap(), 300_000_000);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("60000000000").unwrap(), 60_000_000_000);
        for bad in ["", "h", "1x", "-1h", "1h-5m", "1..5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(5_400_000_000_000), "1h30m0s");
        assert_eq!(format_duration(60_000_000_000), "1m0s");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(300_000_000), "300ms");
        assert_eq!(format_duration(1_500), "1.5µs");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(86_400_000_000_000), "24h0m0s");
    }

    #[test]
    fn keyset_pages_cover_each_entry_once() {
        let entries: Vec<(u64, u64)> = (0..25).map(|n| (n * 2, n * 2)).collect();
        let print = 7;
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = Page {
                limit: Some("10".into()),
                cursor: cursor.clone(),
            };
            let (items, next, total) = keyset_page(entries.clone(), &page, print).unwrap();
            assert_eq!(total, 25);
            seen.extend(items);
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, (0..25).map(|n| n * 2).collect::<Vec<_>>());
        let other = encode_after(&3u64, 8);
        assert!(decode_after::<u64>(&other, print).is_err());
        assert!(decode_after::<u64>("!!", print).is_err());
    }

    #[test]
    fn piece_sizes_and_numbers_are_checked() {
        for ok in [127, 254, 1016, 2032, 34_091_302_912] {
            assert!(unpadded_piece_size("Size", ok).is_ok(), "{ok}");
        }
        for bad in [0, 126, 128, 381, 1024] {
            assert!(unpadded_piece_size("Size", bad).is_err(), "{bad}");
        }
        assert_eq!(sector_number("number", "42").unwrap(), 42);
        for bad in ["", "-1", "+1", "x", "1.5", "99999999999999999999"] {
            assert!(sector_number("number", bad).is_err(), "{bad}");
        }
    }
}
