//! The state resources: computations over a tipset's state (calls, replays, state computation, parameters),
//! randomness and beacon entries, the circulating supply, network parameters, messages by sender or recipient,
//! waiting for a message, and actor events.

use std::collections::BTreeMap;

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::{ActorCodePath, ActorStatePath, EpochPath, MessagePath, RandomnessPath};
use super::page::{self, Page, PageOf, Shape};
use super::params::{self, AtTipset};
use super::send::OutgoingMessage;
use super::{lotus_json, lotus_json_uncached};
use crate::auth::{Authorized, Read};
use crate::error::{ApiError, Code};
use crate::lotus::types::{BeaconEntry, BigInt, Cid, Message, MessageReceipt, MsgLookup};
use crate::state::AppState;

const CID_EXAMPLE: &str = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4";

/// What a message cost in gas.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GasCost {
    pub message: Cid,
    pub gas_used: BigInt,
    pub base_fee_burn: BigInt,
    pub over_estimation_burn: BigInt,
    pub miner_penalty: BigInt,
    pub miner_tip: BigInt,
    pub refund: BigInt,
    pub total_cost: BigInt,
}

/// The result of applying a message to a state (`api.InvocResult`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InvocResult {
    pub msg_cid: Cid,
    pub msg: Message,
    pub msg_rct: MessageReceipt,
    pub gas_cost: GasCost,
    /// The execution trace: the message, its receipt, gas charges and subcalls.
    #[schema(value_type = Object)]
    pub execution_trace: Value,
    /// The error applying the message, if any.
    #[schema(example = "")]
    pub error: String,
    /// How long the execution took, in nanoseconds.
    #[schema(example = 1250000)]
    pub duration: i64,
}

/// The state computed by applying messages on top of a tipset (`api.ComputeStateOutput`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ComputeStateOutput {
    /// The resulting state root.
    pub root: Cid,
    pub trace: Vec<InvocResult>,
}

/// The code CID of each builtin actor, by actor name.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"account": {"/": "bafk2bzacedudbf7fc5va57t3tmo63snmt3en4iaidv4vo3qlyacbxaa6hlx6y"}}))]
pub struct ActorCodes(pub BTreeMap<String, Cid>);

/// Method parameters decoded into JSON, in the shape the actor type defines: usually an object, `null` for a method
/// that takes no parameters (method 0, a plain send), as Lotus answers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Value, example = json!({"A": 1}))]
pub struct DecodedParams(pub Value);

/// An actor's balance, code and decoded state (`api.ActorState`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ActorState {
    pub balance: BigInt,
    pub code: Cid,
    /// The actor's state, decoded as its actor type defines it.
    #[schema(value_type = Object, example = json!({"Address": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"}))]
    pub state: Value,
}

/// The parts of the circulating supply, in attoFIL (`api.CirculatingSupply`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CirculatingSupply {
    pub fil_vested: BigInt,
    pub fil_mined: BigInt,
    pub fil_burnt: BigInt,
    pub fil_locked: BigInt,
    pub fil_circulating: BigInt,
    pub fil_reserve_disbursed: BigInt,
}

/// The network's parameters (`api.NetworkParams`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkParams {
    #[schema(example = "mainnet")]
    pub network_name: String,
    #[schema(example = 30)]
    pub block_delay_secs: u64,
    pub consensus_miner_min_power: BigInt,
    #[schema(example = 150)]
    pub pre_commit_challenge_delay: i64,
    /// The height of every network upgrade, by name.
    #[schema(value_type = Object, example = json!({"UpgradeTockHeight": 5151000}))]
    pub fork_upgrade_params: Value,
    #[serde(rename = "Eip155ChainID")]
    #[schema(example = 314)]
    pub eip155_chain_id: u64,
    #[schema(example = 1598306400)]
    pub genesis_timestamp: u64,
}

/// One key-value entry of an actor event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = ActorEventEntry)]
pub struct EventEntry {
    #[schema(example = 3)]
    pub flags: u8,
    #[schema(example = "$type")]
    pub key: String,
    /// The codec of the value: 81 (0x51) is CBOR.
    #[schema(example = 81)]
    pub codec: u64,
    /// The value, base64.
    #[schema(format = Byte, example = "cHNlY3Rvci1hY3RpdmF0ZWQ=")]
    pub value: String,
}

/// An event an actor emitted (`types.ActorEvent`, in Lotus's camelCase).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActorEvent {
    pub entries: Vec<EventEntry>,
    #[schema(example = "f01000")]
    pub emitter: String,
    /// Whether the event was reverted by a reorg.
    pub reverted: bool,
    #[schema(example = 4863280)]
    pub height: i64,
    pub tipset_key: Vec<Cid>,
    pub msg_cid: Cid,
}

fn bad(detail: String) -> ApiError {
    ApiError::invalid_parameter(detail)
}

fn body_error(field: &str, detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        Code::InvalidBody,
        format!("invalid request body: field \"{field}\": {detail}"),
    )
}

/// Parses an integer query or path parameter within bounds.
fn int_in(name: &str, value: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    let text = value.trim();
    text.parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            bad(format!(
                "invalid {name} \"{value}\": expected an integer from {min} to {max}"
            ))
        })
}

