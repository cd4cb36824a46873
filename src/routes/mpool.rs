//! The node's message pool: pending messages, their checks, nonces, the pool's configuration.

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::SenderPath;
use super::messages::{field_error, MessageBody};
use super::page::{self, Page, PageOf, Shape};
use super::params;
use crate::auth::{Admin, Authorized, Read, Write};
use crate::error::ApiError;
use crate::lotus::types::{Cid, SignedMessage};
use crate::state::AppState;

/// The pool changes between tipsets: a first page always reads it afresh rather than from the lists kept for
/// paging.
fn forget_lists(state: &AppState, method: &str) {
    let prefix = format!("{method}\u{0}");
    state.lists.retain(|k, _| !k.starts_with(&prefix));
}

/// The messages in the pool.
///
/// The messages waiting in the node's message pool (`Filecoin.MpoolPending`), paged; the list is read once, at the
/// tipset selected (default: the head), and later pages come from that reading.
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolPending"]))),
    params(params::AtTipset, Page),
    responses((status = 200, description = "A page of pending messages", body = PageOf<SignedMessage>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/messages")]
pub async fn list_mpool_messages(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    if page.cursor.is_none() {
        forget_lists(&state, "Filecoin.MpoolPending");
    }
    page::list(
        &state,
        &auth.caller,
        "Filecoin.MpoolPending",
        |key| json!([key]),
        Shape::Array,
        &at,
        &page,
    )
    .await
}

/// Which messages to clear.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClearOptions {
    /// `true` clears every message, those pushed through this node included; default `false` clears only those
    /// received from the network.
    #[param(value_type = Option<bool>, example = true)]
    pub local: Option<String>,
}

/// Clears the pool.
///
/// Removes pending messages from the node's pool (`Filecoin.MpoolClear`): those received from the network, or with
/// `local=true` all of them.
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolClear"]))),
    params(ClearOptions),
    responses((status = 204, description = "The pool is cleared")),
    security(("lotus_token" = ["write"]))
)]
#[delete("/messages")]
pub async fn delete_mpool_messages(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    query: web::Query<ClearOptions>,
) -> Result<HttpResponse, ApiError> {
    let local = match query.local.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "invalid local \"{other}\": expected true or false"
            )))
        }
    };
    state
        .node
        .call_raw(&auth.caller, "Filecoin.MpoolClear", json!([local]))
        .await?;
    forget_lists(&state, "Filecoin.MpoolPending");
    forget_lists(&state, "Filecoin.MpoolSelect");
    Ok(super::no_content())
}

/// How good the ticket is, for the selection.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SelectOptions {
    /// The ticket quality, from 0 to 1 (default 1): a better ticket makes room for more messages.
    #[param(value_type = Option<f64>, minimum = 0, maximum = 1, example = 0.8)]
    pub quality: Option<String>,
}

/// The messages a block would include.
///
/// The messages the node would select from its pool for a block on the tipset selected
/// (`Filecoin.MpoolSelect`), in order, paged.
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolSelect"]))),
    params(SelectOptions, params::AtTipset, Page),
    responses((status = 200, description = "A page of the selected messages", body = PageOf<SignedMessage>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/selection")]
pub async fn list_mpool_selection(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    select: web::Query<SelectOptions>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let quality = match select.quality.as_deref().map(str::trim) {
        None => 1.0,
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|q| (0.0..=1.0).contains(q))
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "invalid quality \"{text}\": expected a number from 0 to 1"
                ))
            })?,
    };
    if page.cursor.is_none() {
        forget_lists(&state, "Filecoin.MpoolSelect");
    }
    page::list(
        &state,
        &auth.caller,
        "Filecoin.MpoolSelect",
        |key| json!([key, quality]),
        Shape::Array,
        &at,
        &page,
    )
    .await
}

/// The message pool's configuration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"PriorityAddrs": [], "SizeLimitHigh": 30000, "SizeLimitLow": 20000,
    "ReplaceByFeeRatio": 1.25, "PruneCooldown": 60000000000i64, "GasLimitOverestimation": 1.25}))]
