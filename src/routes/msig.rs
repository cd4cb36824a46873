//! Multisig wallets: their balances, vesting and pending transactions, and every proposal, approval and
//! cancellation their signers make. Lotus builds each multisig message (`Msig*`); the node signs and pushes it, and
//! the route answers 202 with the message and `Location: /v1/messages/{cid}`.

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, put, web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::{MsigPath, MsigSignerPath, MsigTxnPath};
use super::params;
use super::send::{address_field, push_prototype};
use crate::auth::{Authorized, Caller, Read, Sign};
use crate::error::{ApiError, Code};
use crate::lotus::amount::Amount;
use crate::lotus::types::{BigInt, SignedMessage};
use crate::state::AppState;
/// A transaction of a multisig wallet waiting for approvals (an entry of `Filecoin.MsigGetPending`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MsigTransaction {
    /// The transaction's ID in the wallet.
    #[serde(rename = "ID")]
    #[schema(example = 9)]
    pub id: u64,
    #[schema(example = "f01234")]
    pub to: String,
    /// attoFIL
    pub value: BigInt,
    #[schema(example = 0)]
    pub method: u64,
    /// The method's parameters, CBOR in base64.
    #[schema(format = Byte, example = "")]
    pub params: Option<String>,
    /// The signers that approved it, the proposer first.
    #[schema(example = json!(["f01234"]))]
    pub approved: Vec<String>,
}

/// How a multisig wallet's balance vests.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MsigVesting {
    /// The balance locked at the start, in attoFIL.
    pub initial_balance: BigInt,
    /// The epoch vesting starts at.
    #[schema(example = 10101)]
    pub start_epoch: i64,
    /// Epochs until all of it is unlocked; 0 for no vesting.
    #[schema(example = 10101)]
    pub unlock_duration: i64,
}

/// A new multisig wallet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f01234", "Signers": ["f01234", "f01235"], "Required": 2, "Value": "10 FIL", "UnlockDuration": 0}))]
pub struct NewMultisig {
    /// The node's wallet address that creates the wallet and pays `Value` into it.
    #[schema(example = "f01234")]
    pub from: String,
    /// The signers: at least one.
    #[schema(example = json!(["f01234", "f01235"]))]
    pub signers: Vec<String>,
    /// How many signers must approve a transaction: 1 to the number of signers.
    #[schema(example = 2, minimum = 1)]
    pub required: u64,
    /// The initial balance.
    #[serde(default)]
    pub value: Amount,
    /// Epochs over which the initial balance vests; 0 (the default) for none.
    #[serde(default)]
    #[schema(example = 0, minimum = 0)]
    pub unlock_duration: i64,
    /// The gas price to create with; the node's estimate when absent.
    #[serde(default)]
    pub gas_price: Amount,
}

/// A transaction proposed to a multisig wallet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f01234", "To": "f01235", "Value": "1 FIL"}))]
pub struct NewProposal {
    /// The proposing signer: an address of the node's wallet.
    #[schema(example = "f01234")]
    pub from: String,
    /// The recipient.
    #[schema(example = "f01235")]
    pub to: String,
    /// The amount to send from the multisig wallet.
    #[serde(default)]
    pub value: Amount,
    /// The method to call on the recipient; 0 (the default) is a plain transfer.
    #[serde(default)]
    #[schema(example = 0)]
    pub method: u64,
    /// The method's parameters, CBOR in base64.
    #[serde(default)]
    #[schema(format = Byte, example = "")]
    pub params: Option<String>,
}

/// What an approval or cancellation checks the transaction against: it only applies when the transaction is
/// exactly this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ProposalDetails {
    /// The signer that proposed it.
    #[schema(example = "f01234")]
    pub proposer: String,
    #[schema(example = "f01235")]
    pub to: String,
    #[serde(default)]
    pub value: Amount,
    #[serde(default)]
    #[schema(example = 0)]
    pub method: u64,
    #[serde(default)]
    #[schema(format = Byte, example = "")]
    pub params: Option<String>,
}

/// An approval of a pending transaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f01235"}))]
pub struct NewApproval {
    /// The approving signer: an address of the node's wallet.
    #[schema(example = "f01235")]
    pub from: String,
    /// When given, the approval only applies to a transaction with these details
    /// (`Filecoin.MsigApproveTxnHash`).
    #[serde(default)]
    pub proposal: Option<ProposalDetails>,
}

