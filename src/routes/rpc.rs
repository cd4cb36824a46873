//! Lotus JSON-RPC beside REST: `POST /rpc/v1` (and `/rpc/v0`) takes Lotus's own protocol, single calls and
//! batches, so Lotus clients (the lotus CLI, filecoin.js) work through the same gateway, tokens and limits. Each
//! call is forwarded only when the caller's token holds the method's permission; otherwise it gets Lotus's own
//! `missing permission` error and the node never sees it.

use actix_web::{post, web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::{bearer_token, Caller};
use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::upstream::{Answer, UpstreamError};

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

/// A call as it arrives over HTTP, read only as far as the gateway needs to check it: the parameters stay the
/// client's own bytes, forwarded as they came (or parsed, for the methods whose tipset the lookback cap checks).
#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    method: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(default)]
    id: Option<Value>,
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
#[derive(Debug, Serialize, ToSchema)]
pub struct JsonRpcResponse {
    #[schema(example = "2.0")]
    pub jsonrpc: String,
    /// The id of the request answered; `null` when the request could not be read.
    #[schema(value_type = Option<RpcId>, example = 1)]
    pub id: Value,
    /// The method's result, as the node sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = serde_json::Value)]
    pub result: Option<Answer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JsonRpcError>,
}

impl JsonRpcResponse {
    /// About the bytes the response takes as JSON: its result or error message, and 64 for the envelope.
    pub fn encoded_len(&self) -> usize {
        self.result.as_ref().map_or(0, |r| r.get().len())
            + self.error.as_ref().map_or(0, |e| e.message.len())
            + 64
    }

    /// Writes the response as JSON, as serde would write it, but the result as the node's own text, copied once.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"jsonrpc\":");
        serde_json::to_writer(&mut *out, &self.jsonrpc)?;
        out.extend_from_slice(b",\"id\":");
        serde_json::to_writer(&mut *out, &self.id)?;
        if let Some(result) = &self.result {
            out.extend_from_slice(b",\"result\":");
            out.extend_from_slice(result.get().as_bytes());
        }
        if let Some(error) = &self.error {
            out.extend_from_slice(b",\"error\":");
            serde_json::to_writer(&mut *out, error)?;
        }
        out.push(b'}');
        Ok(())
    }
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
    async fn charge(&self, state: &AppState, weight: u32) -> Option<u64> {
        charge(
            state.limits.per_token.as_ref(),
            self.token.as_deref(),
            weight,
        )
        .await
    }
}

pub async fn charge(
    buckets: Option<&crate::ratelimit::Buckets>,
    key: Option<&str>,
    weight: u32,
) -> Option<u64> {
    use crate::ratelimit::Verdict;
    match (buckets, key) {
        (Some(buckets), Some(key)) => match buckets.take(key, f64::from(weight)).await {
            Verdict::Limited { retry_after_secs } => Some(retry_after_secs.ceil().max(1.0) as u64),
            Verdict::Allowed { .. } => None,
        },
        _ => None,
    }
}

/// The rate-limit weight of a call: its method's, or 1 for a method the gateway does not know.
pub fn weight_of(call: &JsonRpcRequest) -> u32 {
    method_weight(&call.method)
}

/// The rate-limit weight of a method by the name a client gave it (an Ethereum alias weighs what it stands for).
fn method_weight(name: &str) -> u32 {
    let canonical = crate::lotus::methods::resolve_alias(name).unwrap_or(name);
    crate::ratelimit::method_weight(canonical)
}