fn base64_param(name: &str, value: &str) -> Result<String, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| bad(format!("invalid {name}: not base64: {e}")))?;
    Ok(value.trim().to_owned())
}

// ---------------------------------------------------------------------------------------------------------------
// Actors

/// Every actor.
///
/// The ID addresses of every actor in the state of the tipset selected (`Filecoin.StateListActors`), paged; the
/// list is pinned to one tipset for all its pages.
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateListActors"]))),
    params(AtTipset, Page),
    responses((status = 200, description = "A page of ID addresses", body = PageOf<String>,
        example = json!({"items": ["f00", "f01", "f02"], "next_cursor": "eyJrIjpbXSwibyI6MTAwfQ", "total": 2914613,
            "tipset": [{"/": CID_EXAMPLE}]}))),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn list_actors(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateListActors",
        |k| json!([k]),
        Shape::Array,
        &at,
        &page,
    )
    .await
}

/// An actor's decoded state.
///
/// The balance, code and decoded state of the actor at an address (`Filecoin.StateReadState`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateReadState"]))),
    params(ActorStatePath, AtTipset),
    responses((status = 200, description = "The actor's state", body = ActorState)),
    security(("lotus_token" = ["read"]))
)]
#[get("/state")]
pub async fn get_actor_state(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ActorStatePath { address }: ActorStatePath,
    at: web::Query<AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateReadState",
        |key| json!([address, key]),
    )
    .await
}

/// The robust address of an actor.
///
/// The public-key or actor address of the actor at an address, e.g. of an ID address
/// (`Filecoin.StateLookupRobustAddress`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateLookupRobustAddress"]))),
    params(ActorStatePath, AtTipset),
    responses((status = 200, description = "The robust address, as a JSON string", body = String,
        content_type = "application/json", example = json!("f2kwadjsxm5y3rbc2r7a4q6yhoyo2qhw6jd6t7d5a"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/robust")]
pub async fn get_address_robust(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ActorStatePath { address }: ActorStatePath,
    at: web::Query<AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateLookupRobustAddress",
        |key| json!([address, key]),
    )
    .await
}

/// The Ethereum address of an actor.
///
/// The 0x address of the actor at a Filecoin address, in the head's state: its delegated address, or its
/// ID-masked address (`Filecoin.FilecoinAddressToEthAddress`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.FilecoinAddressToEthAddress"]))),
    params(ActorStatePath),
    responses((status = 200, description = "The Ethereum address, as a JSON string", body = String,
        content_type = "application/json", example = json!("0xff000000000000000000000000000000000003e8"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/eth")]
pub async fn get_address_eth(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ActorStatePath { address }: ActorStatePath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.FilecoinAddressToEthAddress",
        json!([address]),
        false,
    )
    .await
}

/// A state root pair to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateRoots {
    /// The older state root CID.
    #[param(value_type = String, pattern = "^[A-Za-z0-9]+$", example = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4")]
    pub from: Option<String>,
    /// The newer state root CID.
    #[param(value_type = String, pattern = "^[A-Za-z0-9]+$", example = "bafy2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve")]
    pub to: Option<String>,
}

/// The actors changed between two state roots.
///
/// Every actor whose state differs between two state roots, with its state in the newer one
/// (`Filecoin.StateChangedActors`), paged; each entry carries its `Address`.
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateChangedActors", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(StateRoots, Page),
    responses((status = 200, description = "A page of changed actors, each with its `Address`", body = PageOf<crate::lotus::types::Actor>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/changes")]
pub async fn list_state_changes(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    roots: web::Query<StateRoots>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let need = |name: &str, v: &Option<String>| match v {
        Some(v) => params::cid(name, v),
        None => Err(bad(format!("{name} is required: a state root CID"))),
    };
    let from = need("from", &roots.from)?;
    let to = need("to", &roots.to)?;
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateChangedActors",
        |_| json!([from, to]),
        Shape::Map("Address"),
        &AtTipset::default(),
        &page,
    )
    .await
}

/// A network version.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NetworkVersion {
    /// The network version.
    #[param(value_type = u32, minimum = 0, maximum = 1000, example = 25)]
    pub network_version: Option<String>,
}

impl NetworkVersion {
    fn get(&self) -> Result<i64, ApiError> {
        match &self.network_version {
            Some(v) => int_in("network_version", v, 0, 1000),
            None => Err(bad(
                "network_version is required: a network version, e.g. 25".into(),
            )),
        }
    }
}

/// The code CIDs of the builtin actors.
///
/// The code CID of every builtin actor at a network version, by actor name (`Filecoin.StateActorCodeCIDs`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateActorCodeCIDs"]))),
    params(NetworkVersion),
    responses((status = 200, description = "Code CIDs by actor name", body = ActorCodes,
        example = json!({"account": {"/": CID_EXAMPLE}}))),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_actor_codes(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    nv: web::Query<NetworkVersion>,
) -> Result<HttpResponse, ApiError> {
    let nv = nv.get()?;
    super::read(
        &state,
        &auth.caller,
        "Filecoin.StateActorCodeCIDs",
        json!([nv]),
        true,
    )
    .await
}

/// The manifest of the builtin actors.
///
/// The CID of the builtin actors' manifest at a network version (`Filecoin.StateActorManifestCID`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateActorManifestCID"]))),
    params(NetworkVersion),
    responses((status = 200, description = "The manifest CID", body = Cid)),
    security(("lotus_token" = ["read"]))
)]
#[get("/manifest")]
pub async fn get_actor_manifest(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    nv: web::Query<NetworkVersion>,
) -> Result<HttpResponse, ApiError> {
    let nv = nv.get()?;
    super::read(
        &state,
        &auth.caller,
        "Filecoin.StateActorManifestCID",
        json!([nv]),
        true,
    )
    .await
}

/// Parameters to decode.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Method": 2, "Params": "eyJBIjoxfQ=="}))]
pub struct DecodeParamsRequest {
    /// The method the parameters are for.
    #[schema(example = 2)]
    pub method: u64,
    /// The parameters, CBOR in base64.
    #[schema(format = Byte, example = "eyJBIjoxfQ==")]
    pub params: String,
}

/// Decoded method parameters.
///
/// Decodes the parameters of a method of the actor at an address, as its actor type defines them
/// (`Filecoin.StateDecodeParams`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateDecodeParams"]))),
    params(ActorStatePath, AtTipset),
    request_body = DecodeParamsRequest,
    responses((status = 200, description = "The decoded parameters", body = DecodedParams, example = json!({"A": 1}))),
    security(("lotus_token" = ["read"]))
)]
#[post("/params/decode")]
pub async fn get_decoded_params(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ActorStatePath { address }: ActorStatePath,
    at: web::Query<AtTipset>,
    body: Body<DecodeParamsRequest>,
) -> Result<HttpResponse, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(&body.params)
        .map_err(|e| body_error("Params", format!("not base64: {e}")))?;
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateDecodeParams",
        |key| json!([address, body.method, body.params, key]),
    )
    .await
}