/// A proposal to add a signer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f01234", "Signer": "f01236", "IncreaseThreshold": false}))]
pub struct NewSigner {
    /// The proposing signer: an address of the node's wallet.
    #[schema(example = "f01234")]
    pub from: String,
    /// The signer to add.
    #[schema(example = "f01236")]
    pub signer: String,
    /// Raise the number of approvals needed by one.
    #[serde(default)]
    pub increase_threshold: bool,
}

/// A proposal to replace a signer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f01234", "NewSigner": "f01236"}))]
pub struct SignerSwap {
    /// The proposing signer: an address of the node's wallet.
    #[schema(example = "f01234")]
    pub from: String,
    /// The signer that takes the place of the one in the path.
    #[schema(example = "f01236")]
    pub new_signer: String,
}

/// An approval of a pending signer addition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f01235", "Proposer": "f01234", "Signer": "f01236", "IncreaseThreshold": false}))]
pub struct AdditionApproval {
    /// The approving signer: an address of the node's wallet.
    #[schema(example = "f01235")]
    pub from: String,
    /// The signer that proposed the addition.
    #[schema(example = "f01234")]
    pub proposer: String,
    /// The signer to add, as proposed.
    #[schema(example = "f01236")]
    pub signer: String,
    /// As proposed.
    #[serde(default)]
    pub increase_threshold: bool,
}

/// An approval of a pending signer swap.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"From": "f01235", "Proposer": "f01234", "OldSigner": "f01236", "NewSigner": "f01237"}))]
pub struct SwapApproval {
    /// The approving signer: an address of the node's wallet.
    #[schema(example = "f01235")]
    pub from: String,
    /// The signer that proposed the swap.
    #[schema(example = "f01234")]
    pub proposer: String,
    /// The signer replaced, as proposed.
    #[schema(example = "f01236")]
    pub old_signer: String,
    /// The signer that replaces it, as proposed.
    #[schema(example = "f01237")]
    pub new_signer: String,
}

/// Who cancels a pending transaction, and optionally what it must be.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// The cancelling signer, who proposed the transaction: an address of the node's wallet.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01234")]
    pub from: Option<String>,
    /// With `value`: only cancel a transaction to this recipient (`Filecoin.MsigCancelTxnHash`).
    #[param(value_type = Option<String>, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01235")]
    pub to: Option<String>,
    /// With `to`: only cancel a transaction of this amount (attoFIL, or with a unit).
    #[param(value_type = Option<String>, example = "1 FIL")]
    pub value: Option<String>,
    /// With `to`: only cancel a transaction calling this method (default 0).
    #[param(value_type = Option<u64>, minimum = 0, example = 0)]
    pub method: Option<String>,
    /// With `to`: only cancel a transaction with these method parameters (base64; default none). Also accepted
    /// under its former name `params`.
    #[serde(alias = "params")]
    #[param(value_type = Option<String>, format = Byte, example = "")]
    pub method_params: Option<String>,
}

/// Who proposes removing a signer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// The proposing signer: an address of the node's wallet.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01234")]
    pub from: Option<String>,
    /// Lower the number of approvals needed by one; default false.
    #[param(value_type = Option<bool>, example = false)]
    pub decrease_threshold: Option<String>,
}

/// Who cancels a pending signer addition, and what it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdditionCancelQuery {
    /// The cancelling signer, who proposed the addition.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01234")]
    pub from: Option<String>,
    /// The signer to add, as proposed.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01236")]
    pub signer: Option<String>,
    /// As proposed; default false.
    #[param(value_type = Option<bool>, example = false)]
    pub increase_threshold: Option<String>,
}

/// Who cancels a pending signer swap, and what it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SwapCancelQuery {
    /// The cancelling signer, who proposed the swap.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01234")]
    pub from: Option<String>,
    /// The signer replaced, as proposed.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01236")]
    pub old_signer: Option<String>,
    /// The signer that replaces it, as proposed.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f01237")]
    pub new_signer: Option<String>,
}

/// Where vesting is measured from; the end is the tipset `height` or `tipset` selects (default the head).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VestedSince {
    /// Measure from the tipset at this height. Exclusive with `start_tipset`; one of the two is needed.
    #[param(value_type = Option<u64>, minimum = 0, example = 10)]
    pub start_height: Option<String>,
    /// Measure from the tipset with this key (block CIDs separated by commas).
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$",
        example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")]
    pub start_tipset: Option<String>,
}

