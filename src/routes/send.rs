//! Sending messages: the one way every write that ends in an on-chain message answers.
//!
//! The node signs and pushes the message (`Filecoin.MpoolPushMessage`, `sign`); the route answers `202 Accepted`
//! (the chain executes it later) with the signed message, its `CID`, and `Location: /v1/messages/{cid}`, where its
//! receipt shows once it is executed (`/v1/messages/{cid}/receipt`).

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::lotus::amount::Amount;
use crate::lotus::types::{Message, SignedMessage};
use crate::state::AppState;

/// How the node may spend on gas when it signs and pushes a message.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SendSpec {
    /// The most the message may cost in fees; the node's default when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_fee: Option<Amount>,
    /// Set the fee cap to `MaxFee / GasLimit` rather than the estimate.
    #[serde(default)]
    pub maximize_fee_cap: bool,
}

/// A message to send, as a client writes it: amounts in attoFIL or with a unit; gas values estimated when absent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct OutgoingMessage {
    /// The sender: an address of the node's wallet.
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub from: String,
    /// The recipient.
    #[schema(example = "f01234")]
    pub to: String,
    /// The amount to transfer.
    #[serde(default)]
    pub value: Amount,
    /// The actor method to invoke; 0 (the default) is a plain transfer.
    #[serde(default)]
    #[schema(example = 0)]
    pub method: u64,
    /// The method's parameters, CBOR in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub params: Option<String>,
    /// The gas limit; estimated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 2_000_000)]
    pub gas_limit: Option<i64>,
    /// The most paid per unit of gas, in attoFIL; estimated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_fee_cap: Option<Amount>,
    /// The tip per unit of gas for the block producer, in attoFIL; estimated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_premium: Option<Amount>,
}

impl OutgoingMessage {
    /// The message as Lotus takes it, with the addresses checked for the node's network. Zero gas values are
    /// estimated by the node.
    pub fn to_lotus(&self) -> Result<Value, ApiError> {
        let from = address_field("From", &self.from)?;
        let to = address_field("To", &self.to)?;
        if let Some(p) = &self.params {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(p)
                .map_err(|e| {
                    ApiError::new(
                        Code::InvalidBody,
                        format!("invalid request body: field \"Params\": not base64: {e}"),
                    )
                })?;
        }
        if matches!(self.gas_limit, Some(g) if g < 0) {
            return Err(ApiError::new(
                Code::InvalidBody,
                "invalid request body: field \"GasLimit\": must not be negative",
            ));
        }
        Ok(json!({
            "Version": 0,
            "To": to,
            "From": from,
            "Nonce": 0,
            "Value": self.value,
            "GasLimit": self.gas_limit.unwrap_or(0),
            "GasFeeCap": self.gas_fee_cap.unwrap_or_default(),
            "GasPremium": self.gas_premium.unwrap_or_default(),
            "Method": self.method,
            "Params": self.params.clone().unwrap_or_default(),
        }))
    }
}

/// Checks an address given in a body field, naming the field when it is wrong. Either network prefix is accepted.
pub fn address_field(field: &str, value: &str) -> Result<String, ApiError> {
    crate::lotus::address::Address::parse(value.trim())
        .map(|a| a.to_string())
        .map_err(|e| {
            ApiError::new(
                Code::InvalidBody,
                format!("invalid request body: field \"{field}\": {e}"),
            )
        })
}

/// Has the node sign and push `message` (Lotus's JSON shape) and answers 202 with the signed message and its
/// URL. The caller needs `sign`.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    message: Value,
    spec: Option<&SendSpec>,
) -> Result<HttpResponse, ApiError> {
    let signed: SignedMessage = state
        .node
        .call(caller, "Filecoin.MpoolPushMessage", json!([message, spec]))
        .await?;
    Ok(respond(signed))
}

/// The 202 for a message in the pool.
pub fn respond(signed: SignedMessage) -> HttpResponse {
    let cid = signed
        .cid
        .clone()
        .or_else(|| signed.message.cid.clone())
        .map(|c| c.root);
    let location = cid.map(|c| format!("/v1/messages/{c}"));
    super::accepted(location.as_deref(), &signed)
}

/// A message a Lotus method built for the caller to push (`MsigPropose` and kin return these).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessagePrototype {
    pub message: Message,
    #[serde(default)]
    pub valid_nonce: bool,
}

/// Pushes what a prototype-building method returned: the node signs it with the sender's key.
pub async fn push_prototype(
    state: &AppState,
    caller: &Caller,
    method: &str,
    raw: &str,
    spec: Option<&SendSpec>,
) -> Result<HttpResponse, ApiError> {
    let proto: MessagePrototype = super::decode(method, raw)?;
    let mut message = serde_json::to_value(&proto.message)
        .map_err(|e| ApiError::internal(format!("re-encoding a message: {e}")))?;
    if let Some(obj) = message.as_object_mut() {
        // The pool assigns the nonce and the message's CID is the signed one's.
        obj.remove("CID");
    }
    push(state, caller, message, spec).await
}
