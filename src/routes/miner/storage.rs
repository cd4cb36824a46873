//! The miner's storage: its storage paths (local and attached), where sector files are, where new ones would go,
//! and the locks on sector files.

use super::{remap, sector_number, MinerSectorId};
use std::collections::BTreeMap;

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Caller, MinerAuthorized, Read};
use crate::error::{ApiError, Code};
use crate::routes::body::Body;
use crate::routes::extract::{SectorLocationPath, SectorPath, StorageIdPath};
use crate::routes::messages::field_error;
use crate::routes::page::{decode_after, encode_after, list_fingerprint, Page};
use crate::routes::{accepted_empty, created, lotus_json_uncached, no_content};
use crate::state::AppState;

// ---------------------------------------------------------------------------------------------------------------
// Shared checks

/// Sector file types by name, in the bit order of Lotus's `storiface.SectorFileType`.
pub const FILE_TYPES: [(&str, u64); 6] = [
    ("unsealed", 1),
    ("sealed", 2),
    ("cache", 4),
    ("update", 8),
    ("update-cache", 16),
    ("piece", 32),
];

/// Every file type at once.
const ALL_TYPES: u64 = 63;

/// A kind of sector file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MinerSectorFileType {
    /// The unsealed copy of the sector's data.
    Unsealed,
    /// The sealed replica.
    Sealed,
    /// The sealing cache (tree files, `p_aux`, `t_aux`).
    Cache,
    /// The replica of a snap-deals update.
    Update,
    /// The cache of a snap-deals update.
    UpdateCache,
    /// A piece parked before sealing.
    Piece,
}

impl MinerSectorFileType {
    /// Its bit in Lotus's `SectorFileType`.
    pub fn bit(self) -> u64 {
        1 << (self as u64)
    }
}

/// The bitmask of a list of file types.
fn mask_of(types: &[MinerSectorFileType]) -> u64 {
    types.iter().fold(0, |m, t| m | t.bit())
}

/// The names of the file types in a bitmask, in Lotus's order.
pub fn type_names(mask: u64) -> Vec<&'static str> {
    FILE_TYPES
        .iter()
        .filter(|(_, bit)| mask & bit != 0)
        .map(|(name, _)| *name)
        .collect()
}

fn expected_types() -> String {
    FILE_TYPES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses comma-separated file type names given in the query into Lotus's bitmask.
pub fn file_types_param(name: &str, value: &str) -> Result<u64, ApiError> {
    let mut mask = 0;
    for part in value.split(',') {
        let t = part.trim();
        let bit = FILE_TYPES
            .iter()
            .find(|(n, _)| *n == t)
            .map(|(_, b)| *b)
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "invalid {name} \"{value}\": unknown sector file type \"{t}\"; expected a comma-separated list of: {}",
                    expected_types()
                ))
            })?;
        mask |= bit;
    }
    Ok(mask)
}

/// Checks a body field holding file types: at least one.
fn file_types_field(field: &str, types: &[MinerSectorFileType]) -> Result<u64, ApiError> {
    if types.is_empty() {
        return Err(field_error(
            field,
            format!("give at least one sector file type: {}", expected_types()),
        ));
    }
    Ok(mask_of(types))
}

fn is_uuid(value: &str) -> bool {
    value.len() == 36 && uuid::Uuid::try_parse(value).is_ok()
}

/// Checks a UUID given in the path or query (storage path IDs, worker IDs, call IDs).
pub fn uuid_param(name: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if is_uuid(v) {
        Ok(v.to_owned())
    } else {
        Err(ApiError::invalid_parameter(format!(
            "invalid {name} \"{value}\": expected a UUID such as 76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8"
        )))
    }
}

/// Checks a UUID given in a body field.
fn uuid_field(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if is_uuid(v) {
        Ok(v.to_owned())
    } else {
        Err(field_error(
            field,
            format!("\"{value}\" is not a UUID such as 76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8"),
        ))
    }
}

/// An optional boolean query parameter.
pub fn flag(name: &str, value: &Option<String>) -> Result<bool, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::invalid_parameter(format!(
            "invalid {name} \"{other}\": expected true or false"
        ))),
    }
}

/// The sector sizes of Filecoin's proofs.
const SECTOR_SIZES: [u64; 5] = [2048, 8 << 20, 512 << 20, 32 << 30, 64 << 30];

fn sector_size_param(name: &str, value: &str) -> Result<u64, ApiError> {
    let v = value.trim();
    v.parse::<u64>()
        .ok()
        .filter(|s| SECTOR_SIZES.contains(s) && v.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "invalid {name} \"{value}\": expected a sector size in bytes: 2048, 8388608, 536870912, 34359738368 or 68719476736"
            ))
        })
}

/// The miner's actor ID (`Filecoin.ActorAddress`), which sector IDs carry.
pub async fn miner_actor_id(state: &AppState, caller: &Caller) -> Result<u64, ApiError> {
    let address: String = state
        .miner
        .call(caller, "Filecoin.ActorAddress", json!([]))
        .await?;
    address
        .get(1..)
        .filter(|rest| rest.starts_with('0'))
        .and_then(|rest| rest[1..].parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                Code::UpstreamBadResponse,
                format!("the miner's actor address \"{address}\" is not an ID address"),
            )
        })
}

/// The sector size of the miner (`Filecoin.ActorSectorSize`).
async fn miner_sector_size(state: &AppState, caller: &Caller) -> Result<u64, ApiError> {
    let address: String = state
        .miner
        .call(caller, "Filecoin.ActorAddress", json!([]))
        .await?;
    state
        .miner
        .call(caller, "Filecoin.ActorSectorSize", json!([address]))
        .await
}

// ---------------------------------------------------------------------------------------------------------------
// Pages of lists the miner returns whole, ordered by a key

/// The part of a sorted list of keys that a page covers.
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub next_cursor: Option<String>,
}

/// Selects the page of `keys` (sorted ascending) that `page` asks for. The cursor names the last key given, so a
/// page stays right when entries come or go between requests; `method` and `identity` bind it to its list.
pub fn window(
    keys: &[String],
    page: &Page,
    method: &str,
    identity: &Value,
) -> Result<Window, ApiError> {
    let limit = page.limit()?;
    let print = list_fingerprint(method, identity);
    let start = match &page.cursor {
        None => 0,
        Some(text) => {
            let after: String = decode_after(text, print)?;
            keys.partition_point(|k| k.as_str() <= after.as_str())
        }
    };
    let end = (start + limit).min(keys.len());
    let next_cursor = (end < keys.len()).then(|| encode_after(&keys[end - 1], print));
    Ok(Window {
        start,
        end,
        next_cursor,
    })
}

