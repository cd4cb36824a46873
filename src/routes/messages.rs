//! Messages and their execution.

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::MessagePath;
use super::lotus_json;
use super::params;
use super::send::{self, OutgoingMessage, SendSpec};
use crate::auth::{Authorized, Read, Sign, Write};
use crate::error::{ApiError, Code};
use crate::lotus::amount::Amount;
use crate::lotus::types::{Cid, Message, MsgLookup, SignedMessage};
use crate::state::AppState;

/// A message with its nonce and gas values given, as a client writes it: amounts in attoFIL or with a unit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MessageBody {
    /// The message format version: 0.
    #[serde(default)]
    #[schema(example = 0, minimum = 0, maximum = 0)]
    pub version: u64,
    /// The sender.
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub from: String,
    /// The recipient.
    #[schema(example = "f01234")]
    pub to: String,
    /// The sender's nonce this message takes.
    #[serde(default)]
    #[schema(example = 42)]
    pub nonce: u64,
    /// The amount to transfer.
    #[serde(default)]
    pub value: Amount,
    /// The actor method to invoke; 0 is a plain transfer.
    #[serde(default)]
    #[schema(example = 0)]
    pub method: u64,
    /// The method's parameters, CBOR in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte, example = "")]
    pub params: Option<String>,
    /// The gas limit.
    #[serde(default)]
    #[schema(example = 2_000_000, minimum = 0)]
    pub gas_limit: i64,
    /// The most paid per unit of gas.
    #[serde(default)]
    pub gas_fee_cap: Amount,
    /// The tip per unit of gas for the block producer.
    #[serde(default)]
    pub gas_premium: Amount,
}

/// An invalid body field, as a 400.
pub fn field_error(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        Code::InvalidBody,
        format!("invalid request body: field \"{field}\": {why}"),
    )
}

/// Checks base64 given in a body field.
pub fn base64_field(field: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| field_error(field, format!("not base64: {e}")))
}

impl MessageBody {
    /// The message as Lotus takes it, every field checked; `prefix` is the path of the message in the body
    /// (`Message.`), for the errors.
    pub fn to_lotus(&self, prefix: &str) -> Result<Value, ApiError> {
        if self.version != 0 {
            return Err(field_error(
                &format!("{prefix}Version"),
                "only version 0 exists",
            ));
        }
        let from = send::address_field(&format!("{prefix}From"), &self.from)?;
        let to = send::address_field(&format!("{prefix}To"), &self.to)?;
        if let Some(p) = &self.params {
            base64_field(&format!("{prefix}Params"), p)?;
        }
        if self.gas_limit < 0 {
            return Err(field_error(
                &format!("{prefix}GasLimit"),
                "must not be negative",
            ));
        }
        Ok(json!({
            "Version": 0,
            "To": to,
            "From": from,
            "Nonce": self.nonce,
            "Value": self.value,
            "GasLimit": self.gas_limit,
            "GasFeeCap": self.gas_fee_cap,
            "GasPremium": self.gas_premium,
            "Method": self.method,
            "Params": self.params.clone().unwrap_or_default(),
        }))
    }
}

/// A signature as a client gives it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SignatureBody {
    /// 1 is secp256k1, 2 is BLS, 3 is delegated.
    #[schema(example = 1, minimum = 1, maximum = 3)]
    pub r#type: u8,
    /// The signature bytes, base64.
    #[schema(format = Byte, example = "krFATGA0OBu/kFwtXsThVtKCkppnU7045uTURCeiOeJttxuXfx3wqJrLkCytnJFWFLVC+tiVWI4BxC3wqc9r6eAlNr9dEBx+3KwML/RFG/b5grmknLpGWn7g1EB/2T4y")]
    pub data: String,
}

impl SignatureBody {
    pub fn to_lotus(&self, prefix: &str) -> Result<Value, ApiError> {
        if !(1..=3).contains(&self.r#type) {
            return Err(field_error(
                &format!("{prefix}Type"),
                format!(
                    "{} is not a signature type: 1 (secp256k1), 2 (BLS) or 3 (delegated)",
                    self.r#type
                ),
            ));
        }
        let bytes = base64_field(&format!("{prefix}Data"), &self.data)?;
        if bytes.is_empty() {
            return Err(field_error(&format!("{prefix}Data"), "must not be empty"));
        }
        Ok(json!({"Type": self.r#type, "Data": self.data.trim()}))
    }
}

/// A message signed elsewhere, to push.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SignedMessageBody {
    pub message: MessageBody,
    pub signature: SignatureBody,
}

impl SignedMessageBody {
    pub fn to_lotus(&self, prefix: &str) -> Result<Value, ApiError> {
        let message = self.message.to_lotus(&format!("{prefix}Message."))?;
        let signature = self.signature.to_lotus(&format!("{prefix}Signature."))?;
        Ok(json!({"Message": message, "Signature": signature}))
    }
}

/// A message for the node to sign and send.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Message": {"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234", "Value": "0.5 FIL"}}))]
pub struct SendRequest {
    pub message: OutgoingMessage,
    /// Limits on what the node may spend on gas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SendSpec>,
}

/// Messages for the node to sign and send, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Messages": [{"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234", "Value": "0.5 FIL"}]}))]
pub struct SendBatchRequest {
    /// At least one message.
    #[schema(min_items = 1)]
    pub messages: Vec<OutgoingMessage>,
    /// Limits on what the node may spend on gas, for each message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SendSpec>,
}

/// Signed messages to push, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SignedBatchRequest {
    /// At least one signed message.
    #[schema(min_items = 1)]
    pub messages: Vec<SignedMessageBody>,
}

/// How a signed message enters the pool.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PushOptions {
    /// `true` pushes it as a message from the network (`MpoolPushUntrusted`: stricter checks, no nonce gaps of
    /// more than four); default `false` (`MpoolPush`).
    #[param(value_type = Option<bool>, example = false)]
    pub untrusted: Option<String>,
}