/// Parameters to encode.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Method": 2, "Params": {"A": 1}}))]
pub struct EncodeParamsRequest {
    /// The method the parameters are for.
    #[schema(example = 2)]
    pub method: u64,
    /// The parameters, as JSON in the shape the actor type defines.
    #[schema(value_type = Object)]
    pub params: Value,
}

/// Encoded method parameters.
///
/// Encodes JSON parameters of a method of an actor type, given by its code CID, into the bytes a message carries
/// (`Filecoin.StateEncodeParams`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateEncodeParams"]))),
    params(ActorCodePath),
    request_body = EncodeParamsRequest,
    responses((status = 200, description = "The encoded parameters, base64, as a JSON string", body = String,
        content_type = "application/json", example = json!("eyJBIjoxfQ=="))),
    security(("lotus_token" = ["read"]))
)]
#[post("/{code}/params/encode")]
pub async fn get_encoded_params(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ActorCodePath { code }: ActorCodePath,
    body: Body<EncodeParamsRequest>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.StateEncodeParams",
        json!([code, body.method, body.params]),
        false,
    )
    .await
}

// ---------------------------------------------------------------------------------------------------------------
// State computations

/// The result of a message applied to a state.
///
/// Applies a message on top of the state of the tipset selected without putting it on chain, and returns the
/// receipt, gas cost and trace (`Filecoin.StateCall`). Gas values left out are not limited.
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateCall"]))),
    params(AtTipset),
    request_body(content = OutgoingMessage, example = json!({"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234", "Value": "1 FIL"})),
    responses((status = 200, description = "The result of applying the message", body = InvocResult)),
    security(("lotus_token" = ["read"]))
)]
#[post("/call")]
pub async fn get_call_result(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<AtTipset>,
    body: Body<OutgoingMessage>,
) -> Result<HttpResponse, ApiError> {
    let message = body.to_lotus()?;
    super::read_at(&state, &auth.caller, &at, "Filecoin.StateCall", |key| {
        json!([message, key])
    })
    .await
}

/// Messages to apply on top of a tipset.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ComputeStateRequest {
    /// The height to compute the state at: at or above the tipset selected (null rounds in between run cron).
    #[schema(example = 100)]
    pub height: i64,
    /// The messages to apply, in order.
    #[serde(default)]
    pub messages: Vec<OutgoingMessage>,
}

/// The most messages one state computation applies.
const MAX_COMPUTE_MESSAGES: usize = 1000;

