//! Gas estimation: limits, fee caps and premiums for a message, estimated by the node.

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::params;
use super::send::{OutgoingMessage, SendSpec};
use crate::auth::{Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::{BigInt, Message};
use crate::state::AppState;

/// A message whose gas to estimate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Message": {"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234", "Value": "0.5 FIL"}}))]
pub struct EstimateRequest {
    pub message: OutgoingMessage,
    /// Limits on what the message may spend on gas.
    #[serde(default)]
    pub spec: Option<SendSpec>,
}

/// A message whose gas limit to estimate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Message": {"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234", "Value": "0.5 FIL"}}))]
pub struct GasLimitRequest {
    pub message: OutgoingMessage,
}

/// A message whose fee cap to estimate, and how long it may wait.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Message": {"From": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "To": "f01234", "Value": "0.5 FIL"}, "MaxQueueBlocks": 20}))]
pub struct FeeCapRequest {
    pub message: OutgoingMessage,
    /// How many blocks the message may wait before inclusion: the fee cap covers the base fee rising that long.
    #[schema(example = 20, minimum = 0, maximum = 10000)]
    pub max_queue_blocks: i64,
}

/// An estimated gas limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GasLimitEstimate {
    #[schema(example = 1000000)]
    pub gas_limit: i64,
}

/// An estimated fee cap.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct FeeCapEstimate {
    /// attoFIL per unit of gas.
    pub gas_fee_cap: BigInt,
}

/// An estimated premium.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PremiumEstimate {
    /// attoFIL per unit of gas.
    pub gas_premium: BigInt,
}

fn message(m: &OutgoingMessage) -> Result<serde_json::Value, ApiError> {
    m.to_lotus().map_err(|mut e| {
        e.detail = e.detail.replacen("field \"", "field \"Message.", 1);
        e
    })
}

/// Estimates a message's gas.
///
/// Fills in the gas limit, fee cap and premium a message leaves out, as the node would before signing it
/// (`Filecoin.GasEstimateMessageGas`), in the state of the tipset selected (default: the head).
#[utoipa::path(
    tag = "Gas",
    extensions(("x-lotus-methods" = json!(["Filecoin.GasEstimateMessageGas"]))),
    params(params::AtTipset),
    request_body = EstimateRequest,
    responses((status = 200, description = "The message with its gas values", body = Message)),
    security(("lotus_token" = ["read"]))
)]
#[post("/estimates")]
pub async fn create_message_gas_estimate(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    body: Body<EstimateRequest>,
) -> Result<HttpResponse, ApiError> {
    let msg = message(&body.message)?;
    let at = at.key(&state, &auth.caller).await?;
    super::read(
        &state,
        &auth.caller,
        "Filecoin.GasEstimateMessageGas",
        json!([msg, body.spec, at.key]),
        false,
    )
    .await
}

/// Estimates a message's gas limit.
///
/// The gas the message would use, executed in the state of the tipset selected (`Filecoin.GasEstimateGasLimit`).
#[utoipa::path(
    tag = "Gas",
    extensions(("x-lotus-methods" = json!(["Filecoin.GasEstimateGasLimit"]))),
    params(params::AtTipset),
    request_body = GasLimitRequest,
    responses((status = 200, description = "The gas limit", body = GasLimitEstimate)),
    security(("lotus_token" = ["read"]))
)]
#[post("/limit-estimates")]
pub async fn create_gas_limit_estimate(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    body: Body<GasLimitRequest>,
) -> Result<HttpResponse, ApiError> {
    let msg = message(&body.message)?;
    let at = at.key(&state, &auth.caller).await?;
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.GasEstimateGasLimit",
            json!([msg, at.key]),
            false,
        )
        .await?;
    let gas_limit: i64 = super::decode("Filecoin.GasEstimateGasLimit", &raw)?;
    Ok(super::json_response(&GasLimitEstimate { gas_limit }, false))
}

