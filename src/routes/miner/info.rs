//! The miner itself: version, actor, addresses, session, logs, tokens, backups, withdrawals, mining base, deals
//! and proofs.

use super::{unpadded_piece_size, MinerSectorId};
use std::collections::BTreeMap;

use crate::routes::ServiceConfig;
use actix_web::{get, http::header, post, put, web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::{Admin, MinerAuthorized, Read, Write};
use crate::error::{ApiError, Code};
use crate::lotus::address::{cid_from_digest, parse_cid};
use crate::lotus::amount::Amount;
use crate::lotus::types::{BigInt, Cid, NodeVersion, PoStProof, TipSet};
use crate::routes::body::Body;
use crate::routes::extract::MinerSubsystemPath;
use crate::routes::logs::{self, Alert, LogLevel};
use crate::routes::messages::field_error;
use crate::routes::page::{self, Page};
use crate::routes::tokens::{self, NewToken, Token, TokenToVerify, Verification};
use crate::routes::{accepted, accepted_empty, decode, lotus_json_uncached};
use crate::state::AppState;

/// The message of the JSON-RPC error behind `e`, in lower case; empty when the miner sent none.
fn rpc_message(e: &ApiError) -> String {
    e.rpc
        .as_ref()
        .map(|r| r.message.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The miner's version.
///
/// The Lotus version, API version and block time of the miner (`Filecoin.Version` on the miner).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.Version"]))),
    responses((status = 200, description = "The miner's version", body = NodeVersion)),
    security(("lotus_token" = ["read"]))
)]
#[get("/version")]
pub async fn get_miner_version(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let version = state
        .miner
        .call_raw(&auth.caller, "Filecoin.Version", json!([]))
        .await?;
    Ok(lotus_json_uncached(&version))
}

/// The miner actor a miner runs, and its sector size.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"Address": "f01234", "SectorSize": 34359738368u64}))]
pub struct MinerActorInfo {
    /// The miner actor's address.
    #[schema(example = "f01234")]
    pub address: String,
    /// The size of its sectors, in bytes.
    #[schema(example = 34359738368u64)]
    pub sector_size: u64,
}

/// The miner's actor.
///
/// The address of the miner actor this miner runs (`Filecoin.ActorAddress`) and the size of its sectors in bytes
/// (`Filecoin.ActorSectorSize`).
#[utoipa::path(
    tag = "Miner",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.ActorAddress", "Filecoin.ActorSectorSize"])),
        ("x-lotus-serves" = json!(["Filecoin.ActorAddress", "Filecoin.ActorSectorSize"]))
    ),
    responses((status = 200, description = "The actor and its sector size", body = MinerActorInfo)),
    security(("lotus_token" = ["read"]))
)]
#[get("/info")]
pub async fn get_miner_info(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let address: String = state
        .miner
        .call(&auth.caller, "Filecoin.ActorAddress", json!([]))
        .await?;
    let sector_size: u64 = state
        .miner
        .call(&auth.caller, "Filecoin.ActorSectorSize", json!([address]))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MinerActorInfo {
            address,
            sector_size,
        }))
}

/// The addresses a miner sends its messages from (`api.AddressConfig`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"PreCommitControl": ["f01234"], "CommitControl": ["f01234"], "TerminateControl": [], "DealPublishControl": [], "DisableOwnerFallback": false, "DisableWorkerFallback": false}))]
pub struct MinerAddressConfig {
    /// Control addresses that send PreCommit messages.
    pub pre_commit_control: Option<Vec<String>>,
    /// Control addresses that send ProveCommit messages.
    pub commit_control: Option<Vec<String>>,
    /// Control addresses that send sector terminations.
    pub terminate_control: Option<Vec<String>>,
    /// Control addresses that publish deals.
    pub deal_publish_control: Option<Vec<String>>,
    /// Whether the owner is never used when no control address can pay.
    pub disable_owner_fallback: bool,
    /// Whether the worker is never used when no control address can pay.
    pub disable_worker_fallback: bool,
}