fn atto(value: Amount) -> Value {
    json!(value.atto().to_string())
}

/// Checks base64 parameters given in the body.
fn b64_field(field: &str, value: &Option<String>) -> Result<Value, ApiError> {
    match value {
        None => Ok(Value::Null),
        Some(text) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| {
                    ApiError::new(
                        Code::InvalidBody,
                        format!("invalid request body: field \"{field}\": not base64: {e}"),
                    )
                })?;
            Ok(json!(text))
        }
    }
}

/// A required query parameter that is an address.
fn query_address(name: &str, value: &Option<String>) -> Result<String, ApiError> {
    match value {
        Some(v) => params::address(name, v),
        None => Err(ApiError::invalid_parameter(format!(
            "{name} is needed: an address"
        ))),
    }
}

/// An optional boolean query parameter.
fn flag(name: &str, value: &Option<String>) -> Result<bool, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::invalid_parameter(format!(
            "invalid {name} \"{other}\": expected true or false"
        ))),
    }
}

/// Has Lotus build the message, then the node signs and pushes it.
async fn build_and_push(
    state: &AppState,
    caller: &Caller,
    method: &str,
    params: Value,
) -> Result<HttpResponse, ApiError> {
    let raw = state.node.call_raw(caller, method, params).await?;
    push_prototype(state, caller, method, raw.get(), None).await
}

/// Creates a multisig wallet.
///
/// Lotus builds the message creating the wallet with its signers, threshold, initial balance and vesting
/// (`Filecoin.MsigCreate`); the node signs and pushes it. The new wallet's address is in the message's receipt.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigCreate", "Filecoin.MpoolPushMessage"]))),
    request_body = NewMultisig,
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("")]
pub async fn create_multisig(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    body: Body<NewMultisig>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    if body.signers.is_empty() {
        return Err(ApiError::new(
            Code::InvalidBody,
            "invalid request body: field \"Signers\": at least one signer is needed",
        ));
    }
    let signers = body
        .signers
        .iter()
        .enumerate()
        .map(|(i, s)| address_field(&format!("Signers[{i}]"), s))
        .collect::<Result<Vec<_>, _>>()?;
    if body.required == 0 || body.required as usize > signers.len() {
        return Err(ApiError::new(
            Code::InvalidBody,
            format!(
                "invalid request body: field \"Required\": must be from 1 to the number of signers ({})",
                signers.len()
            ),
        ));
    }
    if body.unlock_duration < 0 {
        return Err(ApiError::new(
            Code::InvalidBody,
            "invalid request body: field \"UnlockDuration\": must not be negative",
        ));
    }
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigCreate",
        json!([
            body.required,
            signers,
            body.unlock_duration,
            atto(body.value),
            from,
            atto(body.gas_price)
        ]),
    )
    .await
}

/// A multisig wallet's available balance.
///
/// What the wallet can spend: its balance less what is still locked by vesting, in attoFIL, as a JSON string
/// (`Filecoin.MsigGetAvailableBalance`).
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigGetAvailableBalance"]))),
    params(MsigPath, params::AtTipset),
    responses((status = 200, description = "attoFIL", body = BigInt)),
    security(("lotus_token" = ["read"]))
)]
#[get("/available-balance")]
pub async fn get_multisig_available_balance(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MsigPath { address }: MsigPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let method = "Filecoin.MsigGetAvailableBalance";
    super::read_at(&state, &auth.caller, &at, method, |key| {
        json!([address, key])
    })
    .await
}

/// A multisig wallet's pending transactions.
///
/// The transactions proposed to the wallet that wait for approvals (`Filecoin.MsigGetPending`).
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigGetPending"]))),
    params(MsigPath, params::AtTipset),
    responses((status = 200, description = "The pending transactions", body = Vec<MsigTransaction>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/proposals")]
pub async fn list_multisig_proposals(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MsigPath { address }: MsigPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let method = "Filecoin.MsigGetPending";
    super::read_at(&state, &auth.caller, &at, method, |key| {
        json!([address, key])
    })
    .await
}

/// A multisig wallet's vesting schedule.
///
/// The locked initial balance, the start epoch and the unlock duration (`Filecoin.MsigGetVestingSchedule`).
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigGetVestingSchedule"]))),
    params(MsigPath, params::AtTipset),
    responses((status = 200, description = "The vesting schedule", body = MsigVesting)),
    security(("lotus_token" = ["read"]))
)]
#[get("/vesting-schedule")]
pub async fn get_multisig_vesting_schedule(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MsigPath { address }: MsigPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let method = "Filecoin.MsigGetVestingSchedule";
    super::read_at(&state, &auth.caller, &at, method, |key| {
        json!([address, key])
    })
    .await
}

