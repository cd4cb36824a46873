//! The JSON-RPC 2.0 endpoint of the simulated node, answering as Lotus does: same status codes, error codes and
//! messages, same order of checks (token, method, parameters, permission).

use std::fmt::Display;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::Shared;
use crate::lotus::address::{parse_cid, Address};
use crate::lotus::methods::{lookup, FULL_NODE};
use crate::lotus::types::{Cid, NodeVersion};
use crate::lotus::{Perm, PermSet};

pub(super) const PARSE_ERROR: i64 = -32700;
pub(super) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;
/// The code Lotus gives every error a method returns.
const METHOD_ERROR: i64 = 1;

/// The network version the simulated chain runs.
const NETWORK_VERSION: u32 = 25;
/// The v1 API version, encoded as Lotus encodes it (2.3.0).
const API_VERSION: u32 = 2 << 16 | 3 << 8;

/// A JSON-RPC error.
#[derive(Debug)]
pub(crate) struct Failure {
    code: i64,
    message: String,
}

impl Failure {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A method's own error (code 1), as Lotus returns them.
    pub(crate) fn method(message: impl Into<String>) -> Self {
        Failure::new(METHOD_ERROR, message)
    }

    /// The HTTP status Lotus answers a single request failing with this error with.
    pub(crate) fn status(&self) -> StatusCode {
        match self.code {
            PARSE_ERROR | METHOD_NOT_FOUND | INVALID_PARAMS => StatusCode::INTERNAL_SERVER_ERROR,
            INVALID_REQUEST => StatusCode::BAD_REQUEST,
            _ => StatusCode::OK,
        }
    }
}

/// A method call with its parameters decoded.
enum Call {
    ChainHead,
    ChainGetGenesis,
    ChainGetTipSet(Vec<Cid>),
    ChainGetTipSetByHeight(i64, Vec<Cid>),
    ChainGetTipSetAfterHeight(i64, Vec<Cid>),
    ChainGetBlock(Cid),
    ChainGetBlockMessages(Cid),
    ChainGetMessage(Cid),
    ChainGetParentMessages(Cid),
    ChainGetParentReceipts(Cid),
    ChainGetMessagesInTipset(Vec<Cid>),
    StateSearchMsg(Vec<Cid>, Cid, i64),
    StateGetActor(Address, Vec<Cid>),
    StateLookupID(Address, Vec<Cid>),
    StateLookupRobustAddress(Address, Vec<Cid>),
    StateAccountKey(Address, Vec<Cid>),
    StateListActors(Vec<Cid>),
    StateListMiners(Vec<Cid>),
    StateNetworkName,
    StateNetworkVersion(Vec<Cid>),
    WalletBalance(Address),
    Version,
    Session,
    AuthVerify(String),
    AuthNew(Vec<String>),
    /// A method whose result is a channel: it needs a WebSocket connection.
    Channel(ChannelKind),
    /// `EthUnsubscribe`: ends a subscription of the connection.
    EthUnsubscribe(String),
}

/// The channel methods the simulated node implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChannelKind {
    /// `ChainNotify`: the head, then every head change.
    ChainNotify,
    /// `MpoolSub`: message pool updates: messages pushed, then mined.
    MpoolSub,
    /// `SyncIncomingBlocks`: every new block header.
    SyncIncomingBlocks,
    /// `EthSubscribe`: `eth_subscription` notifications, for `newHeads` a header per new head; `logs` and
    /// `newPendingTransactions` are accepted and send nothing (the simulated chain has no Ethereum transactions).
    EthSubscribe { new_heads: bool },
}

/// What a request asks for, once checked.
pub(super) enum Outcome {
    /// A reply, with the HTTP status it would have alone.
    Reply(StatusCode, Value),
    /// A channel to open; the reply carries its id.
    Channel { id: Value, kind: ChannelKind },
    /// An Ethereum subscription of the connection to end; the reply says whether it was one.
    EthUnsubscribe { id: Value, subscription: String },
}