impl PushOptions {
    fn untrusted(&self) -> Result<bool, ApiError> {
        match self.untrusted.as_deref().map(str::trim) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ApiError::invalid_parameter(format!(
                "invalid untrusted \"{other}\": expected true or false"
            ))),
        }
    }
}

/// The CID of a message pushed to the pool.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushedMessage {
    /// The message's CID: where to follow it, at `/v1/messages/{cid}`.
    #[serde(rename = "CID")]
    pub cid: Cid,
}

/// Sends a message.
///
/// The node fills in the nonce and any gas values not given, signs the message with the sender's key and pushes
/// it to the message pool (`Filecoin.MpoolPushMessage`). Amounts are attoFIL digits or a number with a unit
/// (`"0.5 FIL"`). Answers 202 with the signed message; `Location` is the message, whose receipt shows at
/// `/v1/messages/{cid}/receipt` once a tipset has executed it.
#[utoipa::path(
    tag = "Messages",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolPushMessage"]))),
    request_body = SendRequest,
    responses((status = 202, description = "The signed message, in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("")]
pub async fn create_message(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    body: Body<SendRequest>,
) -> Result<HttpResponse, ApiError> {
    let message = body
        .message
        .to_lotus()
        .map_err(|e| prefixed(e, "Message."))?;
    send::push(&state, &auth.caller, message, body.spec.as_ref()).await
}

/// Puts the path of the body's message in front of the field an error names.
fn prefixed(mut e: ApiError, prefix: &str) -> ApiError {
    e.detail = e
        .detail
        .replacen("field \"", &format!("field \"{prefix}"), 1);
    e
}

/// Sends several messages.
///
/// The node signs and pushes each message in turn (`Filecoin.MpoolBatchPushMessage`); the first that fails stops
/// the batch (those before it stay in the pool). Answers 202 with the signed messages, in order.
#[utoipa::path(
    tag = "Messages",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolBatchPushMessage"]))),
    request_body = SendBatchRequest,
    responses((status = 202, description = "The signed messages, in the pool", body = Vec<SignedMessage>)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/batch")]
pub async fn create_message_batch(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    body: Body<SendBatchRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.messages.is_empty() {
        return Err(field_error("Messages", "give at least one message"));
    }
    let messages = body
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.to_lotus()
                .map_err(|e| prefixed(e, &format!("Messages[{i}].")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signed: Vec<SignedMessage> = state
        .node
        .call(
            &auth.caller,
            "Filecoin.MpoolBatchPushMessage",
            json!([messages, body.spec]),
        )
        .await?;
    Ok(super::accepted(None, &signed))
}

/// Pushes a signed message.
///
/// Adds a message signed elsewhere to the node's message pool (`Filecoin.MpoolPush`; with `untrusted=true`,
/// `Filecoin.MpoolPushUntrusted`). The node checks the nonce and the signature. Answers 202 with the message's
/// CID; `Location` is the message.
#[utoipa::path(
    tag = "Messages",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.MpoolPush", "Filecoin.MpoolPushUntrusted"])),
        ("x-lotus-serves" = json!(["Filecoin.MpoolPush", "Filecoin.MpoolPushUntrusted"]))
    ),
    params(PushOptions),
    request_body = SignedMessageBody,
    responses((status = 202, description = "The message's CID", body = PushedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["write"]))
)]
#[post("/signed")]
pub async fn create_signed_message(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    query: web::Query<PushOptions>,
    body: Body<SignedMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let method = if query.untrusted()? {
        "Filecoin.MpoolPushUntrusted"
    } else {
        "Filecoin.MpoolPush"
    };
    check_signature_type(&body, "")?;
    let signed = body.to_lotus("")?;
    let cid: Cid = state
        .node
        .call(&auth.caller, method, json!([signed]))
        .await
        .map_err(refused)?;
    let location = format!("/v1/messages/{}", cid.root);
    Ok(super::accepted(Some(&location), &PushedMessage { cid }))
}

/// A key address signs with its own kind of signature: f1 with secp256k1 (1), f3 with BLS (2), f4 delegated (3).
fn check_signature_type(body: &SignedMessageBody, prefix: &str) -> Result<(), ApiError> {
    let from = body.message.from.trim();
    let wanted = match from.as_bytes().get(1) {
        Some(b'1') => 1,
        Some(b'3') => 2,
        Some(b'4') => 3,
        _ => return Ok(()),
    };
    if body.signature.r#type != wanted {
        return Err(field_error(
            &format!("{prefix}Signature.Type"),
            format!(
                "a message from {from} is signed with type {wanted}, not {}",
                body.signature.r#type
            ),
        ));
    }
    Ok(())
}

/// The pool's refusals of a message (nonce, signature, replacement fee) are the client's to fix: a 400.
fn refused(mut e: ApiError) -> ApiError {
    let detail = e.detail.to_ascii_lowercase();
    if e.code == Code::UpstreamError
        && ["nonce", "signature", "replace by fee", "gaslimit"]
            .iter()
            .any(|w| detail.contains(w))
    {
        e.code = Code::InvalidBody;
    }
    e
}

/// Pushes several signed messages.
///
/// Adds messages signed elsewhere to the pool in order (`Filecoin.MpoolBatchPush`; with `untrusted=true`,
/// `Filecoin.MpoolBatchPushUntrusted`); the first refused stops the batch. Answers 202 with their CIDs.
#[utoipa::path(
    tag = "Messages",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.MpoolBatchPush", "Filecoin.MpoolBatchPushUntrusted"])),
        ("x-lotus-serves" = json!(["Filecoin.MpoolBatchPush", "Filecoin.MpoolBatchPushUntrusted"]))
    ),
    params(PushOptions),
    request_body = SignedBatchRequest,
    responses((status = 202, description = "The messages' CIDs, in order", body = Vec<PushedMessage>)),
    security(("lotus_token" = ["write"]))
)]
#[post("/signed/batch")]
pub async fn create_signed_message_batch(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    query: web::Query<PushOptions>,
    body: Body<SignedBatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let method = if query.untrusted()? {
        "Filecoin.MpoolBatchPushUntrusted"
    } else {
        "Filecoin.MpoolBatchPush"
    };
    if body.messages.is_empty() {
        return Err(field_error("Messages", "give at least one message"));
    }
    let signed = body
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let prefix = format!("Messages[{i}].");
            check_signature_type(m, &prefix)?;
            m.to_lotus(&prefix)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cids: Vec<Cid> = state
        .node
        .call(&auth.caller, method, json!([signed]))
        .await
        .map_err(refused)?;
    let pushed: Vec<PushedMessage> = cids.into_iter().map(|cid| PushedMessage { cid }).collect();
    Ok(super::accepted(None, &pushed))
}