/// A 200 with a value of the gateway's own, read from the miner now: never cached.
pub fn no_store<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// A page of a list as the routes answer it.
#[derive(Serialize)]
pub struct PageOut {
    pub items: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// A page of a miner list, never cached.
pub fn page_response(items: Vec<Value>, window: Window, total: usize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(PageOut {
            items,
            next_cursor: window.next_cursor,
            total,
        })
}

// ---------------------------------------------------------------------------------------------------------------
// Schemas

/// A storage path as the miner's sector index knows it (`storiface.StorageInfo`).
///
/// The answers that join more to it (usage, declared sectors) carry its fields beside theirs, so its schema does not
/// forbid other fields; a request body that gives a field it does not have is still refused.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"ID": "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8", "URLs": ["http://10.0.0.5:3456/remote"],
    "Weight": 10, "MaxStorage": 0, "CanSeal": false, "CanStore": true, "Groups": ["store"], "AllowTo": null,
    "AllowTypes": null, "DenyTypes": ["unsealed"], "AllowMiners": null, "DenyMiners": null}))]
pub struct MinerStorageInfo {
    /// The path's ID (the UUID in its `sectorstore.json`).
    #[serde(rename = "ID")]
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        example = "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8"
    )]
    pub id: String,
    /// Where the path's files are served: the `/remote` endpoint of the miner or worker holding it.
    #[serde(rename = "URLs")]
    #[schema(example = json!(["http://10.0.0.5:3456/remote"]))]
    pub urls: Vec<String>,
    /// Its preference when sector files are placed: higher is preferred.
    #[schema(example = 10)]
    pub weight: u64,
    /// The most bytes the path may hold; 0 for no limit.
    #[serde(default)]
    #[schema(example = 0)]
    pub max_storage: u64,
    /// Whether sealing scratch files may go there.
    #[schema(example = false)]
    pub can_seal: bool,
    /// Whether finished sectors may be stored there.
    #[schema(example = true)]
    pub can_store: bool,
    /// Groups the path belongs to.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// The groups whose sealing files may move here; none for any.
    #[serde(default)]
    pub allow_to: Option<Vec<String>>,
    /// The only file types the path takes; none for all.
    #[serde(default)]
    pub allow_types: Option<Vec<MinerSectorFileType>>,
    /// File types the path refuses.
    #[serde(default)]
    pub deny_types: Option<Vec<MinerSectorFileType>>,
    /// The only miners whose sectors the path takes; none for all.
    #[serde(default)]
    #[schema(example = json!(["f01000"]))]
    pub allow_miners: Option<Vec<String>>,
    /// Miners whose sectors the path refuses.
    #[serde(default)]
    pub deny_miners: Option<Vec<String>>,
    /// Fields of a newer Lotus, passed on as they are; in a request, any other field is refused.
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: BTreeMap<String, Value>,
}

/// A filesystem's usage (`fsutil.FsStat`), in bytes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"Capacity": 8796093022208u64, "Available": 7696581394432u64,
    "FSAvailable": 7696581394432u64, "Reserved": 0, "Max": 0, "Used": 1099511627776u64}))]
pub struct MinerFsStat {
    /// The filesystem's size.
    #[serde(rename = "Capacity")]
    pub capacity: u64,
    /// What is free for new sector files: free space less what is reserved, within `Max`.
    #[serde(rename = "Available")]
    pub available: u64,
    /// What the filesystem reports free.
    #[serde(rename = "FSAvailable")]
    pub fs_available: u64,
    /// Space reserved for files being written.
    #[serde(rename = "Reserved")]
    pub reserved: u64,
    /// The path's `MaxStorage`; 0 for none.
    #[serde(rename = "Max")]
    pub max: u64,
    /// What the path's sector files use.
    #[serde(rename = "Used")]
    pub used: u64,
}

/// A storage path with what the miner declares on it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerStoragePathSummary {
    #[serde(flatten)]
    pub info: MinerStorageInfo,
    /// Where the path is on the miner's own filesystem; absent for a path of a worker or another host.
    #[schema(example = "/var/lib/lotus-miner/store1")]
    pub local_path: Option<String>,
    /// How many sectors have files declared on the path.
    #[schema(example = 30)]
    pub sector_count: u64,
    /// How many sectors have each file type on the path.
    #[schema(example = json!({"sealed": 30, "cache": 30, "unsealed": 10}))]
    pub file_counts: BTreeMap<String, u64>,
}

/// A page of storage paths.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinerStoragePathPage {
    pub items: Vec<MinerStoragePathSummary>,
    /// The cursor of the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many paths there are.
    #[schema(example = 4)]
    pub total: usize,
}

/// A storage path and its usage.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerStoragePath {
    #[serde(flatten)]
    pub info: MinerStorageInfo,
    /// Its filesystem's usage, when it could be read.
    pub stat: Option<MinerFsStat>,
    /// Why its usage could not be read (an unreachable host, a failing disk).
    #[schema(example = "fetching remote stat: input/output error")]
    pub stat_error: Option<String>,
}

/// A path to attach to the sector index, as a worker or another host announces its own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MinerAttachPath {
    pub info: MinerStorageInfo,
    /// The path's usage now.
    pub stat: MinerFsStat,
}

/// A health report of a path.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Stat": {"Capacity": 8796093022208u64, "Available": 6597069766656u64,
    "FSAvailable": 6597069766656u64, "Reserved": 0, "Max": 0, "Used": 2199023255552u64}, "Err": ""}))]
pub struct MinerHealthReport {
    /// The usage measured.
    pub stat: MinerFsStat,
    /// What failed; empty or absent when the path is healthy. A path with an error is left out of allocations.
    #[serde(default)]
    #[schema(example = "")]
    pub err: Option<String>,
}

/// A path on the miner's own filesystem.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerLocalPath {
    #[serde(rename = "ID")]
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        example = "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8"
    )]
    pub id: String,
    #[schema(example = "/var/lib/lotus-miner/store1")]
    pub path: String,
}