/// What vested in a multisig wallet between two tipsets.
///
/// The amount that unlocked from `start_height` (or `start_tipset`) to the tipset `height` or `tipset` selects
/// (default the head), in attoFIL, as a JSON string (`Filecoin.MsigGetVested`).
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigGetVested"]))),
    params(MsigPath, VestedSince, params::AtTipset),
    responses((status = 200, description = "attoFIL", body = BigInt)),
    security(("lotus_token" = ["read"]))
)]
#[get("/vested")]
pub async fn get_multisig_vested(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MsigPath { address }: MsigPath,
    since: web::Query<VestedSince>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let (start, start_final) = match (&since.start_height, &since.start_tipset) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_parameter(
                "give either start_height or start_tipset, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::invalid_parameter(
                "start_height or start_tipset is needed: where vesting is measured from",
            ))
        }
        (None, Some(key)) => (params::tipset_key("start_tipset", key)?, true),
        (Some(h), None) => {
            let h = params::height("start_height", h)?;
            if let Some(end) = &at.height {
                let end = params::height("height", end)?;
                if h > end {
                    return Err(ApiError::invalid_parameter(format!(
                        "start_height {h} is after height {end}"
                    )));
                }
            }
            let (ts, immutable) = params::tipset_at_height(&state, &auth.caller, h).await?;
            #[derive(Deserialize)]
            struct KeyOnly {
                #[serde(rename = "Cids")]
                cids: Value,
            }
            let key: KeyOnly = super::decode("Filecoin.ChainGetTipSetByHeight", &ts)?;
            (key.cids, immutable)
        }
    };
    let end = at.key(&state, &auth.caller).await?;
    let immutable = start_final && end.immutable;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.MsigGetVested",
            json!([address, start, end.key]),
            immutable,
        )
        .await?;
    Ok(super::lotus_json(result, immutable))
}

/// Proposes a transaction.
///
/// Lotus builds the message proposing that the wallet send `Value` to `To` (calling `Method` with `Params`)
/// (`Filecoin.MsigPropose`); the node signs it with `From`'s key and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigPropose", "Filecoin.MpoolPushMessage"]))),
    params(MsigPath),
    request_body = NewProposal,
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("/proposals")]
pub async fn create_multisig_proposal(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigPath { address: msig }: MsigPath,
    body: Body<NewProposal>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    let to = address_field("To", &body.to)?;
    let p = b64_field("Params", &body.params)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigPropose",
        json!([msig, to, atto(body.value), from, body.method, p]),
    )
    .await
}

/// Approves a pending transaction.
///
/// Lotus builds the approval of transaction `id` by `From` (`Filecoin.MsigApprove`), or, when `Proposal` is given,
/// an approval that only applies to a transaction with those details (`Filecoin.MsigApproveTxnHash`); the node
/// signs and pushes it. The transaction executes once enough signers approved it.
#[utoipa::path(
    tag = "Multisig",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.MsigApprove", "Filecoin.MsigApproveTxnHash", "Filecoin.MpoolPushMessage"])),
        ("x-lotus-serves" = json!(["Filecoin.MsigApprove", "Filecoin.MsigApproveTxnHash"]))
    ),
    params(MsigTxnPath),
    request_body = NewApproval,
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("/proposals/{id}/approvals")]
pub async fn create_multisig_approval(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigTxnPath { address: msig, id }: MsigTxnPath,
    body: Body<NewApproval>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    match &body.proposal {
        None => {
            build_and_push(
                &state,
                &auth.caller,
                "Filecoin.MsigApprove",
                json!([msig, id, from]),
            )
            .await
        }
        Some(d) => {
            let proposer = address_field("Proposal.Proposer", &d.proposer)?;
            let to = address_field("Proposal.To", &d.to)?;
            let p = b64_field("Proposal.Params", &d.params)?;
            build_and_push(
                &state,
                &auth.caller,
                "Filecoin.MsigApproveTxnHash",
                json!([msig, id, proposer, to, atto(d.value), from, d.method, p]),
            )
            .await
        }
    }
}

