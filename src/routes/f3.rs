//! F3, Filecoin's fast finality: certificates, power tables, progress and participation.

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::body::Body;
use super::extract::InstancePath;
use super::params;
use crate::auth::{Authorized, Read, Sign};
use crate::error::ApiError;
use crate::state::AppState;

/// A tipset of an EC chain a certificate finalizes (`gpbft.TipSet`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EcTipSet {
    /// The tipset key: its block CIDs.
    pub key: Vec<crate::lotus::types::Cid>,
    /// The commitments, base64.
    pub commitments: String,
    pub epoch: i64,
    /// The CID of the power table of the instance.
    pub power_table: crate::lotus::types::Cid,
}

/// A finality certificate (`certs.FinalityCertificate`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct FinalityCertificate {
    #[serde(rename = "GPBFTInstance")]
    pub gpbft_instance: u64,
    /// The tipsets it finalizes.
    #[serde(rename = "ECChain")]
    pub ec_chain: Vec<EcTipSet>,
    /// Commitments and the next power table's CID.
    #[schema(value_type = Object)]
    pub supplemental_data: serde_json::Value,
    /// The signers, an RLE+ bitfield as run lengths.
    pub signers: Vec<u64>,
    /// The aggregate BLS signature, base64.
    pub signature: String,
    /// Changes to the power table.
    #[schema(value_type = Option<Vec<Object>>)]
    pub power_table_delta: Option<serde_json::Value>,
}

/// One participant of a power table (`gpbft.PowerEntry`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PowerEntry {
    /// The miner's actor ID.
    #[serde(rename = "ID")]
    #[schema(example = 1000)]
    pub id: u64,
    /// Its power, a decimal integer.
    #[schema(example = "34359738368")]
    pub power: String,
    /// Its BLS public key, base64.
    pub pub_key: String,
}

/// Where F3 is now (`gpbft.InstanceProgress`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct F3Progress {
    /// The instance running.
    #[serde(rename = "ID")]
    pub id: u64,
    pub round: u64,
    /// The phase: 1 QUALITY, 2 CONVERGE, 3 PREPARE, 4 COMMIT, 5 DECIDE, 6 TERMINATED.
    pub phase: u64,
    /// The chain proposed as input.
    pub input: Option<Vec<EcTipSet>>,
}

/// A miner taking part in F3 (`api.F3Participant`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct F3Participant {
    #[serde(rename = "MinerID")]
    pub miner_id: u64,
    pub from_instance: u64,
    pub validity_term: u64,
}

/// A participation lease (`api.F3ParticipationLease`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct F3ParticipationLease {
    pub network: String,
    /// The peer ID of the node that issued it.
    pub issuer: String,
    #[serde(rename = "MinerID")]
    pub miner_id: u64,
    pub from_instance: u64,
    pub validity_term: u64,
}

/// What a participation ticket is asked for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Miner": "f01000", "Instances": 5}))]
pub struct TicketRequest {
    /// The miner's address.
    #[schema(example = "f01000")]
    pub miner: String,
    /// The ticket to renew, base64; absent for a new one.
    #[serde(default)]
    pub previous_ticket: Option<String>,
    /// How many instances the lease covers: 1 to 1000.
    #[schema(minimum = 1, maximum = 1000, example = 5)]
    pub instances: u64,
}

/// A participation ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(as = F3Ticket, example = json!({"Ticket": "ZjN0aWNrZXQ="}))]
pub struct Ticket {
    /// The ticket, base64.
    #[schema(example = "ZjN0aWNrZXQ=")]
    pub ticket: String,
}

fn base64_field(name: &str, value: &str) -> Result<String, ApiError> {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(value.trim()) {
        Ok(bytes) if !bytes.is_empty() => Ok(value.trim().to_string()),
        _ => Err(ApiError::new(
            crate::error::Code::InvalidBody,
            format!(
                "invalid request body: field \"{name}\": \"{value}\" is not a ticket in base64"
            ),
        )),
    }
}

/// The latest finality certificate.
///
/// The certificate of the latest instance F3 finalized (`Filecoin.F3GetLatestCertificate`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetLatestCertificate"]))),
    responses((status = 200, description = "The certificate", body = FinalityCertificate)),
    security(("lotus_token" = ["read"]))
)]
#[get("/certificates/latest")]
pub async fn get_f3_latest_certificate(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.F3GetLatestCertificate",
        json!([]),
        false,
    )
    .await
}

/// A finality certificate.
///
/// The certificate of an F3 instance (`Filecoin.F3GetCertificate`); 404 for an instance not finalized yet.
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetCertificate"]))),
    params(InstancePath),
    responses((status = 200, description = "The certificate", body = FinalityCertificate)),
    security(("lotus_token" = ["read"]))
)]
#[get("/certificates/{instance}")]
pub async fn get_f3_certificate(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    InstancePath { instance }: InstancePath,
) -> Result<HttpResponse, ApiError> {
    // A finalized certificate never changes.
    super::read(
        &state,
        &auth.caller,
        "Filecoin.F3GetCertificate",
        json!([instance]),
        true,
    )
    .await
}