/// The miner's sending addresses.
///
/// Which control addresses the miner sends each kind of message from, and whether it falls back to the owner and
/// worker (`Filecoin.ActorAddressConfig`).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.ActorAddressConfig"]))),
    responses((status = 200, description = "The address configuration", body = MinerAddressConfig)),
    security(("lotus_token" = ["read"]))
)]
#[get("/addresses")]
pub async fn get_miner_address_config(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let config = state
        .miner
        .call_raw(&auth.caller, "Filecoin.ActorAddressConfig", json!([]))
        .await?;
    Ok(lotus_json_uncached(&config))
}

/// The session of a running miner process.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSession {
    /// A UUID the miner draws at start: a new one means the miner restarted.
    #[schema(
        example = "07070707-0707-0707-0707-070707070707",
        pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub session: String,
}

/// The miner's session.
///
/// The UUID of the running miner process, new at every start (`Filecoin.Session`).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.Session"]))),
    responses((status = 200, description = "The session", body = MinerSession)),
    security(("lotus_token" = ["read"]))
)]
#[get("/session")]
pub async fn get_miner_session(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let session: String = state
        .miner
        .call(&auth.caller, "Filecoin.Session", json!([]))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MinerSession { session }))
}

/// When the miner process started.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerStartTime {
    /// The start time, RFC 3339.
    #[schema(example = "2026-01-01T00:00:00Z", format = DateTime)]
    pub start_time: String,
}

/// The miner's start time.
///
/// When the running miner process started (`Filecoin.StartTime`).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.StartTime"]))),
    responses((status = 200, description = "The start time", body = MinerStartTime)),
    security(("lotus_token" = ["read"]))
)]
#[get("/start-time")]
pub async fn get_miner_start_time(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let start_time: String = state
        .miner
        .call(&auth.caller, "Filecoin.StartTime", json!([]))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MinerStartTime { start_time }))
}

/// The miner's OpenRPC document.
///
/// The OpenRPC description of the miner's JSON-RPC API (`Filecoin.Discover` on the miner).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.Discover"]))),
    responses((status = 200, description = "The OpenRPC document", body = std::collections::HashMap<String, serde_json::Value>,
        example = json!({"openrpc": "1.2.6", "info": {"title": "Lotus RPC API", "version": "1.36.2"}, "methods": []}))),
    security(("lotus_token" = ["read"]))
)]
#[get("/openrpc")]
pub async fn get_miner_openrpc(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let doc = state
        .miner
        .call_raw(&auth.caller, "Filecoin.Discover", json!([]))
        .await?;
    Ok(lotus_json_uncached(&doc))
}

/// The miner's subsystems.
///
/// The subsystems this miner process runs, e.g. `Mining`, `Sealing`, `SectorStorage`
/// (`Filecoin.RuntimeSubsystems`).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.RuntimeSubsystems"]))),
    responses((status = 200, description = "The subsystems", body = Vec<String>, example = json!(["Mining", "Sealing", "SectorStorage"]))),
    security(("lotus_token" = ["read"]))
)]
#[get("/subsystems")]
pub async fn list_miner_subsystems(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let subsystems = state
        .miner
        .call_raw(&auth.caller, "Filecoin.RuntimeSubsystems", json!([]))
        .await?;
    Ok(lotus_json_uncached(&subsystems))
}

/// Shut the miner down.
///
/// Asks the miner process to stop (`Filecoin.Shutdown`). It answers before it has stopped: 202. Its routes
/// answer 502 or 503 until it is started again.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.Shutdown"]))),
    responses((status = 202, description = "The miner is shutting down")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/shutdown")]
pub async fn shutdown_miner(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.Shutdown", json!([]))
        .await?;
    Ok(accepted_empty())
}

/// Create a miner token.
///
/// Has the miner mint a token of its own, granting the permissions asked for (`Filecoin.AuthNew` on the miner).
/// The token is in the body of the 201; it is not kept anywhere it could be fetched again. Each permission is
/// granted as given: a token with `write` alone cannot read.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.AuthNew"]))),
    request_body = NewToken,
    responses((status = 201, description = "The new token", body = Token)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/auth/tokens")]
pub async fn create_miner_auth_token(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<NewToken>,
) -> Result<HttpResponse, ApiError> {
    tokens::create_token(&state.miner, &auth.caller, &body.permissions).await
}

/// Verify a miner token.
///
/// The permissions the miner grants a token (`Filecoin.AuthVerify` on the miner). The token travels in the body,
/// never in a URL; a token the miner refuses is answered with `Valid: false` and the miner's reason.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.AuthVerify"]))),
    request_body = TokenToVerify,
    responses((status = 200, description = "What the token allows", body = Verification)),
    security(("lotus_token" = ["read"]))
)]
#[post("/auth/tokens/verify")]
pub async fn verify_miner_auth_token(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    body: Body<TokenToVerify>,
) -> Result<HttpResponse, ApiError> {
    tokens::verify_token(&state.miner, &auth.caller, &body.token).await
}