/// Cancels a pending transaction.
///
/// Lotus builds the cancellation of transaction `id` by its proposer `from` (`Filecoin.MsigCancel`), or, when
/// `to` and `value` are given, a cancellation that only applies to a transaction with those details
/// (`Filecoin.MsigCancelTxnHash`); the node signs and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.MsigCancel", "Filecoin.MsigCancelTxnHash", "Filecoin.MpoolPushMessage"])),
        ("x-lotus-serves" = json!(["Filecoin.MsigCancel", "Filecoin.MsigCancelTxnHash"]))
    ),
    params(MsigTxnPath, CancelQuery),
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[delete("/proposals/{id}")]
pub async fn delete_multisig_proposal(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigTxnPath { address: msig, id }: MsigTxnPath,
    query: web::Query<CancelQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = query_address("from", &query.from)?;
    let detailed = query.to.is_some()
        || query.value.is_some()
        || query.method.is_some()
        || query.method_params.is_some();
    if !detailed {
        return build_and_push(
            &state,
            &auth.caller,
            "Filecoin.MsigCancel",
            json!([msig, id, from]),
        )
        .await;
    }
    let to = query_address("to", &query.to)?;
    let value = match &query.value {
        Some(v) => Amount::parse(v)
            .map_err(|e| ApiError::invalid_parameter(format!("{e} (parameter value)")))?,
        None => {
            return Err(ApiError::invalid_parameter(
                "value is needed with to: the transaction's amount",
            ))
        }
    };
    let method = match &query.method {
        Some(m) => params::unsigned("method", m)?,
        None => 0,
    };
    let p = match &query.method_params {
        Some(text) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| {
                    ApiError::invalid_parameter(format!("invalid method_params: not base64: {e}"))
                })?;
            json!(text)
        }
        None => Value::Null,
    };
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigCancelTxnHash",
        json!([msig, id, to, atto(value), from, method, p]),
    )
    .await
}

/// Proposes adding a signer.
///
/// Lotus builds the proposal to add `Signer`, optionally raising the threshold (`Filecoin.MsigAddPropose`); the
/// node signs and pushes it. It is a pending transaction until enough signers approve it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigAddPropose", "Filecoin.MpoolPushMessage"]))),
    params(MsigPath),
    request_body = NewSigner,
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("/signers")]
pub async fn create_multisig_signer(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigPath { address: msig }: MsigPath,
    body: Body<NewSigner>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    let signer = address_field("Signer", &body.signer)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigAddPropose",
        json!([msig, from, signer, body.increase_threshold]),
    )
    .await
}

/// Proposes removing a signer.
///
/// Lotus builds the proposal by `from` to remove the signer in the path, optionally lowering the threshold
/// (`Filecoin.MsigRemoveSigner`); the node signs and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigRemoveSigner", "Filecoin.MpoolPushMessage"]))),
    params(MsigSignerPath,
        RemoveQuery),
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[delete("/signers/{signer}")]
pub async fn delete_multisig_signer(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigSignerPath {
        address: msig,
        signer,
    }: MsigSignerPath,
    query: web::Query<RemoveQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = query_address("from", &query.from)?;
    let decrease = flag("decrease_threshold", &query.decrease_threshold)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigRemoveSigner",
        json!([msig, from, signer, decrease]),
    )
    .await
}

/// Proposes replacing a signer.
///
/// Lotus builds the proposal to swap the signer in the path for `NewSigner` (`Filecoin.MsigSwapPropose`); the node
/// signs and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigSwapPropose", "Filecoin.MpoolPushMessage"]))),
    params(MsigSignerPath),
    request_body = SignerSwap,
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[put("/signers/{signer}")]
pub async fn replace_multisig_signer(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigSignerPath {
        address: msig,
        signer: old,
    }: MsigSignerPath,
    body: Body<SignerSwap>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    let new = address_field("NewSigner", &body.new_signer)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigSwapPropose",
        json!([msig, from, old, new]),
    )
    .await
}