fn rate_limited(id: Value, wait: u64, what: &str) -> HttpResponse {
    let mut res = HttpResponse::TooManyRequests();
    res.insert_header((actix_web::http::header::RETRY_AFTER, wait.to_string()));
    json_reply(
        res,
        &JsonRpcReply::Single(error_reply(
            id,
            -32005,
            format!("rate limit of {what} reached; retry in {wait} s"),
        )),
    )
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
pub async fn admit(
    state: &AppState,
    caller: &Caller,
    keys: &RateKeys,
    req: &JsonRpcRequest,
) -> Result<(&'static crate::lotus::methods::Method, Value), Refusal> {
    let method = admit_method(
        state,
        caller,
        keys,
        &req.jsonrpc,
        &req.method,
        req.id.as_ref(),
    )
    .await?;
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

/// [`admit`] but for the parameters: the method a call may invoke, or why not.
async fn admit_method(
    state: &AppState,
    caller: &Caller,
    keys: &RateKeys,
    jsonrpc: &str,
    name: &str,
    id: Option<&Value>,
) -> Result<&'static crate::lotus::methods::Method, Refusal> {
    let id = id.unwrap_or(&Value::Null);
    if !(id.is_null() || id.is_string() || id.is_i64() || id.is_u64()) {
        return Err(Refusal::new(
            -32600,
            "invalid request: id must be a number or a string",
        ));
    }
    if jsonrpc != "2.0" {
        return Err(Refusal::new(
            -32600,
            "invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let short = name.strip_prefix("Filecoin.").unwrap_or(name);
    // Ethereum-style aliases (eth_chainId...) are checked and forwarded as the method they stand for.
    let canonical = crate::lotus::methods::resolve_alias(name).unwrap_or(name);
    let Some(method) = state.node.method(canonical) else {
        return Err(Refusal::new(-32601, format!("method '{name}' not found")));
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
    if let Some(wait) = keys
        .charge(state, crate::ratelimit::method_weight(method.name))
        .await
    {
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
    Ok(method)
}

/// Calls one method for the caller over HTTP, or says why not, in Lotus's words.
pub async fn call_one(
    state: &AppState,
    caller: &Caller,
    keys: &RateKeys,
    req: JsonRpcRequest,
) -> (JsonRpcResponse, Option<ApiError>) {
    match admit(state, caller, keys, &req).await {
        Ok((method, params)) => forward(state, caller, method, &req.method, req.id, params).await,
        Err(r) => refused(req.id, r),
    }
}

/// The reply to a refused call: its error, with the client's id when it can be echoed.
fn refused(id: Option<Value>, r: Refusal) -> (JsonRpcResponse, Option<ApiError>) {
    // An id that is not a number or a string cannot be echoed.
    let id = id
        .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
        .unwrap_or(Value::Null);
    (error_reply(id, r.code, r.message), r.fault)
}

/// One call read as an [`Envelope`]: checked as [`call_one`] does, its parameters forwarded as the client's bytes.
async fn call_envelope(
    state: &AppState,
    caller: &Caller,
    keys: &RateKeys,
    call: Envelope<'_>,
) -> (JsonRpcResponse, Option<ApiError>) {
    let admitted = admit_method(
        state,
        caller,
        keys,
        &call.jsonrpc,
        &call.method,
        call.id.as_ref(),
    )
    .await;
    let method = match admitted {
        Ok(method) => method,
        Err(r) => return refused(call.id, r),
    };
    let params: &RawValue = call.params.unwrap_or_else(|| no_params());
    if params.get() == "null" {
        return forward(state, caller, method, &call.method, call.id, no_params()).await;
    }
    if !params.get().starts_with('[') {
        return refused(call.id, Refusal::new(-32602, "params must be an array"));
    }
    forward(state, caller, method, &call.method, call.id, params).await
}

/// `[]`, the parameters of a call that has none.
fn no_params() -> &'static RawValue {
    static EMPTY: std::sync::LazyLock<Box<RawValue>> =
        std::sync::LazyLock::new(|| RawValue::from_string("[]".to_string()).expect("[] is JSON"));
    &EMPTY
}

/// Sends an admitted call to the node and makes its reply, or says why it is not sent.
async fn forward<P: Serialize>(
    state: &AppState,
    caller: &Caller,
    method: &'static crate::lotus::methods::Method,
    asked: &str,
    id: Option<Value>,
    params: P,
) -> (JsonRpcResponse, Option<ApiError>) {
    let id = id.unwrap_or(Value::Null);
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
                    "method '{asked}' not supported in this mode (no out channel support): {why}"
                ),
            ),
            None,
        );
    }
    match state
        .node
        .answer(caller.upstream_token.as_deref(), method.name, params)
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
        self.size += reply.encoded_len();
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
    // A single call, the common case, is read as an envelope: its parameters are forwarded as they came.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let call: Envelope = match serde_json::from_slice(&body) {
            Ok(call) => call,
            Err(e) => return Ok(unreadable(e)),
        };
        let weight = method_weight(&call.method);
        let (caller, keys) = match enter(&req, &state, token, weight, call.id.clone()).await? {
            Ok(entered) => entered,
            Err(limited) => return Ok(limited),
        };
        let notification = call.id.is_none();
        let (reply, fault) = call_envelope(&state, &caller, &keys, call).await;
        return Ok(single(reply, fault, notification));
    }
    // Anything else must be a batch: an array of calls.
    let calls: Vec<JsonRpcRequest> = match serde_json::from_slice(&body) {
        Ok(calls) => calls,
        Err(e) => return Ok(unreadable(e)),
    };
    if let Some(why) = batch_length_refusal(calls.len(), state.limits.max_batch) {
        return Ok(bad_request(error_reply(Value::Null, -32600, why)));
    }
    let weight = calls.iter().map(weight_of).sum();
    let (caller, keys) = match enter(&req, &state, token, weight, None).await? {
        Ok(entered) => entered,
        Err(limited) => return Ok(limited),
    };
    // A few calls of a batch at a time, and its replies bounded as a whole: one request can neither take every
    // call slot to the node nor hold an unbounded reply in memory.
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
            return Ok(bad_request(error_reply(Value::Null, -32600, why)));
        }
        if !notification {
            replies.push(reply);
        }
    }
    Ok(json_reply(
        HttpResponse::Ok(),
        &JsonRpcReply::Batch(replies),
    ))
}