/// The miner's log subsystems.
///
/// The names of the miner's log subsystems (`Filecoin.LogList` on the miner).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.LogList"]))),
    responses((status = 200, description = "Subsystem names", body = Vec<String>, example = json!(["miner", "sectors", "storageminer"]))),
    security(("lotus_token" = ["write"]))
)]
#[get("/logs/subsystems")]
pub async fn list_miner_log_subsystems(
    auth: MinerAuthorized<Write>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let names = state
        .miner
        .call_raw(&auth.caller, "Filecoin.LogList", json!([]))
        .await?;
    Ok(lotus_json_uncached(&names))
}

/// A subsystem's log level, as set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"Subsystem": "sectors", "Level": "debug"}))]
pub struct MinerLogLevel {
    /// The subsystem, or `*` for all.
    pub subsystem: String,
    /// The level it now logs at.
    pub level: String,
}

/// Set a miner subsystem's log level.
///
/// Sets the level one of the miner's log subsystems logs at, or every subsystem's with `*`
/// (`Filecoin.LogSetLevel` on the miner). A subsystem the miner does not have is 404.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.LogSetLevel"]))),
    params(MinerSubsystemPath),
    request_body = LogLevel,
    responses(
        (status = 200, description = "The level is set", body = MinerLogLevel),
        (status = 404, description = "The miner has no such subsystem", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["write"]))
)]
#[put("/logs/subsystems/{subsystem}/level")]
pub async fn put_miner_log_level(
    auth: MinerAuthorized<Write>,
    state: web::Data<AppState>,
    MinerSubsystemPath { subsystem }: MinerSubsystemPath,
    body: Body<LogLevel>,
) -> Result<HttpResponse, ApiError> {
    let level = logs::level_field(&body.level)?;
    state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.LogSetLevel",
            json!([subsystem, level]),
        )
        .await
        .map_err(|e| {
            if rpc_message(&e).contains("no such logger") {
                ApiError::new(
                    Code::NotFound,
                    format!("the miner has no log subsystem \"{subsystem}\""),
                )
            } else {
                e
            }
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MinerLogLevel { subsystem, level }))
}