/// A state computed from a tipset and messages.
///
/// Applies messages on top of the state of the tipset selected, running to the given height, and returns the
/// resulting state root and the trace of each message (`Filecoin.StateCompute`).
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateCompute"]))),
    params(AtTipset),
    request_body(content = ComputeStateRequest, example = json!({"Height": 100, "Messages": [{"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234", "Value": "1 FIL"}]})),
    responses((status = 200, description = "The state root and traces", body = ComputeStateOutput)),
    security(("lotus_token" = ["read"]))
)]
#[post("/compute")]
pub async fn get_computed_state(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<AtTipset>,
    body: Body<ComputeStateRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.height < 0 {
        return Err(body_error("Height", "must not be negative"));
    }
    if body.messages.len() > MAX_COMPUTE_MESSAGES {
        return Err(body_error(
            "Messages",
            format!("at most {MAX_COMPUTE_MESSAGES} messages"),
        ));
    }
    let messages = body
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.to_lotus().map_err(|mut e| {
                e.detail = e
                    .detail
                    .replace("field \"", &format!("field \"Messages[{i}]."));
                e
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    super::read_at(&state, &auth.caller, &at, "Filecoin.StateCompute", |key| {
        json!([body.height, messages, key])
    })
    .await
}

/// The deals of a sector to compute the unsealed CID of.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct DataCidRequest {
    /// The storage miner.
    #[schema(example = "f01000")]
    pub miner: String,
    /// The sector's seal proof type (`abi.RegisteredSealProof`), 0 to 14.
    #[schema(example = 8)]
    pub seal_proof: i64,
    /// The deals in the sector, in order.
    #[serde(rename = "DealIDs")]
    #[schema(example = json!([5432]))]
    pub deal_ids: Vec<u64>,
}

/// The unsealed CID of a sector's deals.
///
/// The unsealed (data) CID a sector holding the given deals of a miner would have (`Filecoin.StateComputeDataCID`).
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateComputeDataCID"]))),
    params(AtTipset),
    request_body(content = DataCidRequest, example = json!({"Miner": "f01000", "SealProof": 8, "DealIDs": [5432]})),
    responses((status = 200, description = "The unsealed CID", body = Cid)),
    security(("lotus_token" = ["read"]))
)]
#[post("/data-cid")]
pub async fn get_data_cid(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<AtTipset>,
    body: Body<DataCidRequest>,
) -> Result<HttpResponse, ApiError> {
    let miner = super::send::address_field("Miner", &body.miner)?;
    if !(0..=14).contains(&body.seal_proof) {
        return Err(body_error(
            "SealProof",
            "expected a seal proof type from 0 to 14",
        ));
    }
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateComputeDataCID",
        |key| json!([miner, body.seal_proof, body.deal_ids, key]),
    )
    .await
}

/// A message replayed.
///
/// Replays a message executed on chain and returns its receipt, gas cost and execution trace
/// (`Filecoin.StateReplay`). With a tipset selected, the message must have been executed in it; otherwise it is
/// searched for from the head.
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateReplay"]))),
    params(MessagePath, AtTipset),
    responses((status = 200, description = "The replay", body = InvocResult)),
    security(("lotus_token" = ["read"]))
)]
#[get("/replay")]
pub async fn get_message_replay(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MessagePath { cid }: MessagePath,
    at: web::Query<AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    super::read(
        &state,
        &auth.caller,
        "Filecoin.StateReplay",
        json!([at.key, cid]),
        at.immutable,
    )
    .await
}

/// How long to wait for a message.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitOptions {
    /// How many epochs must follow the one executing the message: 0 to 900, default 5.
    #[param(value_type = Option<u32>, minimum = 0, maximum = 900, example = 5)]
    pub confidence: Option<String>,
    /// How many epochs back from the head to look for the message: 1 to 86400, default 2880.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 86400, example = 2880)]
    pub limit: Option<String>,
}

/// A message's receipt, once confirmed.
///
/// Waits until the message has been executed and `confidence` epochs have followed, then answers with its
/// receipt (`Filecoin.StateWaitMsg`). The wait is bounded by the gateway's timeout for calls to the node: a
/// message not executed and confirmed by then is answered 404 `message_not_found`, and the request can be
/// repeated.
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateWaitMsg"]))),
    params(MessagePath, WaitOptions),
    responses((status = 200, description = "The receipt and the tipset that executed the message", body = MsgLookup)),
    security(("lotus_token" = ["read"]))
)]
#[get("/wait")]
pub async fn get_message_confirmation(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MessagePath { cid }: MessagePath,
    opts: web::Query<WaitOptions>,
) -> Result<HttpResponse, ApiError> {
    let confidence = match &opts.confidence {
        Some(v) => int_in("confidence", v, 0, 900)?,
        None => 5,
    };
    let limit = match &opts.limit {
        Some(v) => int_in("limit", v, 1, 86400)?,
        None => 2880,
    };
    let timeout = state.node.timeout();
    // Answer before the call to the node times out, so that the caller hears why.
    let deadline = (timeout * 9 / 10).max(std::time::Duration::from_millis(50));
    let not_yet = || {
        ApiError::new(
            Code::MessageNotFound,
            format!(
                "message {} was not executed with {confidence} confirmations within {} ms; it may still be pending: repeat the request to wait longer",
                cid.root,
                deadline.as_millis()
            ),
        )
    };
    let call = state.node.call_raw(
        &auth.caller,
        "Filecoin.StateWaitMsg",
        json!([cid, confidence, limit, true]),
    );
    match tokio::time::timeout(deadline, call).await {
        Err(_) => Err(not_yet()),
        Ok(Err(e)) if e.code == Code::UpstreamTimeout => Err(not_yet()),
        Ok(Err(e)) if e.detail.contains("context deadline exceeded") => Err(not_yet()),
        Ok(Err(mut e)) if e.code == Code::NotFound => {
            e.code = Code::MessageNotFound;
            Err(e)
        }
        Ok(Err(e)) => Err(e),
        Ok(Ok(raw)) if raw.get() == "null" => Err(not_yet()),
        Ok(Ok(raw)) => Ok(lotus_json_uncached(&raw)),
    }
}