/// The positional parameters of one request, decoded with Lotus's error messages.
pub(crate) struct Params<'a> {
    pub(crate) method: &'a str,
    pub(crate) values: &'a [Value],
}

impl Params<'_> {
    pub(crate) fn expect(&self, count: usize) -> Result<(), Failure> {
        if self.values.len() == count {
            Ok(())
        } else {
            Err(Failure::new(
                INVALID_PARAMS,
                format!(
                    "wrong param count (method '{}'): {} != {count}",
                    self.method,
                    self.values.len()
                ),
            ))
        }
    }

    pub(crate) fn bad(&self, go_type: &str, e: impl Display) -> Failure {
        Failure::new(
            INVALID_PARAMS,
            format!(
                "unmarshaling params for '{}' (param: {go_type}): {e}",
                self.method
            ),
        )
    }

    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        i: usize,
        go_type: &str,
    ) -> Result<T, Failure> {
        serde_json::from_value(self.values[i].clone()).map_err(|e| self.bad(go_type, e))
    }

    pub(crate) fn cid(&self, i: usize) -> Result<Cid, Failure> {
        const GO_TYPE: &str = "*cid.Cid";
        let cid: Cid = self.decode(i, GO_TYPE)?;
        parse_cid(&cid.root)
            .map(Cid::new)
            .map_err(|e| self.bad(GO_TYPE, e))
    }

    /// A tipset key: an array of CIDs; `[]` and `null` mean the head.
    pub(crate) fn tsk(&self, i: usize) -> Result<Vec<Cid>, Failure> {
        const GO_TYPE: &str = "*types.TipSetKey";
        let key: Option<Vec<Cid>> = self.decode(i, GO_TYPE)?;
        key.unwrap_or_default()
            .into_iter()
            .map(|c| {
                parse_cid(&c.root)
                    .map(Cid::new)
                    .map_err(|e| self.bad(GO_TYPE, e))
            })
            .collect()
    }

    pub(crate) fn address(&self, i: usize) -> Result<Address, Failure> {
        const GO_TYPE: &str = "*address.Address";
        let text: String = self.decode(i, GO_TYPE)?;
        Address::parse(&text).map_err(|e| self.bad(GO_TYPE, e))
    }

    pub(crate) fn epoch(&self, i: usize) -> Result<i64, Failure> {
        self.decode(i, "*abi.ChainEpoch")
    }
}