/// The miner's alerts.
///
/// Alerts the miner raised, active or resolved (`Filecoin.LogAlerts` on the miner).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.LogAlerts"]))),
    responses((status = 200, description = "The alerts", body = Vec<Alert>)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/logs/alerts")]
pub async fn list_miner_log_alerts(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let alerts = state
        .miner
        .call_raw(&auth.caller, "Filecoin.LogAlerts", json!([]))
        .await?;
    Ok(lotus_json_uncached(&alerts))
}

/// A backup of the miner's metadata to write.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Path": "/var/backups/lotus-miner/miner-2026-01-01.cbor"}))]
pub struct MinerBackup {
    /// The file to write, on the miner's host; it must be inside the directory the miner was started with in
    /// `LOTUS_BACKUP_BASE_PATH`.
    #[schema(example = "/var/backups/lotus-miner/miner-2026-01-01.cbor")]
    pub path: String,
}

/// Back up the miner's metadata.
///
/// Has the miner write a backup of its metadata store to a file on its host (`Filecoin.CreateBackup`). The miner
/// answers once the file is written: 201 with the path. The file is on the miner's host and has no URL here.
/// A path outside `LOTUS_BACKUP_BASE_PATH` is 400; a miner started without that variable is 409.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.CreateBackup"]))),
    request_body = MinerBackup,
    responses(
        (status = 201, description = "The backup is written", body = MinerBackup),
        (status = 409, description = "The miner was started without LOTUS_BACKUP_BASE_PATH", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/backups")]
pub async fn create_miner_backup(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerBackup>,
) -> Result<HttpResponse, ApiError> {
    let path = body.path.trim();
    if path.is_empty() || path.len() > 4096 || path.chars().any(char::is_control) {
        return Err(field_error(
            "Path",
            "expected a file path on the miner's host (at most 4096 characters, no control characters)",
        ));
    }
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.CreateBackup", json!([path]))
        .await
        .map_err(|e| {
            let msg = rpc_message(&e);
            if msg.contains("must be inside base path") {
                field_error("Path", e.rpc.map(|r| r.message).unwrap_or(e.detail))
            } else if msg.contains("lotus_backup_base_path") {
                let mut err = ApiError::new(
                    Code::Conflict,
                    "the miner takes no backups: it was started without LOTUS_BACKUP_BASE_PATH",
                );
                err.rpc = e.rpc;
                err
            } else {
                e
            }
        })?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MinerBackup {
            path: path.to_owned(),
        }))
}

/// Funds to withdraw from the miner actor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Amount": "1.5 FIL"}))]
pub struct MinerWithdrawal {
    /// The amount: attoFIL digits or a number with a unit. Leave it out to withdraw all that is available.
    pub amount: Option<Amount>,
}

/// The message a withdrawal sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MinerWithdrawalMessage {
    /// The CID of the message; follow it at `/v1/messages/{cid}`.
    #[serde(rename = "CID")]
    pub cid: Cid,
}

/// The amount to put on the wire: `0` means all that is available to Lotus, so an explicit zero is refused.
fn withdrawal_amount(body: &MinerWithdrawal) -> Result<String, ApiError> {
    match body.amount {
        None => Ok("0".to_owned()),
        Some(a) if a.atto() == 0 => Err(field_error(
            "Amount",
            "give a positive amount, or leave Amount out to withdraw all that is available",
        )),
        Some(a) => Ok(a.atto().to_string()),
    }
}

/// Calls a withdrawal method and answers 202 with its message.
async fn withdraw(
    auth: &MinerAuthorized<Admin>,
    state: &AppState,
    method: &str,
    body: &MinerWithdrawal,
) -> Result<HttpResponse, ApiError> {
    let amount = withdrawal_amount(body)?;
    let cid: Cid = state
        .miner
        .call(&auth.caller, method, json!([amount]))
        .await
        .map_err(|e| {
            if rpc_message(&e).contains("more funds than available") {
                let message = e
                    .rpc
                    .as_ref()
                    .map(|r| r.message.clone())
                    .unwrap_or_default();
                let mut err = ApiError::new(
                    Code::Conflict,
                    format!("the miner actor does not have that much available: {message}"),
                );
                err.rpc = e.rpc;
                err
            } else {
                e
            }
        })?;
    let location = format!("/v1/messages/{}", cid.root);
    Ok(accepted(Some(&location), &MinerWithdrawalMessage { cid }))
}

/// Withdraw from the miner actor.
///
/// Has the miner send a message withdrawing available balance from its actor to the owner
/// (`Filecoin.ActorWithdrawBalance`). Answers 202 with the message's CID; follow it at `Location`, on the node.
/// More than the available balance is 409.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.ActorWithdrawBalance"]))),
    request_body = MinerWithdrawal,
    responses(
        (status = 202, description = "The message is sent", body = MinerWithdrawalMessage,
            headers(("Location" = String, description = "The message: /v1/messages/{cid}"))),
        (status = 409, description = "More than the available balance", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/withdrawals")]
pub async fn create_miner_withdrawal(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerWithdrawal>,
) -> Result<HttpResponse, ApiError> {
    withdraw(&auth, &state, "Filecoin.ActorWithdrawBalance", &body).await
}

/// Withdraw from the miner actor to its beneficiary.
///
/// Has the miner send a message, from the beneficiary, withdrawing available balance from its actor to the
/// beneficiary (`Filecoin.BeneficiaryWithdrawBalance`). Answers 202 with the message's CID; follow it at
/// `Location`, on the node. More than the available balance is 409.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.BeneficiaryWithdrawBalance"]))),
    request_body = MinerWithdrawal,
    responses(
        (status = 202, description = "The message is sent", body = MinerWithdrawalMessage,
            headers(("Location" = String, description = "The message: /v1/messages/{cid}"))),
        (status = 409, description = "More than the available balance", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["admin"]))
)]
#[post("/beneficiary-withdrawals")]
pub async fn create_miner_beneficiary_withdrawal(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerWithdrawal>,
) -> Result<HttpResponse, ApiError> {
    withdraw(&auth, &state, "Filecoin.BeneficiaryWithdrawBalance", &body).await
}