/// A directory to add as a local path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Path": "/mnt/store2"}))]
pub struct MinerNewLocalPath {
    /// An absolute directory (or one under `~`) holding a `sectorstore.json`.
    pub path: String,
}

/// Which local paths to scan again.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"ID": "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8", "DropMissing": true}))]
pub struct MinerRedeclare {
    /// Only this local path; absent for all of them.
    #[serde(rename = "ID", default)]
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub id: Option<String>,
    /// Whether sector files declared on the paths but not found there are dropped from the index.
    #[serde(default)]
    pub drop_missing: bool,
}

/// A path where a sector's files are (`storiface.SectorStorageInfo`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSectorLocation {
    #[serde(rename = "ID")]
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        example = "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8"
    )]
    pub id: String,
    /// The files' URLs.
    #[serde(rename = "URLs")]
    #[schema(example = json!(["http://10.0.0.5:3456/remote/sealed/s-t01000-9"]))]
    pub urls: Vec<String>,
    /// The path's URLs.
    #[serde(rename = "BaseURLs")]
    #[schema(example = json!(["http://10.0.0.5:3456/remote"]))]
    pub base_urls: Vec<String>,
    /// The path's weight times the number of file types found there; 0 for a path the files could be fetched to.
    pub weight: u64,
    pub can_seal: bool,
    pub can_store: bool,
    /// Whether this is the files' primary copy.
    pub primary: bool,
    pub allow_types: Option<Vec<String>>,
    pub deny_types: Option<Vec<String>>,
    pub allow_miners: Option<Vec<String>>,
    pub deny_miners: Option<Vec<String>>,
}

/// A declaration of sector files on a path.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"ID": "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8", "Types": ["sealed", "cache"], "Primary": true}))]
pub struct MinerSectorDeclaration {
    /// The storage path.
    #[serde(rename = "ID")]
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub id: String,
    /// The file types that are there.
    pub types: Vec<MinerSectorFileType>,
    /// Whether this is the primary copy.
    #[serde(default)]
    pub primary: bool,
}

/// A sector's files declared on a path, as listed by the index.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSectorDecl {
    #[schema(example = 1000)]
    pub miner: u64,
    #[schema(example = 9)]
    pub number: u64,
    /// Lotus's bitmask of the file types (1 unsealed, 2 sealed, 4 cache, 8 update, 16 update-cache, 32 piece).
    #[schema(example = 6)]
    pub sector_file_type: u64,
    /// The same, by name.
    #[schema(example = json!(["sealed", "cache"]))]
    pub types: Vec<MinerSectorFileType>,
}

/// A page of a path's sector declarations.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinerSectorDeclPage {
    pub items: Vec<MinerSectorDecl>,
    /// The cursor of the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many sectors the path has files of.
    pub total: usize,
}

/// The locks held on a sector's files (`storiface.SectorLock`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSectorLock {
    pub sector: MinerSectorId,
    /// Write locks per file type, in Lotus's order: unsealed, sealed, cache, update, update-cache, piece.
    #[schema(example = json!([0, 0, 1, 0, 0, 0]))]
    pub write: Vec<u64>,
    /// Read locks (their count) per file type, in the same order.
    #[schema(example = json!([1, 1, 0, 0, 0, 0]))]
    pub read: Vec<u64>,
    /// The file types write-locked, by name.
    #[schema(example = json!(["cache"]))]
    pub write_types: Vec<MinerSectorFileType>,
    /// The file types read-locked, by name.
    #[schema(example = json!(["unsealed", "sealed"]))]
    pub read_types: Vec<MinerSectorFileType>,
}

/// A lock to take on a sector's files.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Sector": 9, "Read": ["unsealed"], "Write": ["sealed", "cache"]}))]
pub struct MinerLockRequest {
    /// The sector number.
    pub sector: u64,
    /// File types to read-lock.
    #[serde(default)]
    pub read: Vec<MinerSectorFileType>,
    /// File types to write-lock.
    #[serde(default)]
    pub write: Vec<MinerSectorFileType>,
}

/// A lock that was taken.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerLockResult {
    pub sector: MinerSectorId,
    pub read: Vec<MinerSectorFileType>,
    pub write: Vec<MinerSectorFileType>,
    /// Always true: the lock was acquired (and released when the miner answered).
    #[schema(example = true)]
    pub acquired: bool,
}

/// A token to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIl19.c2lnbmF0dXJl"}))]
pub struct MinerTokenToVerify {
    /// The JWT.
    pub token: String,
}

/// What a token allows on the miner's storage.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerTokenVerification {
    /// Whether the miner accepts the token.
    #[schema(example = true)]
    pub valid: bool,
    /// The permissions it grants; empty for a token the miner refuses.
    #[schema(example = json!(["read", "write"]))]
    pub permissions: Vec<String>,
    /// Why the miner refuses the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// Body checks

fn check_fs_stat(field: &str, stat: &MinerFsStat) -> Result<(), ApiError> {
    if stat.available > stat.capacity {
        return Err(field_error(
            &format!("{field}.Available"),
            "cannot exceed Capacity",
        ));
    }
    Ok(())
}

fn check_storage_info(info: &MinerStorageInfo) -> Result<String, ApiError> {
    if let Some(field) = info.other.keys().next() {
        return Err(field_error(
            &format!("Info.{field}"),
            "unknown field: a storage path has ID, URLs, Weight, MaxStorage, CanSeal, CanStore, Groups, AllowTo, \
             AllowTypes, DenyTypes, AllowMiners and DenyMiners",
        ));
    }
    let id = uuid_field("Info.ID", &info.id)?;
    if info.urls.is_empty() {
        return Err(field_error(
            "Info.URLs",
            "give at least one URL where the path's files are served",
        ));
    }
    for (i, u) in info.urls.iter().enumerate() {
        let ok = url::Url::parse(u.trim())
            .is_ok_and(|p| ["http", "https"].contains(&p.scheme()) && p.host_str().is_some());
        if !ok {
            return Err(field_error(
                &format!("Info.URLs[{i}]"),
                format!("\"{u}\" is not an http(s) URL"),
            ));
        }
    }
    for (field, list) in [
        ("AllowMiners", &info.allow_miners),
        ("DenyMiners", &info.deny_miners),
    ] {
        for (i, m) in list.iter().flatten().enumerate() {
            crate::routes::send::address_field(&format!("Info.{field}[{i}]"), m)?;
        }
    }
    Ok(id)
}