/// An instance's power table.
///
/// The power table F3 uses for an instance (`Filecoin.F3GetPowerTableByInstance`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetPowerTableByInstance"]))),
    params(InstancePath),
    responses((status = 200, description = "The power table", body = Vec<PowerEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/instances/{instance}/power-table")]
pub async fn get_f3_instance_power_table(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    InstancePath { instance }: InstancePath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.F3GetPowerTableByInstance",
        json!([instance]),
        false,
    )
    .await
}

/// The EC power table at a tipset.
///
/// The power table as expected consensus computes it from the state of the tipset selected
/// (`Filecoin.F3GetECPowerTable`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetECPowerTable"]))),
    params(params::AtTipset),
    responses((status = 200, description = "The power table", body = Vec<PowerEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/power-tables/ec")]
pub async fn get_f3_ec_power_table(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.F3GetECPowerTable",
        |key| json!([key]),
    )
    .await
}

/// The F3 power table at a tipset.
///
/// The power table F3 uses at the tipset selected (`Filecoin.F3GetF3PowerTable`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetF3PowerTable"]))),
    params(params::AtTipset),
    responses((status = 200, description = "The power table", body = Vec<PowerEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/power-tables/f3")]
pub async fn get_f3_power_table(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.F3GetF3PowerTable",
        |key| json!([key]),
    )
    .await
}

/// The F3 manifest.
///
/// The parameters F3 runs with: bootstrap epoch, network, GPBFT and EC settings (`Filecoin.F3GetManifest`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetManifest"]))),
    responses((status = 200, description = "The manifest", body = std::collections::HashMap<String, serde_json::Value>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/manifest")]
pub async fn get_f3_manifest(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.F3GetManifest",
        json!([]),
        false,
    )
    .await
}

/// F3's progress.
///
/// The instance, round and phase F3 is at, with its input chain (`Filecoin.F3GetProgress`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetProgress"]))),
    responses((status = 200, description = "The progress", body = F3Progress)),
    security(("lotus_token" = ["read"]))
)]
#[get("/progress")]
pub async fn get_f3_progress(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.F3GetProgress",
        json!([]),
        false,
    )
    .await
}

/// Whether F3 runs.
///
/// Whether the node runs F3 (`Filecoin.F3IsRunning`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3IsRunning"]))),
    responses((status = 200, description = "A JSON boolean", body = bool, content_type = "application/json", example = true)),
    security(("lotus_token" = ["read"]))
)]
#[get("/running")]
pub async fn get_f3_running(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.F3IsRunning",
        json!([]),
        false,
    )
    .await
}

/// F3 participants.
///
/// The miners that hold a participation lease on this node (`Filecoin.F3ListParticipants`).
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3ListParticipants"]))),
    responses((status = 200, description = "The participants", body = Vec<F3Participant>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/participants")]
pub async fn list_f3_participants(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.F3ListParticipants",
        json!([]),
        false,
    )
    .await
}

/// Get or renew a participation ticket.
///
/// A ticket that lets a miner take part in F3 for a number of instances, new or renewing a previous one
/// (`Filecoin.F3GetOrRenewParticipationTicket`). Give it to `POST /v1/f3/participants` to take part.
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3GetOrRenewParticipationTicket"]))),
    request_body = TicketRequest,
    responses((status = 200, description = "The ticket", body = Ticket)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/participation-tickets")]
pub async fn create_f3_participation_ticket(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    body: Body<TicketRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let miner = params::address("Miner", &body.miner)?;
    let previous = body
        .previous_ticket
        .as_deref()
        .map(|t| base64_field("PreviousTicket", t))
        .transpose()?;
    if !(1..=1000).contains(&body.instances) {
        return Err(ApiError::new(
            crate::error::Code::InvalidBody,
            format!(
                "invalid request body: field \"Instances\": {} is not from 1 to 1000",
                body.instances
            ),
        ));
    }
    let ticket: String = state
        .node
        .call(
            &auth.caller,
            "Filecoin.F3GetOrRenewParticipationTicket",
            json!([miner, previous, body.instances]),
        )
        .await?;
    let mut res = super::json_response(&Ticket { ticket }, false);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// Take part in F3.
///
/// Redeems a participation ticket: the miner takes part in F3 for the instances it covers
/// (`Filecoin.F3Participate`); it is then listed at `/v1/f3/participants`.
#[utoipa::path(
    tag = "F3",
    extensions(("x-lotus-methods" = json!(["Filecoin.F3Participate"]))),
    request_body = Ticket,
    responses((status = 201, description = "The lease granted; Location is the participants", body = F3ParticipationLease)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/participants")]
pub async fn create_f3_participant(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    body: Body<Ticket>,
) -> Result<HttpResponse, ApiError> {
    let ticket = base64_field("Ticket", &body.ticket)?;
    let lease: F3ParticipationLease = state
        .node
        .call(&auth.caller, "Filecoin.F3Participate", json!([ticket]))
        .await?;
    Ok(super::created("/v1/f3/participants", &lease))
}

/// Registers the f3 routes.
/// The routes under `/v1/f3`, in the order they are matched.
pub fn register_f3(cfg: &mut ServiceConfig) {
    cfg.service(get_f3_latest_certificate)
        .service(get_f3_certificate)
        .service(get_f3_instance_power_table)
        .service(get_f3_ec_power_table)
        .service(get_f3_power_table)
        .service(get_f3_manifest)
        .service(get_f3_progress)
        .service(get_f3_running)
        .service(list_f3_participants)
        .service(create_f3_participation_ticket)
        .service(create_f3_participant);
}