/// Decodes a call to a method the simulated node implements; `None` for any other method.
fn parse(method: &str, values: &[Value]) -> Result<Option<Call>, Failure> {
    let p = Params { method, values };
    let name = method.strip_prefix("Filecoin.").unwrap_or(method);
    let call = match name {
        "ChainHead" => p.expect(0).map(|_| Call::ChainHead),
        "ChainGetGenesis" => p.expect(0).map(|_| Call::ChainGetGenesis),
        "ChainGetTipSet" => p
            .expect(1)
            .and_then(|_| Ok(Call::ChainGetTipSet(p.tsk(0)?))),
        "ChainGetTipSetByHeight" => p
            .expect(2)
            .and_then(|_| Ok(Call::ChainGetTipSetByHeight(p.epoch(0)?, p.tsk(1)?))),
        "ChainGetTipSetAfterHeight" => p
            .expect(2)
            .and_then(|_| Ok(Call::ChainGetTipSetAfterHeight(p.epoch(0)?, p.tsk(1)?))),
        "ChainGetBlock" => p.expect(1).and_then(|_| Ok(Call::ChainGetBlock(p.cid(0)?))),
        "ChainGetBlockMessages" => p
            .expect(1)
            .and_then(|_| Ok(Call::ChainGetBlockMessages(p.cid(0)?))),
        "ChainGetMessage" => p
            .expect(1)
            .and_then(|_| Ok(Call::ChainGetMessage(p.cid(0)?))),
        "ChainGetParentMessages" => p
            .expect(1)
            .and_then(|_| Ok(Call::ChainGetParentMessages(p.cid(0)?))),
        "ChainGetParentReceipts" => p
            .expect(1)
            .and_then(|_| Ok(Call::ChainGetParentReceipts(p.cid(0)?))),
        "ChainGetMessagesInTipset" => p
            .expect(1)
            .and_then(|_| Ok(Call::ChainGetMessagesInTipset(p.tsk(0)?))),
        "StateSearchMsg" => p.expect(4).and_then(|_| {
            let key = p.tsk(0)?;
            let cid = p.cid(1)?;
            let limit = p.epoch(2)?;
            let _allow_replaced: bool = p.decode(3, "*bool")?;
            Ok(Call::StateSearchMsg(key, cid, limit))
        }),
        "StateGetActor" => p
            .expect(2)
            .and_then(|_| Ok(Call::StateGetActor(p.address(0)?, p.tsk(1)?))),
        "StateLookupID" => p
            .expect(2)
            .and_then(|_| Ok(Call::StateLookupID(p.address(0)?, p.tsk(1)?))),
        "StateLookupRobustAddress" => p
            .expect(2)
            .and_then(|_| Ok(Call::StateLookupRobustAddress(p.address(0)?, p.tsk(1)?))),
        "StateAccountKey" => p
            .expect(2)
            .and_then(|_| Ok(Call::StateAccountKey(p.address(0)?, p.tsk(1)?))),
        "StateListActors" => p
            .expect(1)
            .and_then(|_| Ok(Call::StateListActors(p.tsk(0)?))),
        "StateListMiners" => p
            .expect(1)
            .and_then(|_| Ok(Call::StateListMiners(p.tsk(0)?))),
        "StateNetworkName" => p.expect(0).map(|_| Call::StateNetworkName),
        "StateNetworkVersion" => p
            .expect(1)
            .and_then(|_| Ok(Call::StateNetworkVersion(p.tsk(0)?))),
        "WalletBalance" => p
            .expect(1)
            .and_then(|_| Ok(Call::WalletBalance(p.address(0)?))),
        "Version" => p.expect(0).map(|_| Call::Version),
        "Session" => p.expect(0).map(|_| Call::Session),
        "AuthVerify" => p
            .expect(1)
            .and_then(|_| Ok(Call::AuthVerify(p.decode(0, "*string")?))),
        "AuthNew" => p
            .expect(1)
            .and_then(|_| Ok(Call::AuthNew(p.decode(0, "*[]auth.Permission")?))),
        "ChainNotify" => p.expect(0).map(|_| Call::Channel(ChannelKind::ChainNotify)),
        "MpoolSub" => p.expect(0).map(|_| Call::Channel(ChannelKind::MpoolSub)),
        "SyncIncomingBlocks" => p
            .expect(0)
            .map(|_| Call::Channel(ChannelKind::SyncIncomingBlocks)),
        "EthSubscribe" => {
            if values.is_empty() || values.len() > 2 {
                Err(Failure::new(
                    INVALID_PARAMS,
                    format!(
                        "wrong param count (method '{method}'): {} != 1 or 2",
                        values.len()
                    ),
                ))
            } else {
                match values[0].as_str() {
                    Some("newHeads") => {
                        Ok(Call::Channel(ChannelKind::EthSubscribe { new_heads: true }))
                    }
                    Some("logs" | "newPendingTransactions") => {
                        Ok(Call::Channel(ChannelKind::EthSubscribe {
                            new_heads: false,
                        }))
                    }
                    _ => Err(Failure::method(format!(
                        "unsupported event type: {}",
                        values[0]
                    ))),
                }
            }
        }
        "EthUnsubscribe" => p.expect(1).and_then(|_| {
            Ok(Call::EthUnsubscribe(
                p.decode(0, "ethtypes.EthSubscriptionID")?,
            ))
        }),
        _ => return Ok(None),
    };
    call.map(Some)
}

