//! Payment channels and their vouchers.
//!
//! A payment channel moves FIL from one party to another off chain: the payer funds the channel on chain, then
//! hands out signed vouchers for growing amounts; the payee redeems the best one on chain. These routes drive the
//! node's payment channel manager (`Filecoin.Paych*`), which keeps the node's channels, lanes and vouchers.

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::{ChannelPath, PartiesPath, WaitSentinelPath};
use super::lotus_json;
use super::send::address_field;
use crate::auth::{Authorized, Read, Sign, Write};
use crate::error::{ApiError, Code};
use crate::lotus::address::Address;
use crate::lotus::amount::Amount;
use crate::lotus::paych::{SignedVoucher, VoucherSpec};
use crate::lotus::types::{BigInt, Cid};
use crate::state::AppState;

/// Who controls a channel and which way it pays (Lotus's `api.PaychStatus`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PaychStatus {
    /// The node's address on the channel: the payer of an outbound channel, the payee of an inbound one.
    #[schema(example = "f0100")]
    pub control_addr: String,
    /// 1: inbound (the node is paid), 2: outbound (the node pays).
    #[schema(example = 2, minimum = 1, maximum = 2)]
    pub direction: u8,
}

/// A channel and the message the node sent for it (Lotus's `api.ChannelInfo`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelInfo {
    /// The channel's address; `<empty>` while the message creating it has not been executed.
    #[schema(example = "f01100")]
    pub channel: String,
    /// The message that creates or funds the channel; absent when no message was needed.
    pub wait_sentinel: Option<Cid>,
}

/// What a channel holds and what of it is spoken for (Lotus's `api.ChannelAvailableFunds`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelAvailableFunds {
    /// The channel; absent when there is none between the two parties.
    #[schema(example = "f01100")]
    pub channel: Option<String>,
    /// The payer.
    #[schema(example = "f0100")]
    pub from: String,
    /// The payee.
    #[schema(example = "f0101")]
    pub to: String,
    /// The amount confirmed on chain.
    pub confirmed_amt: BigInt,
    /// The amount of messages still waiting to be executed.
    pub pending_amt: BigInt,
    /// The confirmed amount not reserved by vouchers or requests.
    pub non_reserved_amt: BigInt,
    /// The pending amount not reserved.
    pub pending_available_amt: BigInt,
    /// The message to wait for before the pending amount is confirmed.
    pub pending_wait_sentinel: Option<Cid>,
    /// The amount of requests queued behind the pending message.
    pub queued_amt: BigInt,
    /// The total of the vouchers handed out. (Lotus spells the field this way.)
    pub voucher_reedeemed_amt: BigInt,
}

/// A voucher the node made, or the funds missing to make it (Lotus's `api.VoucherCreateResult`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VoucherCreateResult {
    /// The new voucher; absent when the channel does not hold enough.
    pub voucher: Option<SignedVoucher>,
    /// How much the channel lacks to cover the voucher; 0 when it was made.
    pub shortfall: BigInt,
}

/// A payment made of new vouchers (Lotus's `api.PaymentInfo`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PaymentInfo {
    /// The channel.
    #[schema(example = "f01100")]
    pub channel: String,
    /// The message that creates or funds the channel; absent when none was needed.
    pub wait_sentinel: Option<Cid>,
    /// The vouchers, one per voucher asked for.
    pub vouchers: Vec<SignedVoucher>,
}

/// A message the node signed and pushed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushedMessage {
    /// The message's CID: follow it at `/v1/messages/{cid}`.
    #[serde(rename = "CID")]
    pub cid: Cid,
}

/// A lane the node allocated.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Lane {
    /// The lane's number.
    #[schema(example = 1)]
    pub lane: u64,
}

/// What a voucher added to the node's store brings in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VoucherAdded {
    /// How much more the voucher's lane pays than the best voucher the node had for it.
    pub delta: BigInt,
}

/// Whether a voucher can be redeemed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VoucherCheck {
    /// The voucher is valid for the channel: right channel, good signature, nonce above the redeemed one, covered
    /// by the channel's balance.
    pub valid: bool,
    /// Why the voucher is not valid; absent when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "nonce too low")]
    pub reason: Option<String>,
    /// Redeeming the voucher now would pay out more than its lane has paid; always false for an invalid voucher.
    pub spendable: bool,
}

