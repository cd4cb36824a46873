//! Lotus JSON-RPC beside REST: `POST /rpc/v1` (and `/rpc/v0`) takes Lotus's own protocol, single calls and
//! batches, so Lotus clients (the lotus CLI, filecoin.js) work through the same gateway, tokens and limits. Each
//! call is forwarded only when the caller's token holds the method's permission; otherwise it gets Lotus's own
//! `missing permission` error and the node never sees it.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::{bearer_token, Caller};
use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::upstream::UpstreamError;

/// A JSON-RPC request id: a number or a string.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RpcId {
    Number(i64),
    Text(String),
}

/// A JSON-RPC 2.0 request as Lotus takes it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JsonRpcRequest {
    #[schema(example = "2.0")]
    pub jsonrpc: String,
    /// The Lotus method, e.g. `Filecoin.ChainHead`.
    #[schema(example = "Filecoin.ChainHead")]
    pub method: String,
    /// The method's parameters, positional.
    #[serde(default)]
    #[schema(value_type = Vec<Object>, example = json!([]))]
    pub params: Value,
    /// The request id, echoed in the response; a request without one (or with `null`, as Lotus reads it) is a
    /// notification, which gets no response.
    #[serde(default)]
    #[schema(value_type = Option<RpcId>, example = 1)]
    pub id: Option<Value>,
}

/// A JSON-RPC error.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JsonRpcError {
    #[schema(example = 1)]
    pub code: i64,
    #[schema(example = "missing permission to invoke 'WalletList' (need 'write')")]
    pub message: String,
}

/// A JSON-RPC 2.0 response: a `result` or an `error`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JsonRpcResponse {
    #[schema(example = "2.0")]
    pub jsonrpc: String,
    /// The id of the request answered; `null` when the request could not be read.
    #[schema(value_type = Option<RpcId>, example = 1)]
    pub id: Value,
    /// The method's result, as the node sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = serde_json::Value)]
    pub result: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JsonRpcError>,
}

/// One call or a batch of calls.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum JsonRpcBody {
    Single(JsonRpcRequest),
    Batch(Vec<JsonRpcRequest>),
}

/// One reply or the replies of a batch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum JsonRpcReply {
    Single(JsonRpcResponse),
    Batch(Vec<JsonRpcResponse>),
}

/// Methods whose result is a stream, which needs a WebSocket: the channel methods and Ethereum subscriptions.
fn needs_websocket(name: &str) -> bool {
    super::catalog::CHANNEL_METHODS.contains(&name)
        || name == "Filecoin.EthSubscribe"
        || name == "Filecoin.EthUnsubscribe"
}

pub fn error_reply(id: Value, code: i64, message: impl Into<String>) -> JsonRpcResponse {
    JsonRpcResponse {
        jsonrpc: "2.0".into(),
        id,
        result: None,
        error: Some(JsonRpcError {
            code,
            message: message.into(),
        }),
    }
}

/// The bucket of the verified token a call is charged to, if rate limits per token are on.
pub struct RateKeys {
    token: Option<String>,
}

impl RateKeys {
    /// The bucket of a verified token.
    pub fn for_token(token: Option<&str>) -> Self {
        RateKeys {
            token: token.map(crate::ratelimit::token_key),
        }
    }

    /// Takes `weight` from the token's bucket; the seconds to wait when it is empty.
    fn charge(&self, state: &AppState, weight: u32) -> Option<u64> {
        charge(
            state.limits.per_token.as_ref(),
            self.token.as_deref(),
            weight,
        )
    }
}

pub fn charge(
    buckets: Option<&crate::ratelimit::Buckets>,
    key: Option<&str>,
    weight: u32,
) -> Option<u64> {
    use crate::ratelimit::Verdict;
    match (buckets, key) {
        (Some(buckets), Some(key)) => match buckets.take(key, f64::from(weight)) {
            Verdict::Limited { retry_after_secs } => Some(retry_after_secs.ceil().max(1.0) as u64),
            Verdict::Allowed { .. } => None,
        },
        _ => None,
    }
}

/// The rate-limit weight of a call: its method's, or 1 for a method the gateway does not know.
pub fn weight_of(call: &JsonRpcRequest) -> u32 {
    let canonical = crate::lotus::methods::resolve_alias(&call.method).unwrap_or(&call.method);
    crate::ratelimit::method_weight(canonical)
}

fn rate_limited(id: Value, wait: u64, what: &str) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header((actix_web::http::header::RETRY_AFTER, wait.to_string()))
        .json(error_reply(
            id,
            -32005,
            format!("rate limit of {what} reached; retry in {wait} s"),
        ))
}