fn to_json<T: Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("the simulated node's types serialize")
}

/// Runs a decoded call against the simulated node.
fn execute(shared: &Shared, call: Call) -> Result<Value, Failure> {
    let chain = shared.chain.read().unwrap_or_else(|e| e.into_inner());
    let result = match call {
        Call::ChainHead => Ok(to_json(&chain.head().tipset)),
        Call::ChainGetGenesis => Ok(to_json(chain.genesis())),
        Call::ChainGetTipSet(key) => chain.tipset(&key).map(|t| to_json(&t.tipset)),
        Call::ChainGetTipSetByHeight(h, key) => chain.tipset_by_height(h, &key).map(to_json),
        Call::ChainGetTipSetAfterHeight(h, key) => chain.tipset_after_height(h, &key).map(to_json),
        Call::ChainGetBlock(cid) => chain.block(&cid).map(to_json),
        Call::ChainGetBlockMessages(cid) => chain.block_messages(&cid).map(to_json),
        Call::ChainGetMessage(cid) => chain.message(&cid).map(to_json),
        Call::ChainGetParentMessages(cid) => chain.parent_messages(&cid),
        Call::ChainGetParentReceipts(cid) => chain.parent_receipts(&cid).map(to_json),
        Call::ChainGetMessagesInTipset(key) => chain.tipset_messages(&key),
        Call::StateSearchMsg(key, cid, limit) => {
            chain.search_message(&key, &cid, limit).map(to_json)
        }
        Call::StateGetActor(addr, key) => chain.actor(&addr, &key).map(to_json),
        Call::StateLookupID(addr, key) => chain.lookup_id(&addr, &key).map(to_json),
        Call::StateLookupRobustAddress(addr, key) => chain.lookup_robust(&addr, &key).map(to_json),
        Call::StateAccountKey(addr, key) => chain.account_key(&addr, &key).map(to_json),
        Call::StateListActors(key) => chain.list_actors(&key).map(to_json),
        Call::StateListMiners(key) => chain.list_miners(&key).map(to_json),
        Call::StateNetworkName => Ok(to_json(super::NETWORK_NAME)),
        Call::StateNetworkVersion(key) => chain.tipset(&key).map(|_| to_json(NETWORK_VERSION)),
        // Lotus answers a zero balance for an address without an actor.
        Call::WalletBalance(addr) => Ok(chain
            .actor(&addr, &[])
            .map(|a| to_json(a.balance))
            .unwrap_or_else(|_| json!("0"))),
        Call::Version => Ok(to_json(NodeVersion {
            version: "1.36.2+simnet".into(),
            api_version: API_VERSION,
            block_delay: shared.block_time.as_secs(),
            agent: Some("lotus-rest-sim".into()),
        })),
        Call::Session => Ok(to_json(&shared.session)),
        Call::AuthVerify(token) => shared
            .secret
            .verify(&token)
            .map(|perms| to_json(perms.names()))
            .map_err(|e| format!("JWT Verification failed: {e}")),
        Call::AuthNew(names) => {
            let perms: PermSet = names
                .iter()
                .filter_map(|n| n.parse::<Perm>().ok())
                .collect();
            // Lotus returns the token as a byte slice, which JSON carries as base64.
            let token = shared.secret.mint(perms);
            Ok(to_json(
                base64::engine::general_purpose::STANDARD.encode(token),
            ))
        }
        // `dispatch` hands channel calls to the transport; this is only a safe answer should one get here.
        Call::Channel(_) => Err("channel methods need a websocket connection".to_owned()),
        Call::EthUnsubscribe(_) => Ok(json!(false)),
    };
    result.map_err(Failure::method)
}