/// A channel between two parties, to get or create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f0100", "To": "f0101", "Amount": "2 FIL"}))]
pub struct ChannelRequest {
    /// The payer: an address of the node's wallet.
    #[schema(example = "f0100")]
    pub from: String,
    /// The payee.
    #[schema(example = "f0101")]
    pub to: String,
    /// The amount to add to the channel (0: only find or create it).
    #[serde(default)]
    pub amount: Amount,
    /// Do not send any message: reserve `Amount` from the funds the channel already holds.
    #[serde(default)]
    #[schema(example = false)]
    pub off_chain: bool,
}

/// Funds to add to a channel.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Amount": "1 FIL"}))]
pub struct FundsRequest {
    /// The amount to add.
    pub amount: Amount,
}

/// A voucher to make.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Amount": "0.5 FIL", "Lane": 0}))]
pub struct VoucherRequest {
    /// The total the lane pays with the new voucher (not an increment).
    pub amount: Amount,
    /// The lane.
    #[schema(example = 0)]
    pub lane: u64,
}

/// A payment: vouchers from one party to another, each on a lane of its own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f0100", "To": "f0101", "Vouchers": [{"Amount": "0.1 FIL"}]}))]
pub struct PaymentRequest {
    /// The payer: an address of the node's wallet.
    #[schema(example = "f0100")]
    pub from: String,
    /// The payee.
    #[schema(example = "f0101")]
    pub to: String,
    /// The vouchers to make, at least one.
    pub vouchers: Vec<VoucherSpec>,
}

/// A voucher received from the channel's payer, to keep.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct VoucherAddRequest {
    pub voucher: SignedVoucher,
    /// A proof for the voucher's `Extra` call, base64; absent when none.
    #[serde(default)]
    #[schema(format = Byte)]
    pub proof: Option<String>,
    /// Refuse the voucher unless it pays at least this much more than the best one the node had for its lane.
    #[serde(default)]
    pub min_delta: Amount,
}

/// A voucher to check or redeem, with what redeeming it needs.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct VoucherRedeemRequest {
    pub voucher: SignedVoucher,
    /// The secret whose hash is the voucher's `SecretHash`, base64; absent when none.
    #[serde(default)]
    #[schema(format = Byte)]
    pub secret: Option<String>,
    /// A proof for the voucher's `Extra` call, base64; absent when none.
    #[serde(default)]
    #[schema(format = Byte)]
    pub proof: Option<String>,
}

/// Which vouchers to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VoucherFilter {
    /// Only the vouchers of this lane.
    #[param(value_type = Option<u64>, minimum = 0, example = 0)]
    pub lane: Option<String>,
}

fn bad_body(field: &str, detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        Code::InvalidBody,
        format!("invalid request body: field \"{field}\": {detail}"),
    )
}

/// Checks an optional base64 body field.
fn base64_field(field: &str, value: &Option<String>) -> Result<(), ApiError> {
    use base64::Engine;
    if let Some(text) = value {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| bad_body(field, format_args!("not base64: {e}")))?;
    }
    Ok(())
}

/// Checks a voucher given in a body (under `prefix`), for the channel in the path.
fn check_voucher(prefix: &str, channel: &Address, v: &SignedVoucher) -> Result<(), ApiError> {
    let addr = address_field(&format!("{prefix}.ChannelAddr"), &v.channel_addr)?;
    if addr != channel.to_string() {
        return Err(bad_body(
            &format!("{prefix}.ChannelAddr"),
            format_args!("the voucher is for channel {addr}, not for {channel}"),
        ));
    }
    base64_field(&format!("{prefix}.SecretHash"), &v.secret_hash)?;
    if let Some(extra) = &v.extra {
        address_field(&format!("{prefix}.Extra.Actor"), &extra.actor)?;
        base64_field(&format!("{prefix}.Extra.Data"), &extra.data)?;
    }
    for (field, value) in [
        ("TimeLockMin", v.time_lock_min),
        ("TimeLockMax", v.time_lock_max),
        ("MinSettleHeight", v.min_settle_height),
    ] {
        if value < 0 {
            return Err(bad_body(
                &format!("{prefix}.{field}"),
                "must not be negative",
            ));
        }
    }
    match &v.signature {
        None => Err(bad_body(
            &format!("{prefix}.Signature"),
            "a voucher must be signed by the channel's payer",
        )),
        Some(sig) => base64_field(&format!("{prefix}.Signature.Data"), &Some(sig.data.clone())),
    }
}