/// Messages by sender or recipient.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageFilter {
    /// Messages to this address. At least one of `to` and `from` is required.
    #[param(value_type = Option<String>, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01234")]
    pub to: Option<String>,
    /// Messages from this address.
    #[param(value_type = Option<String>, pattern = "^[ft][0-4][a-z0-9]*$", example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub from: Option<String>,
    /// The lowest height to look at; default 0.
    #[param(value_type = Option<u64>, minimum = 0, example = 100)]
    pub min_height: Option<String>,
}

/// Messages sent to or from an address.
///
/// The CIDs of the messages in the chain up to the tipset selected, from `min_height` on, sent to `to` and/or from
/// `from`, newest first (`Filecoin.StateListMessages`), paged.
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateListMessages"]))),
    params(MessageFilter, AtTipset, Page),
    responses((status = 200, description = "A page of message CIDs", body = PageOf<Cid>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/messages")]
pub async fn list_state_messages(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    filter: web::Query<MessageFilter>,
    at: web::Query<AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let to = filter
        .to
        .as_deref()
        .map(|a| params::address("to", a))
        .transpose()?;
    let from = filter
        .from
        .as_deref()
        .map(|a| params::address("from", a))
        .transpose()?;
    if to.is_none() && from.is_none() {
        return Err(bad(
            "give to, from or both: the address messages were sent to or from".into(),
        ));
    }
    let min_height = match &filter.min_height {
        Some(h) => params::height("min_height", h)?,
        None => 0,
    };
    let mut matcher = serde_json::Map::new();
    if let Some(to) = to {
        matcher.insert("To".into(), Value::String(to));
    }
    if let Some(from) = from {
        matcher.insert("From".into(), Value::String(from));
    }
    let matcher = Value::Object(matcher);
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateListMessages",
        |k| json!([matcher, k, min_height]),
        Shape::Array,
        &at,
        &page,
    )
    .await
}

// ---------------------------------------------------------------------------------------------------------------
// Chain-wide values

/// The circulating supply.
///
/// The FIL in circulation in the state of the tipset selected, in attoFIL, as a JSON string
/// (`Filecoin.StateCirculatingSupply`).
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateCirculatingSupply"]))),
    params(AtTipset),
    responses((status = 200, description = "The circulating supply in attoFIL", body = BigInt,
        content_type = "application/json", example = json!("629718223488012345678901234"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/circulating")]
pub async fn get_circulating_supply(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateCirculatingSupply",
        |key| json!([key]),
    )
    .await
}

/// The supply and its parts.
///
/// The FIL vested, mined, burnt, locked, in circulation and disbursed from the reserve, as the VM computes them
/// (`Filecoin.StateVMCirculatingSupplyInternal`).
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateVMCirculatingSupplyInternal"]))),
    params(AtTipset),
    responses((status = 200, description = "The supply's parts", body = CirculatingSupply)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_supply(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateVMCirculatingSupplyInternal",
        |key| json!([key]),
    )
    .await
}

/// The network's parameters.
///
/// The network name, block time, upgrade heights, EIP-155 chain ID and genesis time
/// (`Filecoin.StateGetNetworkParams`).
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetNetworkParams"]))),
    responses((status = 200, description = "The parameters", body = NetworkParams)),
    security(("lotus_token" = ["read"]))
)]
#[get("/params")]
pub async fn get_network_params(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.StateGetNetworkParams",
        json!([]),
        false,
    )
    .await
}

/// The beacon entry of an epoch.
///
/// The drand beacon entry for an epoch (`Filecoin.StateGetBeaconEntry`). An epoch above the head is refused: the
/// node would wait for it.
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetBeaconEntry", "Filecoin.ChainHead"]))),
    params(EpochPath),
    responses((status = 200, description = "The beacon entry", body = BeaconEntry)),
    security(("lotus_token" = ["read"]))
)]
#[get("/entries/{epoch}")]
pub async fn get_beacon_entry(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    EpochPath { epoch }: EpochPath,
) -> Result<HttpResponse, ApiError> {
    let head = match state.head.height() {
        Some(h) => h,
        None => {
            let head = state
                .node
                .call_read(&auth.caller, "Filecoin.ChainHead", json!([]), false)
                .await?;
            let head: params::HeightOnly = super::decode("Filecoin.ChainHead", &head)?;
            state.head.observe(head.height);
            head.height
        }
    };
    if epoch > head {
        return Err(bad(format!(
            "epoch {epoch} is beyond the current head of the chain ({head})"
        )));
    }
    let immutable = state.head.is_final(epoch);
    super::read(
        &state,
        &auth.caller,
        "Filecoin.StateGetBeaconEntry",
        json!([epoch]),
        immutable,
    )
    .await
}