/// The miner's mining base.
///
/// The tipset the miner would mine its next block on (`Filecoin.MiningBase`).
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.MiningBase"]))),
    responses((status = 200, description = "The mining base", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/mining-base")]
pub async fn get_miner_mining_base_tipset(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let base = state
        .miner
        .call_raw(&auth.caller, "Filecoin.MiningBase", json!([]))
        .await?;
    Ok(lotus_json_uncached(&base))
}

/// A storage deal's proposal (`market.DealProposal`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerDealProposal {
    #[serde(rename = "PieceCID")]
    pub piece_cid: Cid,
    /// The padded piece size, in bytes.
    #[schema(example = 34359738368u64)]
    pub piece_size: u64,
    pub verified_deal: bool,
    #[schema(example = "f01001")]
    pub client: String,
    #[schema(example = "f01234")]
    pub provider: String,
    pub label: String,
    pub start_epoch: i64,
    pub end_epoch: i64,
    /// attoFIL per epoch.
    pub storage_price_per_epoch: BigInt,
    /// attoFIL.
    pub provider_collateral: BigInt,
    /// attoFIL.
    pub client_collateral: BigInt,
}

/// Where a storage deal stands on chain (`market.DealState`); -1 for what has not happened.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerDealState {
    /// The sector holding the deal (Lotus 1.28 and later).
    pub sector_number: Option<u64>,
    pub sector_start_epoch: i64,
    pub last_updated_epoch: i64,
    pub slash_epoch: i64,
}

/// A storage deal of the miner's actor (`api.MarketDeal`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerDeal {
    pub proposal: MinerDealProposal,
    pub state: MinerDealState,
}

/// A page of the miner's deals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MinerDealPage {
    /// The deals of this page, in the order the miner lists them.
    pub items: Vec<MinerDeal>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many deals the whole list has.
    pub total: usize,
}

/// What a deals cursor remembers of the deal a page ended with: a CID made of the digest of its JSON.
fn deal_anchor(deal: &RawValue) -> String {
    let hash = blake2b_simd::Params::new()
        .hash_length(32)
        .hash(deal.get().as_bytes());
    cid_from_digest(hash.as_bytes().try_into().expect("32 bytes"))
}

/// The miner's deals.
///
/// The storage deals of the miner's actor, a page at a time (`Filecoin.MarketListDeals`). A cursor remembers the
/// deal its page ended with, so the next page starts right after it even if deals were added before it; if that
/// deal is gone from the list, the cursor is refused with 409 and the listing starts again.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.MarketListDeals"]))),
    params(Page),
    responses(
        (status = 200, description = "A page of deals", body = MinerDealPage),
        (status = 409, description = "The deal the cursor continues from is gone", body = crate::error::Problem)
    ),
    security(("lotus_token" = ["read"]))
)]
#[get("/deals")]
pub async fn list_miner_deals(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    const METHOD: &str = "Filecoin.MarketListDeals";
    let limit = page.limit()?;
    let print = page::list_fingerprint(METHOD, &json!([]));
    let cursor = page
        .cursor
        .as_deref()
        .map(|text| page::decode_cursor(text, print))
        .transpose()?;
    let raw = state
        .miner
        .call_raw(&auth.caller, METHOD, json!([]))
        .await?;
    let items: Option<Vec<Box<RawValue>>> = decode(METHOD, raw.get())?;
    let items = items.unwrap_or_default();
    let start = match cursor {
        None => 0,
        Some((key, offset)) => {
            let anchor = key[0]["/"].as_str().unwrap_or_default().to_owned();
            if offset >= 1 && offset <= items.len() && deal_anchor(&items[offset - 1]) == anchor {
                offset
            } else {
                match items.iter().position(|d| deal_anchor(d) == anchor) {
                    Some(i) => i + 1,
                    None => {
                        return Err(ApiError::new(
                            Code::Conflict,
                            "the deal this cursor continues from is no longer in the miner's list: list the deals again from the first page",
                        ))
                    }
                }
            }
        }
    };
    let total = items.len();
    let end = (start + limit).min(total);
    let next_cursor = (end < total && end > start).then(|| {
        let anchor = deal_anchor(&items[end - 1]);
        page::encode_cursor(&json!([{ "/": anchor }]), end, print)
    });
    #[derive(Serialize)]
    struct Out<'a> {
        items: &'a [Box<RawValue>],
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
        total: usize,
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Out {
            items: &items[start..end],
            next_cursor,
            total,
        }))
}