/// The voucher as Lotus takes it, with its addresses in the node's network.
fn voucher_json(v: &SignedVoucher) -> Result<serde_json::Value, ApiError> {
    let mut v = v.clone();
    v.channel_addr = address_field("Voucher.ChannelAddr", &v.channel_addr)?;
    if let Some(extra) = &mut v.extra {
        extra.actor = address_field("Voucher.Extra.Actor", &extra.actor)?;
    }
    serde_json::to_value(&v).map_err(|e| ApiError::internal(format!("encoding a voucher: {e}")))
}

/// Gives the node's refusals of a payment channel operation the status they call for: an unknown channel is a 404,
/// a voucher or channel state that does not allow the operation is the client's request (400).
fn refine(mut e: ApiError) -> ApiError {
    let Some(rpc) = &e.rpc else { return e };
    let msg = rpc.message.to_ascii_lowercase();
    if msg.contains("channel not tracked") {
        e.code = Code::NotFound;
    } else if e.code == Code::UpstreamError
        && [
            "settl",
            "not enough funds",
            "insufficient funds",
            "nonce too low",
            "signature",
            "voucher",
            "no channel",
            "token amount too low",
            "collected",
            "inbound channel",
        ]
        .iter()
        .any(|s| msg.contains(s))
    {
        e.code = Code::InvalidRequest;
    }
    e
}

/// 202 for a message the node pushed: its CID, and where to follow it.
fn pushed(cid: Cid) -> HttpResponse {
    let location = format!("/v1/messages/{}", cid.root);
    super::accepted(Some(&location), &PushedMessage { cid })
}

/// The address of a channel Lotus names, or `None` while it is being created.
fn known_channel(addr: &str) -> Option<&str> {
    let addr = addr.trim();
    (!addr.is_empty() && addr != "<empty>").then_some(addr)
}

/// The payment channels of the node.
///
/// Every payment channel the node tracks, inbound and outbound, settled or not (`Filecoin.PaychList`). The node
/// keeps them in its own store, so the list is not paged.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychList"]))),
    responses((status = 200, description = "The channels' addresses", body = Vec<String>,
        example = json!(["f01100", "f01101"]))),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn list_payment_channels(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(&state, &auth.caller, "Filecoin.PaychList", json!([]), false).await
}

/// Gets or creates the channel between two parties.
///
/// Finds the node's channel from `From` to `To`, or creates one, and adds `Amount` to it (`Filecoin.PaychGet`;
/// `Filecoin.PaychList` tells an existing channel from a new one). 200 for an existing channel, 201 for a new one,
/// both with `Location: /v1/paych/{channel}`; 202 while the new channel's address is not known yet, with
/// `Location: /v1/paych/by-message/{cid}`, which answers with it once the creating message is executed.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychGet", "Filecoin.PaychList"]))),
    request_body = ChannelRequest,
    responses(
        (status = 200, description = "The existing channel", body = ChannelInfo),
        (status = 201, description = "A new channel", body = ChannelInfo),
        (status = 202, description = "A channel being created: its address is not known yet", body = ChannelInfo),
    ),
    security(("lotus_token" = ["sign"]))
)]
#[post("")]
pub async fn create_payment_channel(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    body: Body<ChannelRequest>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    let to = address_field("To", &body.to)?;
    let before = state
        .node
        .call_read(&auth.caller, "Filecoin.PaychList", json!([]), false)
        .await?;
    let before: Option<Vec<String>> = super::decode("Filecoin.PaychList", &before)?;
    let info: ChannelInfo = state
        .node
        .call(
            &auth.caller,
            "Filecoin.PaychGet",
            json!([from, to, body.amount, {"OffChain": body.off_chain}]),
        )
        .await
        .map_err(refine)?;
    Ok(channel_answer(&info, before.unwrap_or_default()))
}