/// Which randomness to draw.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RandomnessQuery {
    /// The epoch to draw randomness from: at or below the tipset selected.
    #[param(value_type = u64, minimum = 0, example = 100)]
    pub epoch: Option<String>,
    /// The domain separation tag (`crypto.DomainSeparationTag`), 1 to 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 2)]
    pub personalization: Option<String>,
    /// Entropy mixed in, base64; default none.
    #[param(value_type = Option<String>, format = Byte, example = "AQID")]
    pub entropy: Option<String>,
}

/// Refuses an epoch above the tipset randomness is drawn at, when the request tells it or the head is known.
fn check_randomness_epoch(state: &AppState, epoch: i64, at: &AtTipset) -> Result<(), ApiError> {
    let (top, what) = match (&at.height, &at.tipset) {
        (Some(h), None) if at.null_round.is_none() => {
            (Some(params::height("height", h)?), "height")
        }
        (None, None) => (state.head.height(), "the head"),
        _ => (None, ""),
    };
    match top {
        Some(top) if epoch > top => Err(bad(format!(
            "epoch {epoch} is above {what} ({top}): randomness cannot be drawn from the future"
        ))),
        _ => Ok(()),
    }
}

/// Randomness for an epoch.
///
/// Randomness drawn from the chain's tickets (`Filecoin.StateGetRandomnessFromTickets`) or the drand beacon
/// (`Filecoin.StateGetRandomnessFromBeacon`) at an epoch, with a domain separation tag and entropy, as a base64
/// JSON string.
#[utoipa::path(
    tag = "State",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.StateGetRandomnessFromTickets", "Filecoin.StateGetRandomnessFromBeacon"])),
        ("x-lotus-serves" = json!(["Filecoin.StateGetRandomnessFromTickets", "Filecoin.StateGetRandomnessFromBeacon"]))
    ),
    params(RandomnessPath, RandomnessQuery, AtTipset),
    responses((status = 200, description = "32 bytes of randomness, base64, as a JSON string", body = String,
        content_type = "application/json", example = json!("m3fc0I0PsSoEkqGdpMyZhC2NfSMGC5YCfbkCnhUpKYk="))),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_randomness(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    RandomnessPath { source }: RandomnessPath,
    q: web::Query<RandomnessQuery>,
    at: web::Query<AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let method = source.pick(
        "Filecoin.StateGetRandomnessFromTickets",
        "Filecoin.StateGetRandomnessFromBeacon",
    );
    let epoch = match &q.epoch {
        Some(e) => params::height("epoch", e)?,
        None => {
            return Err(bad(
                "epoch is required: the epoch to draw randomness from".into()
            ))
        }
    };
    let personalization = match &q.personalization {
        Some(p) => int_in("personalization", p, 1, 100)?,
        None => {
            return Err(bad(
                "personalization is required: a domain separation tag from 1 to 100".into(),
            ))
        }
    };
    let entropy = match &q.entropy {
        Some(e) => base64_param("entropy", e)?,
        None => String::new(),
    };
    check_randomness_epoch(&state, epoch, &at)?;
    super::read_at(&state, &auth.caller, &at, method, |key| {
        json!([personalization, epoch, entropy, key])
    })
    .await
}

/// The epoch of a randomness digest.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DigestQuery {
    /// The epoch to draw the digest from: at or below the tipset selected.
    #[param(value_type = u64, minimum = 0, example = 100)]
    pub epoch: Option<String>,
}

/// The randomness digest of an epoch.
///
/// The digest the chain's tickets (`Filecoin.StateGetRandomnessDigestFromTickets`) or the drand beacon
/// (`Filecoin.StateGetRandomnessDigestFromBeacon`) give for an epoch, before a domain separation tag and entropy
/// are mixed in, as a base64 JSON string.
#[utoipa::path(
    tag = "State",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.StateGetRandomnessDigestFromTickets", "Filecoin.StateGetRandomnessDigestFromBeacon"])),
        ("x-lotus-serves" = json!(["Filecoin.StateGetRandomnessDigestFromTickets", "Filecoin.StateGetRandomnessDigestFromBeacon"]))
    ),
    params(RandomnessPath, DigestQuery, AtTipset),
    responses((status = 200, description = "32 bytes, base64, as a JSON string", body = String,
        content_type = "application/json", example = json!("m3fc0I0PsSoEkqGdpMyZhC2NfSMGC5YCfbkCnhUpKYk="))),
    security(("lotus_token" = ["read"]))
)]
#[get("/digest")]
pub async fn get_randomness_digest(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    RandomnessPath { source }: RandomnessPath,
    q: web::Query<DigestQuery>,
    at: web::Query<AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let method = source.pick(
        "Filecoin.StateGetRandomnessDigestFromTickets",
        "Filecoin.StateGetRandomnessDigestFromBeacon",
    );
    let epoch = match &q.epoch {
        Some(e) => params::height("epoch", e)?,
        None => {
            return Err(bad(
                "epoch is required: the epoch to draw the digest from".into()
            ))
        }
    };
    check_randomness_epoch(&state, epoch, &at)?;
    super::read_at(&state, &auth.caller, &at, method, |key| json!([epoch, key])).await
}