/// The data of a piece whose CID to compute.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Size": 2032, "Url": "https://example.com/pieces/piece-1.car"}))]
pub struct MinerDataCidRequest {
    /// The unpadded piece size in bytes: 127 times a power of two (127, 254, 508, ..., 34091302912 for 32 GiB).
    #[schema(example = 2032, minimum = 127)]
    pub size: u64,
    /// An http(s) URL the miner (or the worker doing the work) reads the data from. Give `Url` or `Zeros`.
    #[schema(
        example = "https://example.com/pieces/piece-1.car",
        pattern = "^https?://"
    )]
    pub url: Option<String>,
    /// `true` for a piece of `Size` zero bytes. Give `Url` or `Zeros`.
    pub zeros: Option<bool>,
}

/// A piece's CID and padded size (`abi.PieceInfo`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"Size": 2048, "PieceCID": {"/": "baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq"}}))]
pub struct MinerPieceInfo {
    /// The padded piece size, in bytes.
    pub size: u64,
    /// The piece commitment (CommP).
    #[serde(rename = "PieceCID")]
    pub piece_cid: Cid,
}

/// Compute a piece CID.
///
/// Has the miner compute the piece commitment (CommP) of data it reads from a URL, or of a piece of zeros
/// (`Filecoin.ComputeDataCid`). The data is given to Lotus as a reader parameter: `{"Type": "http", "Info":
/// "<url>"}` or `{"Type": "null", "Info": "<size>"}`. Answers 200 with the piece CID and padded size.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.ComputeDataCid"]))),
    request_body = MinerDataCidRequest,
    responses((status = 200, description = "The piece CID and padded size", body = MinerPieceInfo)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/data-cids")]
pub async fn compute_miner_data_cid(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerDataCidRequest>,
) -> Result<HttpResponse, ApiError> {
    let size = unpadded_piece_size("Size", body.size)?;
    let reader = match (&body.url, body.zeros) {
        (Some(text), None | Some(false)) => {
            let url = url::Url::parse(text.trim())
                .map_err(|e| field_error("Url", format!("invalid URL \"{text}\": {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(field_error(
                    "Url",
                    format!("invalid URL \"{text}\": expected an http or https URL with a host"),
                ));
            }
            json!({"Type": "http", "Info": url.as_str()})
        }
        (None, Some(true)) => json!({"Type": "null", "Info": size.to_string()}),
        (Some(_), Some(true)) => {
            return Err(field_error(
                "Zeros",
                "give either Url or Zeros: true, not both",
            ))
        }
        (None, _) => {
            return Err(field_error(
                "Url",
                "give the URL to read the data from, or Zeros: true for a piece of zeros",
            ))
        }
    };
    let info = state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.ComputeDataCid",
            json!([size, reader]),
        )
        .await?;
    Ok(lotus_json_uncached(&info))
}