/// Methods whose state lives on the connection that made it: Ethereum filters and subscriptions. They are served
/// over the WebSocket only, where they are capped and removed when the connection ends.
pub const CONNECTION_METHODS: &[&str] = &[
    "Filecoin.EthGetFilterChanges",
    "Filecoin.EthGetFilterLogs",
    "Filecoin.EthNewBlockFilter",
    "Filecoin.EthNewFilter",
    "Filecoin.EthNewPendingTransactionFilter",
    "Filecoin.EthSubscribe",
    "Filecoin.EthUninstallFilter",
    "Filecoin.EthUnsubscribe",
];

/// A call refused before it reaches the node: its JSON-RPC error, and the HTTP fault when it is one.
pub struct Refusal {
    pub code: i64,
    pub message: String,
    pub fault: Option<ApiError>,
}

impl Refusal {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            fault: None,
        }
    }
}

/// Checks one call exactly as every way in does (the request's form, the method table, the token's permission,
/// public mode, the token's rate): the method to call and its parameters, or why not, in Lotus's words.
pub fn admit(
    state: &AppState,
    caller: &Caller,
    keys: &RateKeys,
    req: &JsonRpcRequest,
) -> Result<(&'static crate::lotus::methods::Method, Value), Refusal> {
    let id = req.id.as_ref().unwrap_or(&Value::Null);
    if !(id.is_null() || id.is_string() || id.is_i64() || id.is_u64()) {
        return Err(Refusal::new(
            -32600,
            "invalid request: id must be a number or a string",
        ));
    }
    if req.jsonrpc != "2.0" {
        return Err(Refusal::new(
            -32600,
            "invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let short = req.method.strip_prefix("Filecoin.").unwrap_or(&req.method);
    // Ethereum-style aliases (eth_chainId...) are checked and forwarded as the method they stand for.
    let canonical = crate::lotus::methods::resolve_alias(&req.method).unwrap_or(&req.method);
    let Some(method) = state.node.method(canonical) else {
        return Err(Refusal::new(
            -32601,
            format!("method '{}' not found", req.method),
        ));
    };
    if !caller.perms.contains(method.perm) {
        return Err(Refusal::new(
            1,
            format!(
                "missing permission to invoke '{short}' (need '{}')",
                method.perm
            ),
        ));
    }
    if state.limits.public && method.perm > crate::auth::Perm::Read {
        return Err(Refusal::new(
            1,
            format!("'{short}' needs the '{}' permission and is disabled here: this gateway is public and serves read methods only", method.perm),
        ));
    }
    if let Some(wait) = keys.charge(state, crate::ratelimit::method_weight(method.name)) {
        let mut err = ApiError::new(
            Code::RateLimited,
            format!("rate limit reached; retry in {wait} s"),
        );
        err.retry_after = Some(wait);
        return Err(Refusal {
            code: -32005,
            message: err.detail.clone(),
            fault: Some(err),
        });
    }
    let params = if req.params.is_null() {
        json!([])
    } else {
        req.params.clone()
    };
    if !params.is_array() {
        return Err(Refusal::new(-32602, "params must be an array"));
    }
    Ok((method, params))
}

/// Calls one method for the caller over HTTP, or says why not, in Lotus's words.
pub async fn call_one(
    state: &AppState,
    caller: &Caller,
    keys: &RateKeys,
    req: JsonRpcRequest,
) -> (JsonRpcResponse, Option<ApiError>) {
    let (method, params) = match admit(state, caller, keys, &req) {
        Ok(admitted) => admitted,
        Err(r) => {
            // An id that is not a number or a string cannot be echoed.
            let id = req
                .id
                .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
                .unwrap_or(Value::Null);
            return (error_reply(id, r.code, r.message), r.fault);
        }
    };
    let id = req.id.unwrap_or(Value::Null);
    if needs_websocket(method.name) || CONNECTION_METHODS.contains(&method.name) {
        let why = if CONNECTION_METHODS.contains(&method.name) {
            "it keeps state on the connection that made it: call it over the WebSocket endpoint (ws://.../rpc/v1)"
        } else {
            "its result is a channel: call it over the WebSocket endpoint (ws://.../rpc/v1)"
        };
        return (
            error_reply(
                id,
                -32601,
                format!(
                    "method '{}' not supported in this mode (no out channel support): {why}",
                    req.method
                ),
            ),
            None,
        );
    }
    match state
        .node
        .request(caller.upstream_token.as_deref(), method.name, params)
        .await
    {
        Ok(result) => (
            JsonRpcResponse {
                jsonrpc: "2.0".into(),
                id,
                result: Some(result),
                error: None,
            },
            None,
        ),
        Err(UpstreamError::Rpc(e)) => (error_reply(id, e.code, e.message), None),
        // Refused by the gateway (the lookback cap), as an invalid parameter: the node never saw the call.
        Err(UpstreamError::Refused(why)) => (error_reply(id, -32602, why), None),
        Err(other) => {
            let err = ApiError::from(other);
            (error_reply(id, -32000, err.detail.clone()), Some(err))
        }
    }
}

/// Refuses a caller with no permission at all: a token that grants none this gateway knows (403), or no token where
/// anonymous access is off (401). Both JSON-RPC endpoints, HTTP and WebSocket, answer the same.
pub fn require_some_permission(caller: &Caller, had_token: bool) -> Result<(), ApiError> {
    if !caller.perms.is_empty() {
        return Ok(());
    }
    Err(if had_token {
        ApiError::new(
            Code::Forbidden,
            "the token grants no permission this gateway knows (Lotus's are read, write, sign and admin)",
        )
    } else {
        ApiError::unauthorized(
            "the JSON-RPC endpoint needs a token: anonymous access is disabled here",
        )
    })
}

/// Why a batch of `len` calls is refused whole, if it is: empty, or longer than `[JsonRpc] MaxBatch`.
pub fn batch_length_refusal(len: usize, max: usize) -> Option<String> {
    if len == 0 {
        Some("invalid request: empty batch".into())
    } else if len > max {
        Some(format!(
            "invalid request: a batch of {len} calls is more than this gateway takes ({max}, [JsonRpc] MaxBatch); \
             send it in smaller batches"
        ))
    } else {
        None
    }
}

/// The bytes the replies of one batch may still take (`[JsonRpc] MaxBatchResponseBytes`), counted as they come.
pub struct ReplyBudget {
    max: usize,
    total: usize,
    size: usize,
    done: usize,
}

impl ReplyBudget {
    pub fn new(max: usize, total: usize) -> Self {
        ReplyBudget {
            max,
            total,
            size: 0,
            done: 0,
        }
    }

    /// Counts one reply; past the budget, why the batch is refused.
    pub fn take(&mut self, reply: &JsonRpcResponse) -> Result<(), String> {
        self.done += 1;
        self.size += reply.result.as_ref().map_or(0, |r| r.get().len())
            + reply.error.as_ref().map_or(0, |e| e.message.len())
            + 64;
        if self.size > self.max {
            return Err(format!(
                "invalid request: the replies of this batch are more than {} bytes ([JsonRpc] \
                 MaxBatchResponseBytes) after {} of its {} calls; the rest were not sent; send it in smaller \
                 batches",
                self.max, self.done, self.total
            ));
        }
        Ok(())
    }
}

/// Lotus JSON-RPC.
///
/// Lotus's JSON-RPC protocol over HTTP POST, single calls and batches. Each call needs the permission Lotus requires
/// for its method (the token's own, as on Lotus: read for `Filecoin.ChainHead`, write for `Filecoin.WalletList`,
/// ...); a call the token does not allow gets Lotus's `missing permission` error and is not forwarded. Methods
/// Lotus does not have get -32601. Channel methods need a WebSocket and are refused here. When the node cannot be
/// reached, a single call gets the HTTP status of the fault (502, 503, 504) with a JSON-RPC error.
#[utoipa::path(
    tag = "JSON-RPC",
    request_body(content = JsonRpcBody, description = "One JSON-RPC request or an array of them",
        example = json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1})),
    responses(
        (status = 200, description = "The response, or the responses of a batch in order", body = JsonRpcReply),
        (status = 204, description = "A single notification (no id): there is nothing to answer"),
        (status = 400, description = "The body is not JSON-RPC", body = JsonRpcResponse),
        (status = 429, description = "A single call over the rate limit", body = JsonRpcResponse),
        (status = 502, description = "A single call the node could not answer", body = JsonRpcResponse),
        (status = 503, description = "A single call while the node is unavailable", body = JsonRpcResponse),
        (status = 504, description = "A single call the node did not answer in time", body = JsonRpcResponse),
    ),
    security(("lotus_token" = ["read"]))
)]
#[post("/rpc/v1")]
pub async fn post_rpc_v1(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    rpc(req, state, body).await
}