// ---------------------------------------------------------------------------------------------------------------
// Events

/// How many epochs an event query may span, as Lotus's default `MaxFilterHeightRange`.
pub const MAX_EVENT_RANGE: i64 = 2880;
/// The most emitter addresses one query may name.
const MAX_EVENT_ADDRESSES: usize = 100;

/// One value an event entry must have.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventValue {
    /// The value's codec: 81 (0x51) is CBOR.
    #[schema(example = 81)]
    pub codec: u64,
    /// The value, base64.
    #[schema(format = Byte, example = "cHNlY3Rvci1hY3RpdmF0ZWQ=")]
    pub value: String,
}

/// Which actor events to return (`types.ActorEventFilter`, in Lotus's camelCase). Without heights or a tipset,
/// the head's events.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventFilter {
    /// Events emitted by any of these actors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["f01000"]))]
    pub addresses: Option<Vec<String>>,
    /// Events with an entry of each key, with one of the values given (any value for an empty list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<EventValue>>>,
    /// The lowest height, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 100)]
    pub from_height: Option<i64>,
    /// The highest height, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 200)]
    pub to_height: Option<i64>,
    /// The events of this tipset only; exclusive with the heights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipset_key: Option<Vec<Cid>>,
}

impl EventFilter {
    /// Checks the filter; `field` names where a bad value is (`body` or `query`).
    fn check(mut self, in_body: bool) -> Result<Self, ApiError> {
        let err = |field: &str, detail: String| {
            if in_body {
                body_error(field, detail)
            } else {
                bad(format!("invalid {field}: {detail}"))
            }
        };
        let (from_name, to_name, addr_name, key_name) = if in_body {
            ("fromHeight", "toHeight", "addresses", "tipsetKey")
        } else {
            ("from_height", "to_height", "address", "tipset")
        };
        if let Some(list) = &mut self.addresses {
            if list.len() > MAX_EVENT_ADDRESSES {
                return Err(err(
                    addr_name,
                    format!("at most {MAX_EVENT_ADDRESSES} addresses"),
                ));
            }
            for (i, a) in list.iter_mut().enumerate() {
                *a = crate::lotus::address::Address::parse(a.trim())
                    .map(|a| a.to_string())
                    .map_err(|e| {
                        err(
                            &if in_body {
                                format!("{addr_name}[{i}]")
                            } else {
                                addr_name.to_owned()
                            },
                            e,
                        )
                    })?;
            }
        }
        for (name, h) in [(from_name, self.from_height), (to_name, self.to_height)] {
            if matches!(h, Some(h) if h < 0) {
                return Err(err(name, "must not be negative".into()));
            }
        }
        if let Some(key) = &self.tipset_key {
            if self.from_height.is_some() || self.to_height.is_some() {
                return Err(err(
                    key_name,
                    format!("give either {key_name} or heights, not both"),
                ));
            }
            if key.is_empty() {
                return Err(err(key_name, "expected one or more block CIDs".into()));
            }
            for c in key {
                crate::lotus::address::parse_cid(&c.root).map_err(|e| err(key_name, e))?;
            }
        }
        if let (Some(from), Some(to)) = (self.from_height, self.to_height) {
            if from > to {
                return Err(err(from_name, format!("{from} is above {to_name} {to}")));
            }
            if to - from > MAX_EVENT_RANGE {
                return Err(err(
                    to_name,
                    format!("the range spans more than {MAX_EVENT_RANGE} epochs"),
                ));
            }
        }
        if let Some(fields) = &self.fields {
            use base64::Engine;
            for (k, values) in fields {
                for v in values {
                    base64::engine::general_purpose::STANDARD
                        .decode(&v.value)
                        .map_err(|e| {
                            err(
                                &if in_body {
                                    format!("fields.{k}.value")
                                } else {
                                    "key".to_owned()
                                },
                                format!("not base64: {e}"),
                            )
                        })?;
                }
            }
        }
        Ok(self)
    }
}

/// Which actor events to list, in the query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Events emitted by any of these actors, separated by commas.
    #[param(value_type = Option<String>, example = "f01000,f01001")]
    pub address: Option<String>,
    /// The lowest height, inclusive; default the head.
    #[param(value_type = Option<u64>, minimum = 0, example = 100)]
    pub from_height: Option<String>,
    /// The highest height, inclusive; default the head. At most 2880 epochs above `from_height`.
    #[param(value_type = Option<u64>, minimum = 0, example = 200)]
    pub to_height: Option<String>,
    /// The events of the tipset with this key (block CIDs separated by commas); exclusive with the heights.
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$", example = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4")]
    pub tipset: Option<String>,
    /// Events with an entry of this key, separated by commas for several keys (all must be present).
    #[param(value_type = Option<String>, example = "$type")]
    pub key: Option<String>,
}