/// Answers one JSON-RPC request object over HTTP: the reply and the HTTP status it would have alone. A channel
/// method is refused as go-jsonrpc refuses it on a transport without channels.
pub(super) fn handle_one(shared: &Shared, perms: PermSet, request: &Value) -> (StatusCode, Value) {
    match dispatch(shared, perms, request) {
        Outcome::Reply(status, body) => (status, body),
        Outcome::Channel {
            id,
            kind: ChannelKind::EthSubscribe { .. },
        } => {
            // Lotus's answer when the connection cannot take calls back.
            let failure = Failure::method("connection doesn't support callbacks");
            (failure.status(), error_reply(id, failure))
        }
        Outcome::Channel { id, .. } => {
            let method = request.get("method").and_then(Value::as_str).unwrap_or("");
            let failure = Failure::new(
                METHOD_NOT_FOUND,
                format!("method '{method}' not supported in this mode (no out channel support)"),
            );
            (failure.status(), error_reply(id, failure))
        }
        // Over HTTP there is no subscription of the connection to end.
        Outcome::EthUnsubscribe { id, .. } => (
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "result": false, "id": id}),
        ),
    }
}

/// Checks one JSON-RPC request object and runs it, unless it opens a channel, which is left to the caller.
pub(super) fn dispatch(shared: &Shared, perms: PermSet, request: &Value) -> Outcome {
    let Some(object) = request.as_object() else {
        let failure = Failure::new(
            INVALID_REQUEST,
            "invalid request: expected a JSON-RPC request object",
        );
        return Outcome::Reply(failure.status(), error_reply(Value::Null, failure));
    };
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    let result = (|| {
        let method = object
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::new(INVALID_REQUEST, "invalid request: missing method name"))?;
        let Some(meta) = lookup(FULL_NODE, method) else {
            return Err(Failure::new(
                METHOD_NOT_FOUND,
                format!("method '{method}' not found"),
            ));
        };
        let params = match object.get("params") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(values)) => values.as_slice(),
            Some(_) => {
                return Err(Failure::new(
                    INVALID_PARAMS,
                    format!("unmarshaling params for '{method}': expected an array of parameters"),
                ))
            }
        };
        let call = parse(method, params)?;
        if !perms.contains(meta.perm) {
            let name = method.strip_prefix("Filecoin.").unwrap_or(method);
            return Err(Failure::method(format!(
                "missing permission to invoke '{name}' (need '{}')",
                meta.perm
            )));
        }
        match call {
            None => {
                let p = Params {
                    method,
                    values: params,
                };
                let name = method.strip_prefix("Filecoin.").unwrap_or(method);
                match super::groups::call(shared, name, &p) {
                    Some(result) => result.map(Ok),
                    None => Err(Failure::new(
                        METHOD_NOT_FOUND,
                        format!(
                            "method '{method}' not found: the simulated node does not support it"
                        ),
                    )),
                }
            }
            Some(Call::Channel(kind)) => Ok(Err(Ok(kind))),
            Some(Call::EthUnsubscribe(subscription)) => Ok(Err(Err(subscription))),
            Some(call) => execute(shared, call).map(Ok),
        }
    })();
    match result {
        Ok(Ok(value)) => Outcome::Reply(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "result": shared.written(value), "id": id}),
        ),
        Ok(Err(Ok(kind))) => Outcome::Channel { id, kind },
        Ok(Err(Err(subscription))) => Outcome::EthUnsubscribe { id, subscription },
        Err(failure) => Outcome::Reply(failure.status(), error_reply(id, failure)),
    }
}

pub(super) fn error_reply(id: Value, failure: Failure) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": failure.code, "message": failure.message},
    })
}

fn reply(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(serde_json::to_vec(body).expect("JSON values serialize"))
}