/// A message by CID.
///
/// An on-chain or pending message (`Filecoin.ChainGetMessage`).
#[utoipa::path(
    tag = "Messages",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetMessage"]))),
    params(MessagePath),
    responses((status = 200, description = "The message", body = Message)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_message(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MessagePath { cid }: MessagePath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetMessage",
        json!([cid]),
        true,
    )
    .await
}

/// A message's receipt and inclusion.
///
/// Where the message was executed and its receipt (`Filecoin.StateSearchMsg`), searching back from the tipset
/// selected (default: the head). 404 `message_not_found` while the message has not been executed.
#[utoipa::path(
    tag = "Messages",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateSearchMsg"]))),
    params(MessagePath, params::AtTipset),
    responses((status = 200, description = "The receipt and the tipset that executed the message", body = MsgLookup)),
    security(("lotus_token" = ["read"]))
)]
#[get("/receipt")]
pub async fn get_message_receipt(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MessagePath { cid }: MessagePath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    // A lookup can still change (a reorg, or the message executing later): never kept.
    let lookup = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateSearchMsg",
            json!([at.key, cid, -1, true]),
            false,
        )
        .await?;
    if &*lookup == "null" {
        return Err(ApiError::new(
            Code::MessageNotFound,
            format!(
                "message {} has not been executed in the chain up to the tipset read; it may still be pending",
                cid.root
            ),
        ));
    }
    Ok(lotus_json(lookup, false))
}

/// Registers the message routes.
/// The routes under `/v1/messages` with a fixed path, in the order they are matched.
pub fn register_messages(cfg: &mut ServiceConfig) {
    cfg.service(create_message)
        .service(create_message_batch)
        .service(create_signed_message)
        .service(create_signed_message_batch);
}

/// The routes under `/v1/messages/{cid}` this module declares, in the order they are matched.
pub fn register_message(cfg: &mut ServiceConfig) {
    cfg.service(get_message).service(get_message_receipt);
}