fn lotus_storage_info(info: &MinerStorageInfo) -> Value {
    let names = |l: &Option<Vec<MinerSectorFileType>>| {
        l.as_ref()
            .map(|v| v.iter().map(|t| type_names(t.bit())[0]).collect::<Vec<_>>())
    };
    json!({
        "ID": info.id.trim(),
        "URLs": info.urls.iter().map(|u| u.trim()).collect::<Vec<_>>(),
        "Weight": info.weight,
        "MaxStorage": info.max_storage,
        "CanSeal": info.can_seal,
        "CanStore": info.can_store,
        "Groups": info.groups,
        "AllowTo": info.allow_to,
        "AllowTypes": names(&info.allow_types),
        "DenyTypes": names(&info.deny_types),
        "AllowMiners": info.allow_miners.as_ref().map(|v| v.iter().map(|m| m.trim()).collect::<Vec<_>>()),
        "DenyMiners": info.deny_miners.as_ref().map(|v| v.iter().map(|m| m.trim()).collect::<Vec<_>>()),
    })
}

/// The errors of the sector index about a path it does not have.
const UNKNOWN_PATH: &[(&str, Code)] = &[
    ("isn't registered", Code::NotFound),
    ("unknown storage", Code::NotFound),
    ("no local paths match", Code::NotFound),
    ("already opened", Code::Conflict),
];