fn channel_answer(info: &ChannelInfo, before: Vec<String>) -> HttpResponse {
    match known_channel(&info.channel) {
        Some(ch) => {
            let location = format!("/v1/paych/{ch}");
            if before.iter().any(|c| c == ch) {
                HttpResponse::Ok()
                    .insert_header((actix_web::http::header::LOCATION, location))
                    .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
                    .json(info)
            } else {
                super::created(&location, info)
            }
        }
        None => {
            let location = info
                .wait_sentinel
                .as_ref()
                .map(|c| format!("/v1/paych/by-message/{}", c.root));
            super::accepted(location.as_deref(), info)
        }
    }
}

/// The channel a message creates.
///
/// Waits until the message that creates (or funds) a channel is executed and answers with the channel's address
/// (`Filecoin.PaychGetWaitReady`).
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychGetWaitReady"]))),
    params(WaitSentinelPath),
    responses((status = 200, description = "The channel's address, as a JSON string", body = String,
        content_type = "application/json", example = json!("f01100"))),
    security(("lotus_token" = ["sign"]))
)]
#[get("/by-message/{cid}")]
pub async fn get_payment_channel_by_message(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    WaitSentinelPath { cid }: WaitSentinelPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_raw(&auth.caller, "Filecoin.PaychGetWaitReady", json!([cid]))
        .await
        .map_err(refine)?;
    Ok(super::lotus_json_uncached(&raw))
}

/// The funds of the channel between two parties.
///
/// What the node's channel from one party to another holds and what of it is spoken for
/// (`Filecoin.PaychAvailableFundsByFromTo`); `Channel` is absent when there is no such channel.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychAvailableFundsByFromTo"]))),
    params(PartiesPath),
    responses((status = 200, description = "The funds", body = ChannelAvailableFunds)),
    security(("lotus_token" = ["sign"]))
)]
#[get("/by-parties/{from}/{to}/funds")]
pub async fn get_payment_channel_funds_by_parties(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    PartiesPath { from, to }: PartiesPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.PaychAvailableFundsByFromTo",
            json!([from, to]),
        )
        .await
        .map_err(refine)?;
    Ok(super::lotus_json_uncached(&raw))
}

/// Makes a payment.
///
/// Makes vouchers from one party to another, each on a new lane, getting or creating the channel between them and
/// adding the funds the vouchers need (`Filecoin.PaychNewPayment`). 201 with `Location` of the channel's
/// vouchers; 202 while a new channel's address is not known yet.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychNewPayment"]))),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "The payment's vouchers", body = PaymentInfo),
        (status = 202, description = "The payment, on a channel being created", body = PaymentInfo),
    ),
    security(("lotus_token" = ["sign"]))
)]
#[post("/payments")]
pub async fn create_payment(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    body: Body<PaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    let to = address_field("To", &body.to)?;
    if body.vouchers.is_empty() {
        return Err(bad_body("Vouchers", "at least one voucher is needed"));
    }
    let mut specs = Vec::with_capacity(body.vouchers.len());
    for (i, v) in body.vouchers.iter().enumerate() {
        let mut v = v.clone();
        for (field, value) in [
            ("TimeLockMin", v.time_lock_min),
            ("TimeLockMax", v.time_lock_max),
            ("MinSettle", v.min_settle),
        ] {
            if value < 0 {
                return Err(bad_body(
                    &format!("Vouchers[{i}].{field}"),
                    "must not be negative",
                ));
            }
        }
        if let Some(extra) = &mut v.extra {
            extra.actor = address_field(&format!("Vouchers[{i}].Extra.Actor"), &extra.actor)?;
            base64_field(&format!("Vouchers[{i}].Extra.Data"), &extra.data)?;
        }
        specs.push(v);
    }
    let info: PaymentInfo = state
        .node
        .call(
            &auth.caller,
            "Filecoin.PaychNewPayment",
            json!([from, to, specs]),
        )
        .await
        .map_err(refine)?;
    Ok(match known_channel(&info.channel) {
        Some(ch) => super::created(&format!("/v1/paych/{ch}/vouchers"), &info),
        None => {
            let location = info
                .wait_sentinel
                .as_ref()
                .map(|c| format!("/v1/paych/by-message/{}", c.root));
            super::accepted(location.as_deref(), &info)
        }
    })
}