async fn events(
    state: &AppState,
    auth: &Authorized<Read>,
    filter: EventFilter,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.GetActorEventsRaw",
            json!([filter]),
            false,
        )
        .await?;
    // A null list is no events.
    if &*raw == "null" {
        return Ok(super::json_response(&json!([]), false));
    }
    Ok(lotus_json(raw, false))
}

/// Actor events.
///
/// The events actors emitted in a range of heights or one tipset, filtered by emitter and entry keys
/// (`Filecoin.GetActorEventsRaw`). Lotus caps how many events one query returns; narrow the range for more.
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.GetActorEventsRaw"]))),
    params(EventQuery),
    responses((status = 200, description = "The events, oldest first", body = Vec<ActorEvent>)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn list_events(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    q: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let split = |v: &str| -> Vec<String> { v.split(',').map(|s| s.trim().to_owned()).collect() };
    let tipset_key = match &q.tipset {
        Some(k) => Some(
            serde_json::from_value::<Vec<Cid>>(params::tipset_key("tipset", k)?)
                .map_err(|e| ApiError::internal(format!("re-reading a tipset key: {e}")))?,
        ),
        None => None,
    };
    let keys = q.key.as_deref().map(split);
    if let Some(keys) = &keys {
        if keys.iter().any(String::is_empty) {
            return Err(bad(
                "invalid key: expected one or more entry keys separated by commas".into(),
            ));
        }
    }
    let filter = EventFilter {
        addresses: q.address.as_deref().map(split),
        fields: keys.map(|keys| keys.into_iter().map(|k| (k, Vec::new())).collect()),
        from_height: q
            .from_height
            .as_deref()
            .map(|h| params::height("from_height", h))
            .transpose()?,
        to_height: q
            .to_height
            .as_deref()
            .map(|h| params::height("to_height", h))
            .transpose()?,
        tipset_key,
    }
    .check(false)?;
    events(&state, &auth, filter).await
}

/// Actor events, by a full filter.
///
/// The events matching a filter given in the body, with entry values to match as well as keys
/// (`Filecoin.GetActorEventsRaw`).
#[utoipa::path(
    tag = "State",
    extensions(("x-lotus-methods" = json!(["Filecoin.GetActorEventsRaw"]))),
    request_body(content = EventFilter, example = json!({"addresses": ["f01000"], "fields": {"$type": [{"codec": 81, "value": "cHNlY3Rvci1hY3RpdmF0ZWQ="}]}, "fromHeight": 100, "toHeight": 200})),
    responses((status = 200, description = "The events, oldest first", body = Vec<ActorEvent>)),
    security(("lotus_token" = ["read"]))
)]
#[post("/query")]
pub async fn list_events_by_filter(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    body: Body<EventFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = body.into_inner().check(true)?;
    events(&state, &auth, filter).await
}

/// The routes under `/v1/actors` with a fixed path, in the order they are matched.
pub fn register_actors(cfg: &mut ServiceConfig) {
    cfg.service(list_actors);
}

/// The routes under `/v1/actors/{address}` this module declares, in the order they are matched.
pub fn register_actor(cfg: &mut ServiceConfig) {
    cfg.service(get_actor_state).service(get_decoded_params);
}

/// The routes under `/v1/addresses/{address}` this module declares, in the order they are matched.
pub fn register_address(cfg: &mut ServiceConfig) {
    cfg.service(get_address_robust).service(get_address_eth);
}

/// The routes under `/v1/state`, in the order they are matched.
pub fn register_state(cfg: &mut ServiceConfig) {
    cfg.service(list_state_changes)
        .service(get_call_result)
        .service(get_computed_state)
        .service(get_data_cid)
        .service(list_state_messages);
}

/// The routes under `/v1/actor-codes`, in the order they are matched.
pub fn register_actor_codes(cfg: &mut ServiceConfig) {
    cfg.service(get_actor_codes)
        .service(get_actor_manifest)
        .service(get_encoded_params);
}

/// The routes under `/v1/messages/{cid}` this module declares, in the order they are matched.
pub fn register_message(cfg: &mut ServiceConfig) {
    cfg.service(get_message_replay)
        .service(get_message_confirmation);
}

/// The routes under `/v1/supply`, in the order they are matched.
pub fn register_supply(cfg: &mut ServiceConfig) {
    cfg.service(get_circulating_supply).service(get_supply);
}

/// The routes under `/v1/network`, in the order they are matched.
pub fn register_network(cfg: &mut ServiceConfig) {
    cfg.service(get_network_params);
}

/// The routes under `/v1/beacon`, in the order they are matched.
pub fn register_beacon(cfg: &mut ServiceConfig) {
    cfg.service(get_beacon_entry);
}

/// The routes under `/v1/randomness`, in the order they are matched.
pub fn register_randomness(cfg: &mut ServiceConfig) {
    cfg.scope("/{source}", &|cfg| {
        cfg.service(get_randomness).service(get_randomness_digest);
    });
}

/// The routes under `/v1/events`, in the order they are matched.
pub fn register_events(cfg: &mut ServiceConfig) {
    cfg.service(list_events).service(list_events_by_filter);
}