async fn storage_info(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Map<String, Value>, ApiError> {
    state
        .miner
        .call(caller, "Filecoin.StorageInfo", json!([id]))
        .await
}

// ---------------------------------------------------------------------------------------------------------------
// Storage paths

/// A decl of `StorageList`.
#[derive(Deserialize)]
struct Decl {
    #[serde(rename = "Miner")]
    miner: u64,
    #[serde(rename = "Number")]
    number: u64,
    #[serde(rename = "SectorFileType")]
    types: u64,
}

async fn storage_list(
    state: &AppState,
    caller: &Caller,
) -> Result<BTreeMap<String, Vec<Decl>>, ApiError> {
    let list: Option<BTreeMap<String, Option<Vec<Decl>>>> = state
        .miner
        .call(caller, "Filecoin.StorageList", json!([]))
        .await?;
    Ok(list
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// The storage paths.
///
/// The paths of the miner's sector index, local ones and those of workers and other hosts, with where each is on
/// the miner's filesystem and how many sectors have files there (`Filecoin.StorageList`, `Filecoin.StorageLocal`,
/// and `Filecoin.StorageInfo` for each path of the page), by ID, paged.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageList", "Filecoin.StorageLocal", "Filecoin.StorageInfo"]))),
    params(Page),
    responses((status = 200, description = "A page of storage paths", body = MinerStoragePathPage)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/storage/paths")]
pub async fn list_miner_storage_paths(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page.limit()?;
    let list = storage_list(&state, &auth.caller).await?;
    let local: Option<BTreeMap<String, String>> = state
        .miner
        .call(&auth.caller, "Filecoin.StorageLocal", json!([]))
        .await?;
    let local = local.unwrap_or_default();
    let keys: Vec<String> = list.keys().cloned().collect();
    let w = window(&keys, &page, "Filecoin.StorageList", &json!([]))?;
    let mut items = Vec::new();
    for id in &keys[w.start..w.end] {
        let mut info = match storage_info(&state, &auth.caller, id).await {
            Ok(info) => info,
            // detached since the list was read
            Err(e) if e.code == Code::NotFound => continue,
            Err(e) => return Err(e),
        };
        let decls = &list[id];
        let mut counts = BTreeMap::new();
        for (name, bit) in FILE_TYPES {
            let n = decls.iter().filter(|d| d.types & bit != 0).count() as u64;
            if n > 0 {
                counts.insert(name.to_owned(), n);
            }
        }
        info.insert("LocalPath".into(), json!(local.get(id)));
        info.insert("SectorCount".into(), json!(decls.len()));
        info.insert("FileCounts".into(), json!(counts));
        items.push(Value::Object(info));
    }
    Ok(page_response(items, w, keys.len()))
}

/// A storage path.
///
/// A path of the miner's sector index (`Filecoin.StorageInfo`) with its filesystem's usage
/// (`Filecoin.StorageStat`; when that cannot be read, `StatError` says why). 404 for a path the index does not
/// have.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageInfo", "Filecoin.StorageStat"]))),
    params(StorageIdPath),
    responses((status = 200, description = "The path", body = MinerStoragePath),
        (status = 404, description = "No such path", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[get("")]
pub async fn get_miner_storage_path(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    StorageIdPath { id }: StorageIdPath,
) -> Result<HttpResponse, ApiError> {
    let mut info = storage_info(&state, &auth.caller, &id).await?;
    match state
        .miner
        .call::<Value, _>(&auth.caller, "Filecoin.StorageStat", json!([id]))
        .await
    {
        Ok(stat) => {
            info.insert("Stat".into(), stat);
        }
        // the index has the path, but its filesystem could not be read
        Err(ApiError {
            code: Code::UpstreamError,
            rpc: Some(rpc),
            ..
        }) => {
            info.insert("StatError".into(), json!(rpc.message));
        }
        Err(e) => return Err(e),
    }
    Ok(no_store(&info))
}

/// A storage path's usage.
///
/// The usage of the filesystem of a path (`Filecoin.StorageStat`): read on the miner for a local path, from the
/// host serving it otherwise. 404 for a path the index does not have.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageStat"]))),
    params(StorageIdPath),
    responses((status = 200, description = "The path's usage", body = MinerFsStat),
        (status = 404, description = "No such path", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/stat")]
pub async fn get_miner_storage_path_stat(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    StorageIdPath { id }: StorageIdPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .miner
        .call_raw(&auth.caller, "Filecoin.StorageStat", json!([id]))
        .await?;
    Ok(lotus_json_uncached(&raw))
}

/// Report a storage path's health.
///
/// Tells the sector index how a path is doing (`Filecoin.StorageReportHealth`), as the host serving it does every
/// few seconds: its usage, and an error when it fails. A path reported with an error gets no new sector files
/// until a healthy report. 404 for a path the index does not have.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageReportHealth"]))),
    params(StorageIdPath),
    request_body = MinerHealthReport,
    responses((status = 204, description = "The report is recorded"),
        (status = 404, description = "No such path", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[put("/health")]
pub async fn put_miner_storage_path_health(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    StorageIdPath { id }: StorageIdPath,
    body: Body<MinerHealthReport>,
) -> Result<HttpResponse, ApiError> {
    check_fs_stat("Stat", &body.stat)?;
    let report = json!({"Stat": body.stat, "Err": body.err.as_deref().unwrap_or("")});
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.StorageReportHealth",
            json!([id, report]),
        )
        .await
        .map_err(|e| remap(e, UNKNOWN_PATH))?;
    Ok(no_content())
}

/// Attach a storage path.
///
/// Adds a path served by another host (a worker, a shared filesystem) to the miner's sector index
/// (`Filecoin.StorageAttach`), as that host does when it starts; a path already known gets the new URLs added and
/// its settings replaced. Answers 201 with the path as the index now has it (`Filecoin.StorageInfo`).
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageAttach", "Filecoin.StorageInfo"]))),
    request_body(content = MinerAttachPath, example = json!({"Info": {"ID": "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8",
        "URLs": ["http://10.0.0.5:3456/remote"], "Weight": 10, "MaxStorage": 0, "CanSeal": true, "CanStore": false,
        "Groups": ["workers"]}, "Stat": {"Capacity": 4398046511104u64, "Available": 3298534883328u64,
        "FSAvailable": 3298534883328u64, "Reserved": 0, "Max": 0, "Used": 1099511627776u64}})),
    responses((status = 201, description = "The attached path", body = MinerStorageInfo,
        headers(("Location" = String, description = "The path: /v1/miner/storage/paths/{id}")))),
    security(("lotus_token" = ["admin"]))
)]
#[post("/storage/paths")]
pub async fn create_miner_storage_path(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerAttachPath>,
) -> Result<HttpResponse, ApiError> {
    let id = check_storage_info(&body.info)?;
    check_fs_stat("Stat", &body.stat)?;
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.StorageAttach",
            json!([lotus_storage_info(&body.info), body.stat]),
        )
        .await?;
    let info = storage_info(&state, &auth.caller, &id).await?;
    Ok(created(&format!("/v1/miner/storage/paths/{id}"), &info))
}

/// Which URL of a path to detach.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetachOptions {
    /// Detach only this URL of the path; the path itself goes when its last URL does. Absent: every URL, so the
    /// path goes.
    #[param(value_type = Option<String>, example = "http://10.0.0.5:3456/remote")]
    pub url: Option<String>,
}

/// Detach a storage path.
///
/// Removes a path, or one of its URLs, from the miner's sector index (`Filecoin.StorageDetach`, once per URL); when
/// the path goes, so do the declarations of the sector files on it. The files themselves stay where they are. 404
/// for a path the index does not have, or a URL it does not have.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageDetach", "Filecoin.StorageInfo"]))),
    params(StorageIdPath, DetachOptions),
    responses((status = 204, description = "Detached"),
        (status = 404, description = "No such path or URL", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_miner_storage_path(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    StorageIdPath { id }: StorageIdPath,
    query: web::Query<DetachOptions>,
) -> Result<HttpResponse, ApiError> {
    let info = storage_info(&state, &auth.caller, &id).await?;
    let urls: Vec<String> = info
        .get("URLs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect();
    let detach = match &query.url {
        Some(url) => {
            let url = url.trim();
            if !urls.iter().any(|u| u == url) {
                return Err(ApiError::new(
                    Code::NotFound,
                    format!("storage path {id} has no URL \"{url}\"; it has {urls:?}"),
                ));
            }
            vec![url.to_owned()]
        }
        None if urls.is_empty() => vec![String::new()],
        None => urls,
    };
    for url in detach {
        state
            .miner
            .call_raw(&auth.caller, "Filecoin.StorageDetach", json!([id, url]))
            .await
            .map_err(|e| remap(e, UNKNOWN_PATH))?;
    }
    Ok(no_content())
}

/// A path's sector files.
///
/// The sectors whose files the sector index has on a path, with their file types (`Filecoin.StorageList`), by
/// sector number, paged. 404 for a path the index does not have.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageList"]))),
    params(StorageIdPath, Page),
    responses((status = 200, description = "A page of the path's sectors", body = MinerSectorDeclPage),
        (status = 404, description = "No such path", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/sectors")]
pub async fn list_miner_storage_path_sectors(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    StorageIdPath { id }: StorageIdPath,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page.limit()?;
    let mut list = storage_list(&state, &auth.caller).await?;
    let mut decls = list.remove(&id).ok_or_else(|| {
        ApiError::new(
            Code::NotFound,
            format!("the sector index has no storage path {id}"),
        )
    })?;
    decls.sort_by_key(|d| (d.number, d.miner));
    // keys that sort as the numbers do
    let keys: Vec<String> = decls
        .iter()
        .map(|d| format!("{:020}.{:020}", d.number, d.miner))
        .collect();
    let w = window(&keys, &page, "Filecoin.StorageList", &json!([id]))?;
    let items = decls[w.start..w.end]
        .iter()
        .map(|d| {
            json!({"Miner": d.miner, "Number": d.number, "SectorFileType": d.types, "Types": type_names(d.types)})
        })
        .collect();
    Ok(page_response(items, w, keys.len()))
}

// ---------------------------------------------------------------------------------------------------------------
// Local paths

/// The local paths.
///
/// The paths on the miner's own filesystem (`Filecoin.StorageLocal`), by ID.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageLocal"]))),
    responses((status = 200, description = "The local paths", body = Vec<MinerLocalPath>)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/storage/local")]
pub async fn list_miner_storage_local(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let local: Option<BTreeMap<String, String>> = state
        .miner
        .call(&auth.caller, "Filecoin.StorageLocal", json!([]))
        .await?;
    let out: Vec<MinerLocalPath> = local
        .unwrap_or_default()
        .into_iter()
        .map(|(id, path)| MinerLocalPath { id, path })
        .collect();
    Ok(no_store(&out))
}

fn check_local_path(path: &str) -> Result<String, ApiError> {
    let p = path.trim();
    if p.is_empty() || !(p.starts_with('/') || p == "~" || p.starts_with("~/")) || p.contains('\0')
    {
        return Err(field_error(
            "Path",
            format!("\"{path}\" is not an absolute directory (or one under ~)"),
        ));
    }
    Ok(p.to_owned())
}

/// Add a local path.
///
/// Opens a directory of the miner's filesystem as a storage path (`Filecoin.StorageAddLocal`): it must hold a
/// `sectorstore.json` (`lotus-miner storage attach --init` writes one). The sector files found there are declared
/// in the index. Answers 201 with the path's ID, read back with `Filecoin.StorageLocal`; 409 when the path is
/// already open.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageAddLocal", "Filecoin.StorageLocal"]))),
    request_body = MinerNewLocalPath,
    responses((status = 201, description = "The path", body = MinerLocalPath,
        headers(("Location" = String, description = "The path: /v1/miner/storage/paths/{id}"))),
        (status = 409, description = "The path is already open", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/storage/local")]
pub async fn create_miner_storage_local(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerNewLocalPath>,
) -> Result<HttpResponse, ApiError> {
    let dir = check_local_path(&body.path)?;
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.StorageAddLocal", json!([dir]))
        .await
        .map_err(|e| remap(e, UNKNOWN_PATH))?;
    let local: Option<BTreeMap<String, String>> = state
        .miner
        .call(&auth.caller, "Filecoin.StorageLocal", json!([]))
        .await?;
    let wanted = dir.trim_end_matches('/');
    let found = local.unwrap_or_default().into_iter().find(|(_, p)| {
        p.trim_end_matches('/') == wanted
            || (wanted.starts_with('~') && p.ends_with(wanted.trim_start_matches('~')))
    });
    match found {
        Some((id, path)) => Ok(created(
            &format!("/v1/miner/storage/paths/{id}"),
            &MinerLocalPath { id, path },
        )),
        None => Err(ApiError::new(
            Code::UpstreamBadResponse,
            format!("the miner added {dir} but does not list it among its local paths"),
        )),
    }
}

/// Which local path to detach.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocalPathQuery {
    /// The directory, as the local paths list gives it.
    #[param(value_type = String, example = "/mnt/store2")]
    pub path: Option<String>,
}

/// Detach a local path.
///
/// Closes a local path (`Filecoin.StorageDetachLocal`): the miner stops using it and its sector files leave the
/// index; the files stay on disk. 404 when no local path is at that directory.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageDetachLocal"]))),
    params(LocalPathQuery),
    responses((status = 204, description = "Detached"),
        (status = 404, description = "No local path there", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[delete("/storage/local")]
pub async fn delete_miner_storage_local(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    query: web::Query<LocalPathQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(path) = &query.path else {
        return Err(ApiError::invalid_parameter(
            "path is needed: the directory of the local path to detach",
        ));
    };
    let dir = check_local_path(path).map_err(|_| {
        ApiError::invalid_parameter(format!(
            "invalid path \"{path}\": expected an absolute directory (or one under ~)"
        ))
    })?;
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.StorageDetachLocal", json!([dir]))
        .await
        .map_err(|e| remap(e, UNKNOWN_PATH))?;
    Ok(no_content())
}

/// Redeclare local sector files.
///
/// Scans the local paths (or one of them) again and declares the sector files found there in the index
/// (`Filecoin.StorageRedeclareLocal`); with `DropMissing`, declarations of files no longer there are dropped.
/// Answers 202: the scan goes on in the miner. 404 for an `ID` that is not a local path (`Filecoin.StorageLocal`).
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageRedeclareLocal", "Filecoin.StorageLocal"]))),
    request_body = MinerRedeclare,
    responses((status = 202, description = "The scan is started"),
        (status = 404, description = "No such local path", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/storage/local/redeclare")]
pub async fn redeclare_miner_storage_local(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerRedeclare>,
) -> Result<HttpResponse, ApiError> {
    let id = match &body.id {
        Some(id) => {
            let id = uuid_field("ID", id)?;
            let local: Option<BTreeMap<String, String>> = state
                .miner
                .call(&auth.caller, "Filecoin.StorageLocal", json!([]))
                .await?;
            if !local.unwrap_or_default().contains_key(&id) {
                return Err(ApiError::new(
                    Code::NotFound,
                    format!("the miner has no local path {id}"),
                ));
            }
            Some(id)
        }
        None => None,
    };
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.StorageRedeclareLocal",
            json!([id, body.drop_missing]),
        )
        .await?;
    Ok(accepted_empty())
}

// ---------------------------------------------------------------------------------------------------------------
// Sector locations

/// Which files of a sector to find.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindOptions {
    /// The file types, comma-separated: unsealed, sealed, cache, update, update-cache, piece. Default: all.
    #[param(value_type = Option<String>, pattern = "^[a-z-]+(,[a-z-]+)*$", example = "sealed,cache")]
    pub types: Option<String>,
    /// Also list the paths the files could be fetched to (with `Primary` false and `Weight` 0).
    #[param(value_type = Option<bool>, example = false)]
    pub allow_fetch: Option<String>,
    /// With `allow_fetch`: the sector size in bytes, to leave out paths without room. Default: the miner's.
    #[param(value_type = Option<u64>, example = 34359738368u64)]
    pub size: Option<String>,
}

/// Where a sector's files are.
///
/// The paths holding files of the given types of a sector (`Filecoin.StorageFindSector`), those holding them first;
/// with `allow_fetch`, also the paths they could be fetched to. An empty list when the index has none.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageFindSector", "Filecoin.ActorAddress", "Filecoin.ActorSectorSize"]))),
    params(SectorPath, FindOptions),
    responses((status = 200, description = "The paths", body = Vec<MinerSectorLocation>)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/locations")]
pub async fn list_miner_sector_locations(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number }: SectorPath,
    query: web::Query<FindOptions>,
) -> Result<HttpResponse, ApiError> {
    let types = match &query.types {
        Some(t) => file_types_param("types", t)?,
        None => ALL_TYPES,
    };
    let allow_fetch = flag("allow_fetch", &query.allow_fetch)?;
    let size = match &query.size {
        Some(s) => Some(sector_size_param("size", s)?),
        None => None,
    };
    if size.is_some() && !allow_fetch {
        return Err(ApiError::invalid_parameter(
            "size applies with allow_fetch=true: give both or neither",
        ));
    }
    let miner = miner_actor_id(&state, &auth.caller).await?;
    let size = match (allow_fetch, size) {
        (true, Some(s)) => s,
        (true, None) => miner_sector_size(&state, &auth.caller).await?,
        (false, _) => 0,
    };
    let raw = state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.StorageFindSector",
            json!([{"Miner": miner, "Number": number}, types, size, allow_fetch]),
        )
        .await?;
    if raw.get() == "null" {
        return Ok(no_store(&Vec::<Value>::new()));
    }
    Ok(lotus_json_uncached(&raw))
}

/// Declare a sector's files on a path.
///
/// Records in the sector index that files of a sector are on a path (`Filecoin.StorageDeclareSector`), as the host
/// that wrote them does; `Primary` marks the copy the miner proves from. The path must be in the index
/// (`Filecoin.StorageInfo`; 404 otherwise). Answers 201; `Location` lists the sector's files of those types.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageDeclareSector", "Filecoin.StorageInfo", "Filecoin.ActorAddress"]))),
    params(SectorPath),
    request_body = MinerSectorDeclaration,
    responses((status = 201, description = "Declared", body = MinerSectorDeclaration,
        headers(("Location" = String, description = "/v1/miner/storage/sectors/{number}/locations?types=..."))),
        (status = 404, description = "No such path", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/locations")]
pub async fn create_miner_sector_location(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorPath { number }: SectorPath,
    body: Body<MinerSectorDeclaration>,
) -> Result<HttpResponse, ApiError> {
    let id = uuid_field("ID", &body.id)?;
    let types = file_types_field("Types", &body.types)?;
    storage_info(&state, &auth.caller, &id).await?;
    let miner = miner_actor_id(&state, &auth.caller).await?;
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.StorageDeclareSector",
            json!([id, {"Miner": miner, "Number": number}, types, body.primary]),
        )
        .await?;
    let names = type_names(types).join(",");
    Ok(created(
        &format!("/v1/miner/storage/sectors/{number}/locations?types={names}"),
        &json!({"ID": id, "Types": type_names(types), "Primary": body.primary}),
    ))
}

/// Which files to drop.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DropOptions {
    /// The file types, comma-separated: unsealed, sealed, cache, update, update-cache, piece. Default: all.
    #[param(value_type = Option<String>, pattern = "^[a-z-]+(,[a-z-]+)*$", example = "unsealed")]
    pub types: Option<String>,
}

/// Drop a sector's files from a path.
///
/// Removes from the sector index the declaration that files of a sector are on a path
/// (`Filecoin.StorageDropSector`); the files themselves are not deleted. Dropping what is not declared changes
/// nothing.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageDropSector", "Filecoin.ActorAddress"]))),
    params(SectorLocationPath, DropOptions),
    responses((status = 204, description = "Dropped")),
    security(("lotus_token" = ["admin"]))
)]
#[delete("/locations/{id}")]
pub async fn delete_miner_sector_location(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SectorLocationPath { number, id }: SectorLocationPath,
    query: web::Query<DropOptions>,
) -> Result<HttpResponse, ApiError> {
    let types = match &query.types {
        Some(t) => file_types_param("types", t)?,
        None => ALL_TYPES,
    };
    let miner = miner_actor_id(&state, &auth.caller).await?;
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.StorageDropSector",
            json!([id, {"Miner": miner, "Number": number}, types]),
        )
        .await?;
    Ok(no_content())
}

/// Where new sector files would go.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AllocOptions {
    /// The file types, comma-separated: unsealed, sealed, cache, update, update-cache, piece.
    #[param(value_type = String, pattern = "^[a-z-]+(,[a-z-]+)*$", example = "sealed,cache")]
    pub types: Option<String>,
    /// The sector size in bytes. Default: the miner's.
    #[param(value_type = Option<u64>, example = 34359738368u64)]
    pub size: Option<String>,
    /// `sealing` (paths that can seal, for scratch files; the default) or `storage` (paths that can store).
    #[param(value_type = Option<String>, example = "sealing")]
    pub path_type: Option<String>,
}

/// Where new sector files would go.
///
/// The paths where files of the given types of a new sector of the miner could be allocated, best first: more
/// weight, more free space (`Filecoin.StorageBestAlloc`). Paths without room or failing their health checks are
/// left out; an empty list when none is left. Paths' `AllowTypes`/`DenyTypes` are not applied.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageBestAlloc", "Filecoin.ActorAddress", "Filecoin.ActorSectorSize"]))),
    params(AllocOptions),
    responses((status = 200, description = "The paths, best first", body = Vec<MinerStorageInfo>)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/storage/allocations")]
pub async fn list_miner_storage_allocations(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    query: web::Query<AllocOptions>,
) -> Result<HttpResponse, ApiError> {
    let Some(types) = &query.types else {
        return Err(ApiError::invalid_parameter(format!(
            "types is needed: a comma-separated list of: {}",
            expected_types()
        )));
    };
    let types = file_types_param("types", types)?;
    let path_type = match query.path_type.as_deref().map(str::trim) {
        None | Some("sealing") => "sealing",
        Some("storage") => "storage",
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "invalid path_type \"{other}\": expected sealing or storage"
            )))
        }
    };
    let size = match &query.size {
        Some(s) => Some(sector_size_param("size", s)?),
        None => None,
    };
    let miner = miner_actor_id(&state, &auth.caller).await?;
    let size = match size {
        Some(s) => s,
        None => miner_sector_size(&state, &auth.caller).await?,
    };
    match state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.StorageBestAlloc",
            json!([types, size, path_type, miner]),
        )
        .await
    {
        Ok(raw) if raw.get() != "null" => Ok(lotus_json_uncached(&raw)),
        Ok(_) => Ok(no_store(&Vec::<Value>::new())),
        Err(e)
            if e.rpc
                .as_ref()
                .is_some_and(|r| r.message.contains("no good path found")) =>
        {
            Ok(no_store(&Vec::<Value>::new()))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Locks

/// Which locks to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LockFilter {
    /// Only the locks on this sector.
    #[param(value_type = Option<u64>, minimum = 0, example = 9)]
    pub sector: Option<String>,
}

/// The sector file locks.
///
/// The locks held on sectors' files by the tasks running on them (`Filecoin.StorageGetLocks`), by sector, with the
/// file types locked by name beside Lotus's per-type counts.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageGetLocks"]))),
    params(LockFilter),
    responses((status = 200, description = "The locks", body = Vec<MinerSectorLock>)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/storage/locks")]
pub async fn list_miner_storage_locks(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    query: web::Query<LockFilter>,
) -> Result<HttpResponse, ApiError> {
    let sector = match &query.sector {
        Some(s) => Some(sector_number("sector", s)?),
        None => None,
    };
    let locks: Value = state
        .miner
        .call(&auth.caller, "Filecoin.StorageGetLocks", json!([]))
        .await?;
    let mut out = Vec::new();
    for lock in locks["Locks"].as_array().into_iter().flatten() {
        if sector.is_some_and(|n| lock["Sector"]["Number"].as_u64() != Some(n)) {
            continue;
        }
        let names = |field: &str| -> Vec<&'static str> {
            let counts = lock[field].as_array().cloned().unwrap_or_default();
            FILE_TYPES
                .iter()
                .zip(counts)
                .filter(|(_, c)| c.as_u64().unwrap_or(0) > 0)
                .map(|((name, _), _)| *name)
                .collect()
        };
        let mut entry = lock.as_object().cloned().unwrap_or_default();
        entry.insert("WriteTypes".into(), json!(names("Write")));
        entry.insert("ReadTypes".into(), json!(names("Read")));
        out.push(Value::Object(entry));
    }
    out.sort_by_key(|l| l["Sector"]["Number"].as_u64());
    Ok(no_store(&out))
}

/// How to take a lock.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LockOptions {
    /// `true`: answer 409 at once when the files are locked (`Filecoin.StorageTryLock`); default `false` waits for
    /// the lock (`Filecoin.StorageLock`), up to the gateway's timeout.
    #[param(value_type = Option<bool>, example = true)]
    pub r#try: Option<String>,
}

/// Take a lock on a sector's files.
///
/// Acquires read and write locks on file types of a sector (`Filecoin.StorageLock`, or `Filecoin.StorageTryLock`
/// with `try=true`), the way a task does before it touches them: a write lock excludes every other lock of that
/// type, a read lock excludes write locks. The miner releases the lock as soon as it has answered, so a 200 says
/// that nothing held the files; 409 with `try=true` when something does.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageLock", "Filecoin.StorageTryLock", "Filecoin.ActorAddress"])),
        ("x-lotus-serves" = json!(["Filecoin.StorageLock", "Filecoin.StorageTryLock"]))),
    params(LockOptions),
    request_body = MinerLockRequest,
    responses((status = 200, description = "The lock was acquired", body = MinerLockResult),
        (status = 409, description = "The files are locked", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/storage/locks")]
pub async fn create_miner_storage_lock(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    query: web::Query<LockOptions>,
    body: Body<MinerLockRequest>,
) -> Result<HttpResponse, ApiError> {
    let try_only = flag("try", &query.r#try)?;
    let read = mask_of(&body.read);
    let write = mask_of(&body.write);
    if read | write == 0 {
        return Err(field_error(
            "Write",
            format!(
                "give the file types to lock in Read, Write or both: {}",
                expected_types()
            ),
        ));
    }
    let miner = miner_actor_id(&state, &auth.caller).await?;
    let sector = json!({"Miner": miner, "Number": body.sector});
    if try_only {
        let acquired: bool = state
            .miner
            .call(
                &auth.caller,
                "Filecoin.StorageTryLock",
                json!([sector, read, write]),
            )
            .await?;
        if !acquired {
            return Err(ApiError::new(
                Code::Conflict,
                format!(
                    "sector {} has its files locked: read {:?}, write {:?} could not be taken",
                    body.sector,
                    type_names(read),
                    type_names(write)
                ),
            ));
        }
    } else {
        state
            .miner
            .call_raw(
                &auth.caller,
                "Filecoin.StorageLock",
                json!([sector, read, write]),
            )
            .await
            .map_err(|e| remap(e, &[("context deadline exceeded", Code::UpstreamTimeout)]))?;
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "Sector": sector,
            "Read": type_names(read),
            "Write": type_names(write),
            "Acquired": true,
        })))
}

// ---------------------------------------------------------------------------------------------------------------
// Storage auth

/// Verify a storage token.
///
/// The permissions the miner grants a token presented to its storage endpoints (`/remote`), as workers and other
/// hosts fetching sector files present them (`Filecoin.StorageAuthVerify`). The token travels in the body, never
/// in a URL; a token the miner refuses is answered with `Valid: false` and the miner's reason.
#[utoipa::path(
    tag = "Miner storage",
    extensions(("x-lotus-methods" = json!(["Filecoin.StorageAuthVerify"]))),
    request_body = MinerTokenToVerify,
    responses((status = 200, description = "What the token allows", body = MinerTokenVerification)),
    security(("lotus_token" = ["read"]))
)]
#[post("/storage/auth/verify")]
pub async fn verify_miner_storage_token(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    body: Body<MinerTokenToVerify>,
) -> Result<HttpResponse, ApiError> {
    let token = body.token.trim();
    if token.is_empty() || token.len() > 8192 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(field_error(
            "Token",
            "expected a JWT (printable ASCII, at most 8192 characters)",
        ));
    }
    let verification = match state
        .miner
        .call::<Option<Vec<String>>, _>(&auth.caller, "Filecoin.StorageAuthVerify", json!([token]))
        .await
    {
        Ok(permissions) => MinerTokenVerification {
            valid: true,
            permissions: permissions.unwrap_or_default(),
            reason: None,
        },
        Err(e) if e.code == Code::UpstreamError => MinerTokenVerification {
            valid: false,
            permissions: Vec::new(),
            reason: Some(e.rpc.map(|r| r.message).unwrap_or(e.detail)),
        },
        Err(e) => return Err(e),
    };
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(verification))
}

/// Registers the miner's storage routes.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_miner_storage_paths)
        .service(create_miner_storage_path)
        .scope("/storage/paths/{id}", &|cfg| {
            cfg.service(get_miner_storage_path)
                .service(delete_miner_storage_path)
                .service(get_miner_storage_path_stat)
                .service(put_miner_storage_path_health)
                .service(list_miner_storage_path_sectors);
        })
        .service(list_miner_storage_local)
        .service(create_miner_storage_local)
        .service(delete_miner_storage_local)
        .service(redeclare_miner_storage_local)
        .scope("/storage/sectors/{number}", &|cfg| {
            cfg.service(list_miner_sector_locations)
                .service(create_miner_sector_location)
                .service(delete_miner_sector_location);
        })
        .service(list_miner_storage_allocations)
        .service(list_miner_storage_locks)
        .service(create_miner_storage_lock)
        .service(verify_miner_storage_token);
}