/// The answer to a body that is not JSON (-32700) or not JSON-RPC (-32600).
fn unreadable(e: serde_json::Error) -> HttpResponse {
    let reply = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            error_reply(Value::Null, -32700, format!("parse error: {e}"))
        }
        _ => error_reply(
            Value::Null,
            -32600,
            format!(
                "invalid request: expected a JSON-RPC request object or an array of them ({e})"
            ),
        ),
    };
    bad_request(reply)
}

/// A 400 with a JSON-RPC error.
fn bad_request(reply: JsonRpcResponse) -> HttpResponse {
    json_reply(HttpResponse::BadRequest(), &JsonRpcReply::Single(reply))
}

/// Charges the client address for a request's `weight` calls, then authenticates its token: the caller and the
/// token's rate bucket, or the answer when the address is over its rate.
async fn enter(
    req: &HttpRequest,
    state: &AppState,
    token: Option<String>,
    weight: u32,
    first_id: Option<Value>,
) -> Result<Result<(Caller, RateKeys), HttpResponse>, ApiError> {
    // The client address pays for the whole request before its token is looked at: a flood of forged tokens
    // is limited before any is verified.
    // The address's bucket key is only written when there are buckets to charge.
    let ip = state
        .limits
        .per_ip
        .as_ref()
        .and(req.peer_addr())
        .map(|a| format!("ip:{}", a.ip()));
    if let Some(wait) = charge(state.limits.per_ip.as_ref(), ip.as_deref(), weight).await {
        return Ok(Err(rate_limited(
            first_id.unwrap_or(Value::Null),
            wait,
            "this client address",
        )));
    }
    let keys = RateKeys::for_token(token.as_deref());
    let had_token = token.is_some();
    let caller = state
        .auth
        .authenticate(token, &state.node, &state.metrics)
        .await?;
    require_some_permission(&caller, had_token)?;
    Ok(Ok((caller, keys)))
}

/// The HTTP answer to a single call: 204 for a notification that went through, else its reply with the status of
/// its fault.
fn single(reply: JsonRpcResponse, fault: Option<ApiError>, notification: bool) -> HttpResponse {
    let status = fault
        .as_ref()
        .map(|f| f.code.status())
        .unwrap_or(actix_web::http::StatusCode::OK);
    if notification && status.is_success() {
        return HttpResponse::NoContent().finish();
    }
    let mut res = HttpResponse::build(status);
    if let Some(secs) = fault.and_then(|f| f.retry_after) {
        res.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
    }
    json_reply(res, &JsonRpcReply::Single(reply))
}

/// A reply written once into a buffer of its size, the node's results copied in as they came: they are most of it.
fn json_reply(mut res: actix_web::HttpResponseBuilder, reply: &JsonRpcReply) -> HttpResponse {
    match reply.to_json() {
        Ok(body) => res.content_type("application/json").body(body),
        Err(e) => ApiError::internal(format!("cannot write the reply: {e}")).error_response(),
    }
}

impl JsonRpcReply {
    /// The reply as JSON (see [`JsonRpcResponse::write_json`]).
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let (responses, batch) = match self {
            JsonRpcReply::Single(r) => (std::slice::from_ref(r), false),
            JsonRpcReply::Batch(rs) => (rs.as_slice(), true),
        };
        let hint = responses
            .iter()
            .map(JsonRpcResponse::encoded_len)
            .sum::<usize>()
            + 2;
        let mut body = Vec::with_capacity(hint);
        if batch {
            body.push(b'[');
        }
        for (i, r) in responses.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            r.write_json(&mut body)?;
        }
        if batch {
            body.push(b']');
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_carries_the_client_s_id_and_the_node_s_result_as_it_came() {
        let result = Answer::written("{ \"Height\" : 10,\"Cids\":[]}".into()).unwrap();
        let single = JsonRpcReply::Single(JsonRpcResponse {
            jsonrpc: "2.0".into(),
            id: json!("a"),
            result: Some(result.clone()),
            error: None,
        });
        let text = single.to_json().unwrap();
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{ \"Height\" : 10,\"Cids\":[]}}"
        );
        // serde writes the same, a batch too.
        assert_eq!(serde_json::to_vec(&single).unwrap(), text);
        let ok = JsonRpcResponse {
            jsonrpc: "2.0".into(),
            id: json!(1),
            result: Some(result),
            error: None,
        };
        let batch = JsonRpcReply::Batch(vec![ok, error_reply(json!(2), 1, "no \"way\"")]);
        assert_eq!(
            batch.to_json().unwrap(),
            serde_json::to_vec(&batch).unwrap()
        );
        assert!(Answer::written("{\"a\":".into()).is_err());
    }
}