/// A sector a winning PoSt proves (`proof.ExtendedSectorInfo`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"SealProof": 8, "SectorNumber": 9, "SectorKey": null, "SealedCID": {"/": "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4"}}))]
pub struct MinerExtendedSectorInfo {
    /// The sector's seal proof type (`abi.RegisteredSealProof`, e.g. 8 for 32 GiB V1_1).
    pub seal_proof: u64,
    pub sector_number: u64,
    /// The CID of the sector key of an upgraded sector; `null` otherwise.
    pub sector_key: Option<Cid>,
    /// The sealed sector's CID (CommR).
    #[serde(rename = "SealedCID")]
    pub sealed_cid: Cid,
}

/// The input of a winning PoSt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Sectors": [{"SealProof": 8, "SectorNumber": 9, "SectorKey": null, "SealedCID": {"/": "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4"}}], "Randomness": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "PoStEpoch": 10101, "NetworkVersion": 25}))]
pub struct MinerWinningPoStRequest {
    /// The sectors challenged.
    pub sectors: Vec<MinerExtendedSectorInfo>,
    /// The 32 bytes of PoSt randomness, base64.
    #[schema(format = Byte)]
    pub randomness: String,
    /// The epoch the proof is for.
    #[serde(rename = "PoStEpoch")]
    pub post_epoch: i64,
    /// The network version at that epoch.
    pub network_version: u32,
}

/// Checks the CID of a body field and gives it in Lotus's shape.
fn cid_field(field: &str, cid: &Cid) -> Result<Value, ApiError> {
    let root = parse_cid(cid.root.trim()).map_err(|e| field_error(field, e))?;
    Ok(json!({ "/": root }))
}

/// Compute a winning PoSt.
///
/// Has the miner compute a winning proof-of-spacetime over the sectors given, with the randomness given
/// (`Filecoin.ComputeProof`). Answers 200 with the proofs.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.ComputeProof"]))),
    request_body = MinerWinningPoStRequest,
    responses((status = 200, description = "The proofs", body = Vec<PoStProof>)),
    security(("lotus_token" = ["read"]))
)]
#[post("/proofs")]
pub async fn compute_miner_winning_post(
    auth: MinerAuthorized<Read>,
    state: web::Data<AppState>,
    body: Body<MinerWinningPoStRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.sectors.is_empty() {
        return Err(field_error("Sectors", "give at least one sector"));
    }
    let mut sectors = Vec::with_capacity(body.sectors.len());
    for (i, s) in body.sectors.iter().enumerate() {
        let sector_key = match &s.sector_key {
            Some(c) => cid_field(&format!("Sectors[{i}].SectorKey"), c)?,
            None => Value::Null,
        };
        sectors.push(json!({
            "SealProof": s.seal_proof,
            "SectorNumber": s.sector_number,
            "SectorKey": sector_key,
            "SealedCID": cid_field(&format!("Sectors[{i}].SealedCID"), &s.sealed_cid)?,
        }));
    }
    let randomness = base64::engine::general_purpose::STANDARD
        .decode(body.randomness.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| field_error("Randomness", "expected 32 bytes in base64"))?;
    if body.post_epoch < 0 {
        return Err(field_error("PoStEpoch", "expected an epoch, 0 or more"));
    }
    let proofs = state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.ComputeProof",
            json!([
                sectors,
                base64::engine::general_purpose::STANDARD.encode(randomness),
                body.post_epoch,
                body.network_version
            ]),
        )
        .await?;
    Ok(lotus_json_uncached(&proofs))
}

/// The window PoSt to compute.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Deadline": 12}))]
pub struct MinerWindowPoStRequest {
    /// The deadline index in the proving period, 0 to 47.
    #[schema(minimum = 0, maximum = 47)]
    pub deadline: u64,
    /// The tipset to compute at, by its block CIDs; the head when left out.
    pub tip_set: Option<Vec<Cid>>,
}

/// A partition of a window PoSt (`miner.PoStPartition`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerPoStPartition {
    pub index: u64,
    /// The sectors skipped, as a run-length-encoded bitfield.
    #[schema(value_type = Vec<u64>, example = json!([5, 1]))]
    pub skipped: Value,
}

/// A window PoSt, ready to submit (`miner.SubmitWindowedPoStParams`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerWindowPoSt {
    pub deadline: u64,
    pub partitions: Vec<MinerPoStPartition>,
    pub proofs: Vec<PoStProof>,
    pub chain_commit_epoch: i64,
    /// base64.
    #[schema(format = Byte)]
    pub chain_commit_rand: String,
}