/// A payment channel.
///
/// Who controls the channel on the node's side and which way it pays (`Filecoin.PaychStatus`).
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychStatus"]))),
    params(ChannelPath),
    responses((status = 200, description = "The channel", body = PaychStatus)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_payment_channel(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_read(&auth.caller, "Filecoin.PaychStatus", json!([ch]), false)
        .await
        .map_err(refine)?;
    Ok(lotus_json(raw, false))
}

/// The funds of a payment channel.
///
/// What the channel holds and what of it is spoken for (`Filecoin.PaychAvailableFunds`).
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychAvailableFunds"]))),
    params(ChannelPath),
    responses((status = 200, description = "The funds", body = ChannelAvailableFunds)),
    security(("lotus_token" = ["sign"]))
)]
#[get("/funds")]
pub async fn get_payment_channel_funds(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_raw(&auth.caller, "Filecoin.PaychAvailableFunds", json!([ch]))
        .await
        .map_err(refine)?;
    Ok(super::lotus_json_uncached(&raw))
}

/// Adds funds to a payment channel.
///
/// Sends `Amount` from the channel's payer to the channel (`Filecoin.PaychFund`, for the parties
/// `Filecoin.PaychAvailableFunds` names). 202 with `Location` of the message.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychFund", "Filecoin.PaychAvailableFunds"]))),
    params(ChannelPath),
    request_body = FundsRequest,
    responses((status = 202, description = "The channel and the message that funds it", body = ChannelInfo)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/funds")]
pub async fn add_payment_channel_funds(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
    body: Body<FundsRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.amount.atto() == 0 {
        return Err(bad_body("Amount", "must be more than 0"));
    }
    let funds: ChannelAvailableFunds = state
        .node
        .call(&auth.caller, "Filecoin.PaychAvailableFunds", json!([ch]))
        .await
        .map_err(refine)?;
    let info: ChannelInfo = state
        .node
        .call(
            &auth.caller,
            "Filecoin.PaychFund",
            json!([funds.from, funds.to, body.amount]),
        )
        .await
        .map_err(refine)?;
    let location = info
        .wait_sentinel
        .as_ref()
        .map(|c| format!("/v1/messages/{}", c.root));
    Ok(super::accepted(location.as_deref(), &info))
}

/// Allocates a lane.
///
/// Allocates the next free lane of an outbound channel (`Filecoin.PaychAllocateLane`). 201 with `Location` of the
/// lane's vouchers.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychAllocateLane"]))),
    params(ChannelPath),
    responses((status = 201, description = "The lane", body = Lane)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/lanes")]
pub async fn create_payment_channel_lane(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
) -> Result<HttpResponse, ApiError> {
    let lane: u64 = state
        .node
        .call(&auth.caller, "Filecoin.PaychAllocateLane", json!([ch]))
        .await
        .map_err(refine)?;
    Ok(super::created(
        &format!("/v1/paych/{ch}/vouchers?lane={lane}"),
        &Lane { lane },
    ))
}

/// Settles a payment channel.
///
/// Starts the channel's settlement: after the settle delay the channel can be collected
/// (`Filecoin.PaychSettle`). 202 with `Location` of the message.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychSettle"]))),
    params(ChannelPath),
    responses((status = 202, description = "The settle message", body = PushedMessage)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/settle")]
pub async fn settle_payment_channel(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
) -> Result<HttpResponse, ApiError> {
    let cid: Cid = state
        .node
        .call(&auth.caller, "Filecoin.PaychSettle", json!([ch]))
        .await
        .map_err(refine)?;
    Ok(pushed(cid))
}

/// Collects a settled payment channel.
///
/// Pays out the redeemed vouchers to the payee and the rest to the payer, and deletes the channel actor
/// (`Filecoin.PaychCollect`). 202 with `Location` of the message.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychCollect"]))),
    params(ChannelPath),
    responses((status = 202, description = "The collect message", body = PushedMessage)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/collect")]
pub async fn collect_payment_channel(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
) -> Result<HttpResponse, ApiError> {
    let cid: Cid = state
        .node
        .call(&auth.caller, "Filecoin.PaychCollect", json!([ch]))
        .await
        .map_err(refine)?;
    Ok(pushed(cid))
}

/// The vouchers of a payment channel.
///
/// The vouchers the node made or received for the channel, optionally of one lane (`Filecoin.PaychVoucherList`).
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychVoucherList"]))),
    params(ChannelPath,
        VoucherFilter),
    responses((status = 200, description = "The vouchers", body = Vec<SignedVoucher>)),
    security(("lotus_token" = ["write"]))
)]
#[get("/vouchers")]
pub async fn list_payment_channel_vouchers(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
    filter: web::Query<VoucherFilter>,
) -> Result<HttpResponse, ApiError> {
    let lane = filter
        .lane
        .as_deref()
        .map(|l| {
            let t = l.trim();
            t.parse::<u64>()
                .ok()
                .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "invalid lane \"{l}\": expected a non-negative integer"
                    ))
                })
        })
        .transpose()?;
    let raw = state
        .node
        .call_raw(&auth.caller, "Filecoin.PaychVoucherList", json!([ch]))
        .await
        .map_err(refine)?;
    let Some(lane) = lane else {
        return Ok(super::lotus_json_uncached(&raw));
    };
    let all: Option<Vec<serde_json::Value>> =
        super::decode("Filecoin.PaychVoucherList", raw.get())?;
    let picked: Vec<serde_json::Value> = all
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v["Lane"].as_u64() == Some(lane))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(picked))
}