/// The permissions of the caller, as Lotus's auth handler decides them: no token gives `read`; a token must come
/// as `Authorization: Bearer <token>` or `?token=<token>` and verify, else the request is refused with 401.
pub(super) fn caller_perms(req: &HttpRequest, shared: &Shared) -> Result<PermSet, ()> {
    let header = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => value.to_str().map_err(|_| ())?.to_owned(),
        None => String::new(),
    };
    let header = if header.is_empty() {
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "token")
            .filter(|(_, v)| !v.is_empty())
            .map(|(_, v)| format!("Bearer {v}"))
            .unwrap_or_default()
    } else {
        header
    };
    if header.is_empty() {
        return Ok(Perm::Read.up_to());
    }
    let token = header.strip_prefix("Bearer ").ok_or(())?;
    shared.secret.verify(token).map_err(|_| ())
}

/// The method names a request body names, for the call log.
pub(super) fn method_names(body: &Result<Value, serde_json::Error>) -> Vec<String> {
    let name = |v: &Value| {
        v.get("method")
            .and_then(Value::as_str)
            .unwrap_or("<invalid request>")
            .to_owned()
    };
    match body {
        Ok(Value::Array(items)) if !items.is_empty() => items.iter().map(name).collect(),
        Ok(value) => vec![name(value)],
        Err(_) => vec!["<unparseable request>".to_owned()],
    }
}

/// `POST /rpc/v1` and `/rpc/v0`.
pub(super) async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if shared.is_stopped() {
        // The node is down: the connection breaks instead of answering.
        return HttpResponse::Ok().streaming(futures_util::stream::once(async {
            Err::<web::Bytes, _>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the simulated node is stopped",
            ))
        }));
    }
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    shared.record(method_names(&parsed));
    if let Some(delay) = shared.stall() {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = shared.fault() {
        return faulty_reply(fault, &parsed);
    }
    let Ok(perms) = caller_perms(&req, &shared) else {
        return HttpResponse::Unauthorized().finish();
    };
    match parsed {
        Err(e) => {
            let failure = Failure::new(PARSE_ERROR, format!("Parse error: {e}"));
            reply(failure.status(), &error_reply(Value::Null, failure))
        }
        Ok(Value::Array(items)) if items.is_empty() => {
            let failure = Failure::new(INVALID_REQUEST, "invalid request: empty batch");
            reply(failure.status(), &error_reply(Value::Null, failure))
        }
        Ok(Value::Array(items)) => {
            let replies: Vec<Value> = items
                .iter()
                .map(|item| handle_one(&shared, perms, item).1)
                .collect();
            reply(StatusCode::OK, &Value::Array(replies))
        }
        Ok(request) => {
            let (status, body) = handle_one(&shared, perms, &request);
            reply(status, &body)
        }
    }
}

/// The reply of a node that misbehaves in the way `fault` says.
fn faulty_reply(fault: super::Fault, request: &Result<Value, serde_json::Error>) -> HttpResponse {
    use super::Fault;
    let id = request
        .as_ref()
        .ok()
        .and_then(|r| r.get("id").cloned())
        .unwrap_or(Value::Null);
    match fault {
        Fault::Status(status) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
        )
        .content_type("text/plain")
        .body("simulated failure"),
        Fault::NotJson => HttpResponse::Ok()
            .content_type("text/html")
            .body("<html><body>502 Bad Gateway</body></html>"),
        Fault::WrongId => HttpResponse::Ok().json(serde_json::json!({
            "jsonrpc": "2.0", "id": 987654321, "result": "not yours"
        })),
        Fault::ResetMidBody => {
            let head = web::Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"result\":{\"Cids\":[");
            HttpResponse::Ok()
                .content_type("application/json")
                .streaming(futures_util::stream::iter([
                    Ok::<_, std::io::Error>(head),
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "the simulated node cut the reply",
                    )),
                ]))
        }
        Fault::Oversized(len) => {
            let mut body = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":\"");
            body.push_str(&"x".repeat(len));
            body.push_str("\"}");
            HttpResponse::Ok()
                .content_type("application/json")
                .body(body)
        }
    }
}