/// Compute a window PoSt.
///
/// Has the miner compute the window proof-of-spacetime of one deadline, at a tipset, without submitting it
/// (`Filecoin.ComputeWindowPoSt`). Answers 200 with the parameters a submission would carry.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.ComputeWindowPoSt"]))),
    request_body = MinerWindowPoStRequest,
    responses((status = 200, description = "The window PoSt of each partition group", body = Vec<MinerWindowPoSt>)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/window-posts")]
pub async fn compute_miner_window_post(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerWindowPoStRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.deadline > 47 {
        return Err(field_error(
            "Deadline",
            format!("invalid deadline {}: expected 0 to 47", body.deadline),
        ));
    }
    let key = body
        .tip_set
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, c)| cid_field(&format!("TipSet[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let posts = state
        .miner
        .call_raw(
            &auth.caller,
            "Filecoin.ComputeWindowPoSt",
            json!([body.deadline, key]),
        )
        .await?;
    Ok(lotus_json_uncached(&posts))
}

/// A sector to check (`storiface.SectorRef`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MinerSectorRef {
    #[serde(rename = "ID")]
    pub id: MinerSectorId,
    /// The sector's seal proof type (`abi.RegisteredSealProof`).
    #[schema(example = 8)]
    pub proof_type: u64,
}

/// Sectors to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"ProofType": 8, "Sectors": [{"ID": {"Miner": 1000, "Number": 9}, "ProofType": 8}]}))]
pub struct MinerProvableCheckRequest {
    /// The window PoSt proof type to check with (`abi.RegisteredPoStProof`, e.g. 8 for 32 GiB).
    pub proof_type: u64,
    /// The sectors, 1 to 10000.
    pub sectors: Vec<MinerSectorRef>,
}

/// What a provability check found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"Checked": 2, "Unprovable": {"9": "can't acquire read lock"}}))]
pub struct MinerProvableCheck {
    /// How many sectors were checked.
    pub checked: usize,
    /// The sectors that cannot be proven, by number, with why.
    pub unprovable: BTreeMap<String, String>,
}

/// Check that sectors are provable.
///
/// Has the miner check that it can read the sectors given and prove them with a window PoSt of the proof type
/// given (`Filecoin.CheckProvable`). Answers 200 with the sectors that cannot be proven and why.
#[utoipa::path(
    tag = "Miner",
    extensions(("x-lotus-methods" = json!(["Filecoin.CheckProvable"]))),
    request_body = MinerProvableCheckRequest,
    responses((status = 200, description = "The sectors that cannot be proven", body = MinerProvableCheck)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/sectors/provable-checks")]
pub async fn check_miner_sectors_provable(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerProvableCheckRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.sectors.is_empty() || body.sectors.len() > 10_000 {
        return Err(field_error("Sectors", "give 1 to 10000 sectors"));
    }
    let unprovable: Option<BTreeMap<String, String>> = state
        .miner
        .call(
            &auth.caller,
            "Filecoin.CheckProvable",
            json!([body.proof_type, body.sectors]),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MinerProvableCheck {
            checked: body.sectors.len(),
            unprovable: unprovable.unwrap_or_default(),
        }))
}

/// Registers the routes of the miner itself.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(get_miner_version)
        .service(get_miner_info)
        .service(get_miner_address_config)
        .service(get_miner_session)
        .service(get_miner_start_time)
        .service(get_miner_openrpc)
        .service(list_miner_subsystems)
        .service(shutdown_miner)
        .service(create_miner_auth_token)
        .service(verify_miner_auth_token)
        .service(list_miner_log_subsystems)
        .service(put_miner_log_level)
        .service(list_miner_log_alerts)
        .service(create_miner_backup)
        .service(create_miner_withdrawal)
        .service(create_miner_beneficiary_withdrawal)
        .service(get_miner_mining_base_tipset)
        .service(list_miner_deals)
        .service(compute_miner_data_cid)
        .service(compute_miner_winning_post)
        .service(compute_miner_window_post)
        .service(check_miner_sectors_provable);
}