/// Makes a voucher.
///
/// Makes and signs a voucher on an outbound channel for the lane's new total `Amount`
/// (`Filecoin.PaychVoucherCreate`). 201 with the voucher and `Location` of the lane's vouchers; 200 with no
/// voucher and the `Shortfall` when the channel does not hold enough.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychVoucherCreate"]))),
    params(ChannelPath),
    request_body = VoucherRequest,
    responses(
        (status = 201, description = "The voucher", body = VoucherCreateResult),
        (status = 200, description = "No voucher: the channel lacks `Shortfall`", body = VoucherCreateResult),
    ),
    security(("lotus_token" = ["sign"]))
)]
#[post("/vouchers")]
pub async fn create_payment_channel_voucher(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
    body: Body<VoucherRequest>,
) -> Result<HttpResponse, ApiError> {
    let result: VoucherCreateResult = state
        .node
        .call(
            &auth.caller,
            "Filecoin.PaychVoucherCreate",
            json!([ch, body.amount, body.lane]),
        )
        .await
        .map_err(refine)?;
    Ok(match &result.voucher {
        Some(v) => super::created(&format!("/v1/paych/{ch}/vouchers?lane={}", v.lane), &result),
        None => HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(&result),
    })
}

/// Adds a received voucher.
///
/// Checks a voucher received from the channel's payer and keeps it (`Filecoin.PaychVoucherAdd`). 201 with how
/// much more it pays than the best voucher of its lane, and `Location` of the lane's vouchers.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychVoucherAdd"]))),
    params(ChannelPath),
    request_body = VoucherAddRequest,
    responses((status = 201, description = "The voucher was added", body = VoucherAdded)),
    security(("lotus_token" = ["write"]))
)]
#[post("/vouchers/received")]
pub async fn add_payment_channel_voucher(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
    body: Body<VoucherAddRequest>,
) -> Result<HttpResponse, ApiError> {
    check_voucher("Voucher", &ch, &body.voucher)?;
    base64_field("Proof", &body.proof)?;
    let voucher = voucher_json(&body.voucher)?;
    let delta: BigInt = state
        .node
        .call(
            &auth.caller,
            "Filecoin.PaychVoucherAdd",
            json!([ch, voucher, body.proof, body.min_delta]),
        )
        .await
        .map_err(refine)?;
    Ok(super::created(
        &format!("/v1/paych/{ch}/vouchers?lane={}", body.voucher.lane),
        &VoucherAdded { delta },
    ))
}