/// Lotus JSON-RPC (v0 path).
///
/// The same endpoint as `/rpc/v1`, on the path older Lotus clients use.
#[utoipa::path(
    tag = "JSON-RPC",
    request_body(content = JsonRpcBody, description = "One JSON-RPC request or an array of them",
        example = json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1})),
    responses(
        (status = 200, description = "The response, or the responses of a batch in order", body = JsonRpcReply),
        (status = 204, description = "A single notification (no id): there is nothing to answer"),
        (status = 400, description = "The body is not JSON-RPC", body = JsonRpcResponse),
        (status = 429, description = "A single call over the rate limit", body = JsonRpcResponse),
        (status = 502, description = "A single call the node could not answer", body = JsonRpcResponse),
        (status = 503, description = "A single call while the node is unavailable", body = JsonRpcResponse),
        (status = 504, description = "A single call the node did not answer in time", body = JsonRpcResponse),
    ),
    security(("lotus_token" = ["read"]))
)]
#[post("/rpc/v0")]
pub async fn post_rpc_v0(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    rpc(req, state, body).await
}

async fn rpc(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req)?;
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Ok(HttpResponse::BadRequest().json(error_reply(
                Value::Null,
                -32700,
                format!("parse error: {e}"),
            )))
        }
    };
    let body: JsonRpcBody = match serde_json::from_value(parsed) {
        Ok(b) => b,
        Err(e) => {
            return Ok(HttpResponse::BadRequest().json(error_reply(
                Value::Null,
                -32600,
                format!(
                    "invalid request: expected a JSON-RPC request object or an array of them ({e})"
                ),
            )))
        }
    };
    if let JsonRpcBody::Batch(calls) = &body {
        if let Some(why) = batch_length_refusal(calls.len(), state.limits.max_batch) {
            return Ok(HttpResponse::BadRequest().json(error_reply(Value::Null, -32600, why)));
        }
    }
    // The client address pays for the whole request before its token is looked at: a flood of forged tokens
    // is limited before any is verified.
    let (weight, first_id) = match &body {
        JsonRpcBody::Single(call) => (weight_of(call), call.id.clone().unwrap_or(Value::Null)),
        JsonRpcBody::Batch(calls) => (calls.iter().map(weight_of).sum(), Value::Null),
    };
    let ip = req.peer_addr().map(|a| format!("ip:{}", a.ip()));
    if let Some(wait) = charge(state.limits.per_ip.as_ref(), ip.as_deref(), weight) {
        return Ok(rate_limited(first_id, wait, "this client address"));
    }
    let keys = RateKeys {
        token: token.as_deref().map(crate::ratelimit::token_key),
    };
    let had_token = token.is_some();
    let caller = state
        .auth
        .authenticate(token, &state.node, &state.metrics)
        .await?;
    require_some_permission(&caller, had_token)?;
    match body {
        JsonRpcBody::Single(call) => {
            let notification = call.id.is_none();
            let (reply, fault) = call_one(&state, &caller, &keys, call).await;
            let status = fault
                .as_ref()
                .map(|f| f.code.status())
                .unwrap_or(actix_web::http::StatusCode::OK);
            if notification && status.is_success() {
                return Ok(HttpResponse::NoContent().finish());
            }
            let mut res = HttpResponse::build(status);
            if let Some(secs) = fault.and_then(|f| f.retry_after) {
                res.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
            }
            Ok(res.json(JsonRpcReply::Single(reply)))
        }
        JsonRpcBody::Batch(calls) => {
            // A few calls of a batch at a time, and its replies bounded as a whole: one request can neither
            // take every call slot to the node nor hold an unbounded reply in memory.
            use futures_util::StreamExt;
            let mut budget = ReplyBudget::new(state.limits.max_batch_reply_bytes, calls.len());
            let mut replies = Vec::with_capacity(calls.len());
            let mut results = futures_util::stream::iter(calls.into_iter().map(|c| {
                let notification = c.id.is_none();
                let (state, caller, keys) = (&state, &caller, &keys);
                async move { (call_one(state, caller, keys, c).await.0, notification) }
            }))
            .buffered(state.limits.batch_concurrency.max(1));
            while let Some((reply, notification)) = results.next().await {
                if let Err(why) = budget.take(&reply) {
                    return Ok(HttpResponse::BadRequest().json(error_reply(
                        Value::Null,
                        -32600,
                        why,
                    )));
                }
                if !notification {
                    replies.push(reply);
                }
            }
            Ok(HttpResponse::Ok().json(JsonRpcReply::Batch(replies)))
        }
    }
}