/// Estimates a message's fee cap.
///
/// The fee cap that keeps the message includable for `MaxQueueBlocks` blocks (`Filecoin.GasEstimateFeeCap`).
#[utoipa::path(
    tag = "Gas",
    extensions(("x-lotus-methods" = json!(["Filecoin.GasEstimateFeeCap"]))),
    params(params::AtTipset),
    request_body = FeeCapRequest,
    responses((status = 200, description = "The fee cap", body = FeeCapEstimate)),
    security(("lotus_token" = ["read"]))
)]
#[post("/fee-cap-estimates")]
pub async fn create_gas_fee_cap_estimate(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    body: Body<FeeCapRequest>,
) -> Result<HttpResponse, ApiError> {
    let msg = message(&body.message)?;
    if !(0..=10_000).contains(&body.max_queue_blocks) {
        return Err(super::messages::field_error(
            "MaxQueueBlocks",
            "must be from 0 to 10000",
        ));
    }
    let at = at.key(&state, &auth.caller).await?;
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.GasEstimateFeeCap",
            json!([msg, body.max_queue_blocks, at.key]),
            false,
        )
        .await?;
    let gas_fee_cap: BigInt = super::decode("Filecoin.GasEstimateFeeCap", &raw)?;
    Ok(super::json_response(&FeeCapEstimate { gas_fee_cap }, false))
}

/// What to estimate a premium for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PremiumQuery {
    /// The sender of the message.
    #[param(value_type = String, pattern = "^[ft][0-4][a-z0-9]*$", example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub sender: Option<String>,
    /// The message's gas limit.
    #[param(value_type = u64, minimum = 1, example = 2000000)]
    pub gas_limit: Option<String>,
    /// Within how many blocks the message should be included (default 10).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000, example = 10)]
    pub blocks: Option<String>,
}

/// Estimates a premium.
///
/// The gas premium that gets a message from `sender` with this gas limit included within `blocks` blocks
/// (`Filecoin.GasEstimateGasPremium`).
#[utoipa::path(
    tag = "Gas",
    extensions(("x-lotus-methods" = json!(["Filecoin.GasEstimateGasPremium"]))),
    params(PremiumQuery, params::AtTipset),
    responses((status = 200, description = "The premium", body = PremiumEstimate)),
    security(("lotus_token" = ["read"]))
)]
#[get("/premium-estimate")]
pub async fn get_gas_premium_estimate(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    query: web::Query<PremiumQuery>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let sender = query
        .sender
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("sender is required: the message's sender"))?;
    let sender = params::address("sender", sender)?;
    let number = |name: &str, text: &str, max: u64| {
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n) && text.trim().bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "invalid {name} \"{text}\": expected an integer from 1 to {max}"
                ))
            })
    };
    let gas_limit = query.gas_limit.as_deref().ok_or_else(|| {
        ApiError::invalid_parameter("gas_limit is required: the message's gas limit")
    })?;
    let gas_limit = number("gas_limit", gas_limit, i64::MAX as u64)?;
    let blocks = match query.blocks.as_deref() {
        Some(b) => number("blocks", b, 1000)?,
        None => 10,
    };
    let at = at.key(&state, &auth.caller).await?;
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.GasEstimateGasPremium",
            json!([blocks, sender, gas_limit, at.key]),
            false,
        )
        .await?;
    let gas_premium: BigInt = super::decode("Filecoin.GasEstimateGasPremium", &raw)?;
    Ok(super::json_response(
        &PremiumEstimate { gas_premium },
        false,
    ))
}

/// Registers the gas routes.
/// The routes under `/v1/gas`, in the order they are matched.
pub fn register_gas(cfg: &mut ServiceConfig) {
    cfg.service(create_message_gas_estimate)
        .service(create_gas_limit_estimate)
        .service(create_gas_fee_cap_estimate)
        .service(get_gas_premium_estimate);
}