/// Approves a pending signer addition.
///
/// Lotus builds the approval of the addition `id`, checked against the proposer, signer and threshold change
/// given (`Filecoin.MsigAddApprove`); the node signs and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigAddApprove", "Filecoin.MpoolPushMessage"]))),
    params(MsigTxnPath),
    request_body = AdditionApproval,
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("/signer-additions/{id}/approvals")]
pub async fn create_multisig_signer_addition_approval(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigTxnPath { address: msig, id }: MsigTxnPath,
    body: Body<AdditionApproval>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    let proposer = address_field("Proposer", &body.proposer)?;
    let signer = address_field("Signer", &body.signer)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigAddApprove",
        json!([msig, from, id, proposer, signer, body.increase_threshold]),
    )
    .await
}

/// Cancels a pending signer addition.
///
/// Lotus builds the cancellation of the addition `id` by its proposer, checked against the signer and threshold
/// change given (`Filecoin.MsigAddCancel`); the node signs and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigAddCancel", "Filecoin.MpoolPushMessage"]))),
    params(MsigTxnPath,
        AdditionCancelQuery),
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[delete("/signer-additions/{id}")]
pub async fn delete_multisig_signer_addition(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigTxnPath { address: msig, id }: MsigTxnPath,
    query: web::Query<AdditionCancelQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = query_address("from", &query.from)?;
    let signer = query_address("signer", &query.signer)?;
    let increase = flag("increase_threshold", &query.increase_threshold)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigAddCancel",
        json!([msig, from, id, signer, increase]),
    )
    .await
}

/// Approves a pending signer swap.
///
/// Lotus builds the approval of the swap `id`, checked against the proposer and the signers given
/// (`Filecoin.MsigSwapApprove`); the node signs and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigSwapApprove", "Filecoin.MpoolPushMessage"]))),
    params(MsigTxnPath),
    request_body = SwapApproval,
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("/signer-swaps/{id}/approvals")]
pub async fn create_multisig_signer_swap_approval(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigTxnPath { address: msig, id }: MsigTxnPath,
    body: Body<SwapApproval>,
) -> Result<HttpResponse, ApiError> {
    let from = address_field("From", &body.from)?;
    let proposer = address_field("Proposer", &body.proposer)?;
    let old = address_field("OldSigner", &body.old_signer)?;
    let new = address_field("NewSigner", &body.new_signer)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigSwapApprove",
        json!([msig, from, id, proposer, old, new]),
    )
    .await
}

/// Cancels a pending signer swap.
///
/// Lotus builds the cancellation of the swap `id` by its proposer, checked against the signers given
/// (`Filecoin.MsigSwapCancel`); the node signs and pushes it.
#[utoipa::path(
    tag = "Multisig",
    extensions(("x-lotus-methods" = json!(["Filecoin.MsigSwapCancel", "Filecoin.MpoolPushMessage"]))),
    params(MsigTxnPath,
        SwapCancelQuery),
    responses((status = 202, description = "The message is in the pool", body = SignedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[delete("/signer-swaps/{id}")]
pub async fn delete_multisig_signer_swap(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    MsigTxnPath { address: msig, id }: MsigTxnPath,
    query: web::Query<SwapCancelQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = query_address("from", &query.from)?;
    let old = query_address("old_signer", &query.old_signer)?;
    let new = query_address("new_signer", &query.new_signer)?;
    build_and_push(
        &state,
        &auth.caller,
        "Filecoin.MsigSwapCancel",
        json!([msig, from, id, old, new]),
    )
    .await
}

/// Registers the multisig routes.
/// The routes under `/v1/multisigs`, in the order they are matched.
pub fn register_multisigs(cfg: &mut ServiceConfig) {
    cfg.service(create_multisig).scope("/{address}", &|cfg| {
        cfg.service(get_multisig_available_balance)
            .service(list_multisig_proposals)
            .service(get_multisig_vesting_schedule)
            .service(get_multisig_vested)
            .service(create_multisig_proposal)
            .service(create_multisig_approval)
            .service(delete_multisig_proposal)
            .service(create_multisig_signer)
            .service(delete_multisig_signer)
            .service(replace_multisig_signer)
            .service(create_multisig_signer_addition_approval)
            .service(delete_multisig_signer_addition)
            .service(create_multisig_signer_swap_approval)
            .service(delete_multisig_signer_swap);
    });
}