/// Checks a voucher.
///
/// Whether a voucher is valid for the channel (`Filecoin.PaychVoucherCheckValid`) and, if so, whether redeeming it
/// now would pay out anything (`Filecoin.PaychVoucherCheckSpendable`). An invalid voucher is a 200 with the reason.
#[utoipa::path(
    tag = "Payment channels",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.PaychVoucherCheckValid", "Filecoin.PaychVoucherCheckSpendable"])),
        ("x-lotus-serves" = json!(["Filecoin.PaychVoucherCheckValid", "Filecoin.PaychVoucherCheckSpendable"]))
    ),
    params(ChannelPath),
    request_body = VoucherRedeemRequest,
    responses((status = 200, description = "The verdict", body = VoucherCheck)),
    security(("lotus_token" = ["read"]))
)]
#[post("/vouchers/check")]
pub async fn check_payment_channel_voucher(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
    body: Body<VoucherRedeemRequest>,
) -> Result<HttpResponse, ApiError> {
    check_voucher("Voucher", &ch, &body.voucher)?;
    base64_field("Secret", &body.secret)?;
    base64_field("Proof", &body.proof)?;
    let voucher = voucher_json(&body.voucher)?;
    let valid = state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.PaychVoucherCheckValid",
            json!([ch, voucher]),
        )
        .await;
    let verdict = match valid {
        Ok(_) => {
            let spendable: bool = state
                .node
                .call(
                    &auth.caller,
                    "Filecoin.PaychVoucherCheckSpendable",
                    json!([ch, voucher, body.secret, body.proof]),
                )
                .await
                .map_err(refine)?;
            VoucherCheck {
                valid: true,
                reason: None,
                spendable,
            }
        }
        Err(e) => {
            let e = refine(e);
            match (&e.rpc, e.code) {
                (Some(rpc), Code::InvalidRequest | Code::UpstreamError) if rpc.code == 1 => {
                    VoucherCheck {
                        valid: false,
                        reason: Some(rpc.message.clone()),
                        spendable: false,
                    }
                }
                _ => return Err(e),
            }
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(verdict))
}

/// Redeems a voucher.
///
/// Submits a voucher to the channel actor, paying its lane's new total to the payee
/// (`Filecoin.PaychVoucherSubmit`). 202 with `Location` of the message.
#[utoipa::path(
    tag = "Payment channels",
    extensions(("x-lotus-methods" = json!(["Filecoin.PaychVoucherSubmit"]))),
    params(ChannelPath),
    request_body = VoucherRedeemRequest,
    responses((status = 202, description = "The message that redeems the voucher", body = PushedMessage)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/vouchers/submit")]
pub async fn submit_payment_channel_voucher(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ChannelPath { channel: ch }: ChannelPath,
    body: Body<VoucherRedeemRequest>,
) -> Result<HttpResponse, ApiError> {
    check_voucher("Voucher", &ch, &body.voucher)?;
    base64_field("Secret", &body.secret)?;
    base64_field("Proof", &body.proof)?;
    let voucher = voucher_json(&body.voucher)?;
    let cid: Cid = state
        .node
        .call(
            &auth.caller,
            "Filecoin.PaychVoucherSubmit",
            json!([ch, voucher, body.secret, body.proof]),
        )
        .await
        .map_err(refine)?;
    Ok(pushed(cid))
}

/// Registers the payment channel routes; the fixed paths before the ones with a channel address in their place.
/// The routes under `/v1/paych`, in the order they are matched.
pub fn register_paych(cfg: &mut ServiceConfig) {
    cfg.service(list_payment_channels)
        .service(create_payment_channel)
        .service(create_payment)
        .service(get_payment_channel_by_message)
        .service(get_payment_channel_funds_by_parties)
        .scope("/{channel}", &|cfg| {
            cfg.service(get_payment_channel)
                .service(get_payment_channel_funds)
                .service(add_payment_channel_funds)
                .service(create_payment_channel_lane)
                .service(settle_payment_channel)
                .service(collect_payment_channel)
                .service(list_payment_channel_vouchers)
                .service(create_payment_channel_voucher)
                .service(add_payment_channel_voucher)
                .service(check_payment_channel_voucher)
                .service(submit_payment_channel_voucher);
        });
}