pub struct MpoolConfig {
    /// Senders whose messages are kept first.
    #[schema(example = json!(["f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"]))]
    pub priority_addrs: Option<Vec<String>>,
    /// How many messages the pool holds before pruning.
    #[schema(example = 30000, minimum = 0)]
    pub size_limit_high: i64,
    /// How many messages pruning leaves.
    #[schema(example = 20000, minimum = 0)]
    pub size_limit_low: i64,
    /// How much more premium a replacing message must pay: at least 1.1.
    #[schema(example = 1.25, minimum = 1.1)]
    pub replace_by_fee_ratio: f64,
    /// The time between prunings, in nanoseconds.
    #[schema(example = 60000000000i64, minimum = 0)]
    pub prune_cooldown: i64,
    /// The factor applied to gas limit estimates: at least 1.
    #[schema(example = 1.25, minimum = 1)]
    pub gas_limit_overestimation: f64,
}

/// The pool's configuration.
///
/// The node's message pool settings (`Filecoin.MpoolGetConfig`).
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolGetConfig"]))),
    responses((status = 200, description = "The configuration", body = MpoolConfig)),
    security(("lotus_token" = ["read"]))
)]
#[get("/config")]
pub async fn get_mpool_config(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.MpoolGetConfig",
        json!([]),
        false,
    )
    .await
}

/// Sets the pool's configuration.
///
/// Replaces the node's message pool settings (`Filecoin.MpoolSetConfig`).
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolSetConfig"]))),
    request_body = MpoolConfig,
    responses((status = 204, description = "The configuration is set")),
    security(("lotus_token" = ["admin"]))
)]
#[put("/config")]
pub async fn update_mpool_config(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MpoolConfig>,
) -> Result<HttpResponse, ApiError> {
    let mut config = body.into_inner();
    if let Some(addrs) = &mut config.priority_addrs {
        for (i, a) in addrs.iter_mut().enumerate() {
            *a = super::send::address_field(&format!("PriorityAddrs[{i}]"), a)?;
        }
    }
    if config.size_limit_low < 0 || config.size_limit_high < 0 {
        return Err(field_error(
            "SizeLimitLow",
            "the size limits must not be negative",
        ));
    }
    if config.size_limit_low > config.size_limit_high {
        return Err(field_error(
            "SizeLimitLow",
            "must not be above SizeLimitHigh",
        ));
    }
    if !config.replace_by_fee_ratio.is_finite() || config.replace_by_fee_ratio < 1.1 {
        return Err(field_error("ReplaceByFeeRatio", "must be at least 1.1"));
    }
    if !config.gas_limit_overestimation.is_finite() || config.gas_limit_overestimation < 1.0 {
        return Err(field_error("GasLimitOverestimation", "must be at least 1"));
    }
    if config.prune_cooldown < 0 {
        return Err(field_error("PruneCooldown", "must not be negative"));
    }
    state
        .node
        .call_raw(&auth.caller, "Filecoin.MpoolSetConfig", json!([config]))
        .await?;
    Ok(super::no_content())
}

/// A sender's next nonce.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SenderNonce {
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub address: String,
    /// The nonce the sender's next message takes: after its messages on chain and those in the pool.
    #[schema(example = 42)]
    pub nonce: u64,
}

/// A sender's next nonce.
///
/// The nonce the next message from this address takes, counting its messages in the pool
/// (`Filecoin.MpoolGetNonce`).
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolGetNonce"]))),
    params(SenderPath),
    responses((status = 200, description = "The next nonce", body = SenderNonce)),
    security(("lotus_token" = ["read"]))
)]
#[get("/nonce")]
pub async fn get_mpool_sender_nonce(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    SenderPath { address }: SenderPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.MpoolGetNonce",
            json!([address]),
            false,
        )
        .await?;
    let nonce: u64 = super::decode("Filecoin.MpoolGetNonce", &raw)?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(SenderNonce {
            address: address.to_string(),
            nonce,
        }))
}

/// The outcome of one check of a message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageCheckStatus {
    /// The message checked.
    #[serde(rename = "Cid")]
    pub cid: Cid,
    /// What was checked: 1 serialization, 2 size, 3 validity, 4 minimum gas, 5 minimum base fee, 6 base fee,
    /// 7 base fee lower bound, 8 base fee upper bound, 9 reading the nonce, 10 nonce, 11 reading the balance,
    /// 12 balance.
    #[serde(rename = "Code")]
    #[schema(example = 12)]
    pub code: u8,
    #[serde(rename = "OK")]
    #[schema(example = true)]
    pub ok: bool,
    /// Why the check failed; empty when it passed.
    #[serde(rename = "Err")]
    #[schema(example = "")]
    pub err: String,
    /// Values behind the check.
    #[serde(rename = "Hint")]
    #[schema(value_type = Object, example = json!({"Balance": "1000", "RequiredFunds": "10"}))]
    pub hint: Value,
}

/// A message to check, and whether its nonce is meant to be the next one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CheckPrototype {
    pub message: MessageBody,
    /// Check the nonce too.
    #[serde(default)]
    #[schema(example = true)]
    pub valid_nonce: bool,
}

/// Messages to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Messages": [{"Message": {"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234",
    "Nonce": 42, "Value": "0.5 FIL", "GasLimit": 2000000, "GasFeeCap": "150000", "GasPremium": "50000"}, "ValidNonce": true}]}))]
pub struct CheckRequest {
    /// At least one message.
    #[schema(min_items = 1)]
    pub messages: Vec<CheckPrototype>,
}

/// Replacement messages to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Messages": [{"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234",
    "Nonce": 42, "Value": "0.5 FIL", "GasLimit": 2000000, "GasFeeCap": "150000", "GasPremium": "80000"}]}))]
pub struct ReplaceCheckRequest {
    /// At least one message.
    #[schema(min_items = 1)]
    pub messages: Vec<MessageBody>,
}

/// Checks messages.
///
/// Runs the pool's checks on messages before they are pushed (`Filecoin.MpoolCheckMessages`): one list of
/// check outcomes per message, in order.
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolCheckMessages"]))),
    request_body = CheckRequest,
    responses((status = 200, description = "The checks of each message", body = Vec<Vec<MessageCheckStatus>>)),
    security(("lotus_token" = ["read"]))
)]
#[post("/checks")]
pub async fn post_mpool_checks(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    body: Body<CheckRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.messages.is_empty() {
        return Err(field_error("Messages", "give at least one message"));
    }
    let protos = body
        .messages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let message = p.message.to_lotus(&format!("Messages[{i}].Message."))?;
            Ok(json!({"Message": message, "ValidNonce": p.valid_nonce}))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    super::read(
        &state,
        &auth.caller,
        "Filecoin.MpoolCheckMessages",
        json!([protos]),
        false,
    )
    .await
}

/// Checks replacement messages.
///
/// Runs the pool's checks on messages meant to replace pending ones (`Filecoin.MpoolCheckReplaceMessages`): one
/// list of check outcomes per message, in order.
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolCheckReplaceMessages"]))),
    request_body = ReplaceCheckRequest,
    responses((status = 200, description = "The checks of each message", body = Vec<Vec<MessageCheckStatus>>)),
    security(("lotus_token" = ["read"]))
)]
#[post("/replace-checks")]
pub async fn post_mpool_replace_checks(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    body: Body<ReplaceCheckRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.messages.is_empty() {
        return Err(field_error("Messages", "give at least one message"));
    }
    let messages = body
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| m.to_lotus(&format!("Messages[{i}].")))
        .collect::<Result<Vec<_>, ApiError>>()?;
    super::read(
        &state,
        &auth.caller,
        "Filecoin.MpoolCheckReplaceMessages",
        json!([messages]),
        false,
    )
    .await
}

/// Checks a sender's pending messages.
///
/// Runs the pool's checks on the messages from this address waiting in the pool
/// (`Filecoin.MpoolCheckPendingMessages`): one list of check outcomes per message.
#[utoipa::path(
    tag = "Message pool",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolCheckPendingMessages"]))),
    params(SenderPath),
    responses((status = 200, description = "The checks of each pending message", body = Vec<Vec<MessageCheckStatus>>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/checks")]
pub async fn get_mpool_sender_checks(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    SenderPath { address }: SenderPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.MpoolCheckPendingMessages",
            json!([address]),
            false,
        )
        .await?;
    if &*raw == "null" {
        return Ok(super::json_response(&Vec::<Value>::new(), false));
    }
    Ok(super::lotus_json(raw, false))
}

/// Registers the message pool routes.
/// The routes under `/v1/mpool`, in the order they are matched.
pub fn register_mpool(cfg: &mut ServiceConfig) {
    cfg.service(list_mpool_messages)
        .service(delete_mpool_messages)
        .service(list_mpool_selection)
        .service(get_mpool_config)
        .service(update_mpool_config)
        .service(post_mpool_checks)
        .service(post_mpool_replace_checks)
        .scope("/senders/{address}", &|cfg| {
            cfg.service(get_mpool_sender_nonce)
                .service(get_mpool_sender_checks);
        });
}
