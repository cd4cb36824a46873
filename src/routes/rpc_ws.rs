//! Lotus JSON-RPC over WebSocket on `/rpc/v1` and `/rpc/v0`, the protocol Lotus's own clients speak (the `lotus`
//! CLI and go-jsonrpc, js-lotus-client's WebSocket provider, ethers' `WebSocketProvider`).
//!
//! Each client socket gets one socket of its own to the node, opened by its first call the node is to answer, so
//! everything that lives on a connection (channel methods, `eth_subscribe`, filters) stays the client's. Every call
//! the client sends is checked as over HTTP (the method table, the token's permission with Lotus's own error, public
//! mode, the rate limits, the lookback cap) before it is forwarded; what the node sends back (replies,
//! `xrpc.ch.val`, `xrpc.ch.close`, `eth_subscription`) goes to the client as it came. Filters and subscriptions
//! are capped per connection, usable only on the connection that made them, and uninstalled on the node when the
//! connection ends.
//!
//! The channel methods whose values every client shares (`ChainNotify`, `MpoolSub`, `SyncIncomingBlocks`) are not
//! forwarded: the gateway serves them from its own single subscription to the node (the one its event streams ride
//! on), so a thousand clients following the head cost the node one subscription. Their channel ids are the
//! gateway's own, from [`FANNED_CHANNEL_BASE`] up, apart from the small ids the node gives the channels it serves.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix_web::{get, web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::rpc::{self, JsonRpcRequest, RateKeys};
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::upstream::UpstreamError;

/// A ping to a quiet client this often; one that has sent nothing (not even a pong) for three times as long is gone.
const PING_EVERY: Duration = Duration::from_secs(30);

/// How long connecting to the node's WebSocket may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls one connection may have in flight to the node at once; each also holds one of the node's call slots
/// (`[FullNode] MaxConcurrentCalls`) until its reply comes.
const IN_FLIGHT: usize = 64;

/// How long the node gets to take the uninstalls of a closing connection's filters.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The first channel id the gateway gives a channel it serves itself; the node counts its own from 1. Below 2^53,
/// so that JavaScript clients read it exactly.
pub const FANNED_CHANNEL_BASE: u64 = 1 << 40;

/// A channel the gateway serves from its shared subscription: its values, then `None` when it ends.
type FannedStream =
    futures_util::stream::LocalBoxStream<'static, (u64, Option<crate::streams::Event>)>;

/// A channel the gateway serves itself, by channel id.
struct Fanned {
    /// The JSON text of the id of the request that opened it, which `xrpc.cancel` names.
    request: String,
    /// Ends its stream.
    stop: tokio::sync::oneshot::Sender<()>,
    /// Head changes of one node notification, gathered until the last of them.
    pending: Vec<crate::streams::Event>,
}

/// A channel's value as the node sends it, `{"jsonrpc":"2.0","method":"xrpc.ch.val","params":[channel,value]}`,
/// the value being the concatenation of `parts`: written once into a string of its size (a head is 5 KB, and every
/// client following the channel gets it).
fn channel_message(channel: u64, parts: &[&str]) -> String {
    use std::fmt::Write;
    // 53 bytes of envelope and up to 20 digits of channel id.
    let size = parts.iter().map(|p| p.len()).sum::<usize>();
    let mut text = String::with_capacity(size + 80);
    let _ = write!(
        text,
        "{{\"jsonrpc\":\"2.0\",\"method\":\"xrpc.ch.val\",\"params\":[{channel},"
    );
    for part in parts {
        text.push_str(part);
    }
    text.push_str("]}");
    text
}

/// The head changes of one node notification as a `ChainNotify` value: `[{"Type":"revert","Val":...},...]`.
fn head_changes_message(channel: u64, changes: &[crate::streams::Event]) -> String {
    let mut parts = Vec::with_capacity(changes.len() * 5 + 2);
    parts.push("[");
    for (i, change) in changes.iter().enumerate() {
        parts.extend([
            if i > 0 {
                ",{\"Type\":\""
            } else {
                "{\"Type\":\""
            },
            change.event,
            "\",\"Val\":",
            &change.data,
            "}",
        ]);
    }
    parts.push("]");
    channel_message(channel, &parts)
}

/// Lotus JSON-RPC over WebSocket.
///
/// The WebSocket form of `/rpc/v1`, as Lotus serves it: requests, responses, batches and notifications, channel
/// methods (`ChainNotify`, `MpoolSub`, ...: their values follow as `xrpc.ch.val` notifications until the client
/// sends `xrpc.cancel`), `eth_subscribe` and the Ethereum filter methods. The token is taken from the upgrade
/// request's `Authorization: Bearer` header, as Lotus takes it, or, for browsers (which cannot set headers), from
/// the `token` query parameter (query strings are never logged). Every call is checked as over HTTP. A plain `GET`
/// without the upgrade is 400.
#[utoipa::path(
    tag = "JSON-RPC",
    params(("token" = Option<String>, Query, description = "The token, for clients that cannot send an Authorization header (browsers)", example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIl19.sig")),
    responses(
        (status = 101, description = "The WebSocket is open"),
        (status = 400, description = "Not a WebSocket upgrade", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token that is not valid", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "This client already holds the most connections it may, or its rate limit is reached", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The node's WebSocket cannot be reached", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The gateway holds the most connections it serves", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security((), ("lotus_token" = ["read"]))
)]
#[get("/rpc/v1")]
pub async fn get_rpc_v1(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    upgrade(req, state, body).await
}

/// Lotus JSON-RPC over WebSocket (v0 path).
///
/// The same endpoint as `GET /rpc/v1`, on the path older Lotus clients use.
#[utoipa::path(
    tag = "JSON-RPC",
    params(("token" = Option<String>, Query, description = "The token, for clients that cannot send an Authorization header (browsers)", example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIl19.sig")),
    responses(
        (status = 101, description = "The WebSocket is open"),
        (status = 400, description = "Not a WebSocket upgrade", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token that is not valid", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "This client already holds the most connections it may, or its rate limit is reached", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The node's WebSocket cannot be reached", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The gateway holds the most connections it serves", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security((), ("lotus_token" = ["read"]))
)]
#[get("/rpc/v0")]
pub async fn get_rpc_v0(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    upgrade(req, state, body).await
}

/// The token of an upgrade request: its `Authorization` header, else its `token` query parameter.
fn token_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    if let Some(token) = crate::auth::bearer_token(req)? {
        return Ok(Some(token));
    }
    Ok(url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_string())
        .filter(|t| !t.is_empty()))
}

/// Counts an open socket against the gateway's total while alive.
struct Counted(std::sync::Arc<AppState>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.limits.sockets.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn upgrade(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let is_upgrade = req
        .headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return Err(ApiError::invalid_parameter(
            "GET /rpc/v1 is Lotus JSON-RPC over WebSocket: send a WebSocket upgrade (Upgrade: websocket), or POST \
             JSON-RPC over HTTP",
        ));
    }
    let ip = req.peer_addr().map(|a| format!("ip:{}", a.ip()));
    // The client address pays for the connection before its token is looked at.
    if let Some(wait) = rpc::charge(state.limits.per_ip.as_ref(), ip.as_deref(), 1).await {
        let mut err = ApiError::new(
            Code::RateLimited,
            format!("rate limit of this client address reached; retry in {wait} s"),
        );
        err.retry_after = Some(wait);
        return Err(err);
    }
    let token = token_of(&req)?;
    let had_token = token.is_some();
    let token_key = token.as_deref().map(crate::ratelimit::token_key);
    let caller = state
        .auth
        .authenticate(token.clone(), &state.node, &state.metrics)
        .await?;
    rpc::require_some_permission(&caller, had_token)?;
    // One client may hold only so many connections (and streams) at once; the gateway only so many sockets.
    let holders: Vec<String> = ip.iter().chain(token_key.iter()).cloned().collect();
    let held = state.streams.hold(holders.clone())?;
    let open = state.limits.sockets.fetch_add(1, Ordering::SeqCst);
    let counted = Counted(state.clone().into_inner());
    if open >= state.limits.max_sockets {
        let mut err = ApiError::new(
            Code::UpstreamUnavailable,
            format!(
                "{} WebSocket connections are open, the most this gateway serves ([JsonRpc] MaxSockets); retry later",
                state.limits.max_sockets
            ),
        );
        err.retry_after = Some(5);
        return Err(err);
    }
    let max = state.limits.max_message_bytes;
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::invalid_parameter(format!("not a valid WebSocket upgrade: {e}")))?;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let connection = Connection {
        state: state.clone(),
        keys: RateKeys::for_token(token.as_deref()),
        ip: ip.clone(),
        holders: holders.clone(),
        own_bucket: state
            .limits
            .per_token
            .as_ref()
            .or(state.limits.per_ip.as_ref())
            .map(|b| crate::ratelimit::Buckets::new(b.rate, b.burst)),
        caller,
        session,
        watched: HashMap::new(),
        filters: HashMap::new(),
        in_flight: HashMap::new(),
        fanned: HashMap::new(),
        opened: Vec::new(),
        next_channel: FANNED_CHANNEL_BASE,
        last_heard: Instant::now(),
        ending: None,
        counted: 0,
    };
    state.metrics.socket_opened();
    actix_web::rt::spawn(async move {
        connection.serve(stream).await;
        drop(held);
        drop(counted);
    });
    Ok(response)
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The connection's own socket to the node, opened when the client first sends something the node is to answer:
/// a client that only follows the shared channels (`ChainNotify`, ...), which the gateway serves from its own
/// subscription, never costs the node a connection.
#[derive(Default)]
struct NodeSocket {
    tx: Option<futures_util::stream::SplitSink<Upstream, Message>>,
    rx: Option<futures_util::stream::SplitStream<Upstream>>,
}

impl NodeSocket {
    /// The sending half, the socket opened first if it is not yet; why not when the node cannot be reached.
    async fn sender(
        &mut self,
        state: &AppState,
        caller: &Caller,
    ) -> Result<&mut futures_util::stream::SplitSink<Upstream, Message>, ApiError> {
        if self.tx.is_none() {
            let (tx, rx) = dial(state, caller).await?.split();
            self.rx = Some(rx);
            return Ok(self.tx.insert(tx));
        }
        Ok(self.tx.as_mut().expect("the socket is open"))
    }

    /// The node's next message; never, while the socket is not open.
    async fn next(&mut self) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
        match &mut self.rx {
            Some(rx) => rx.next().await,
            None => std::future::pending().await,
        }
    }
}

/// Opens the connection's own socket to the node, with the token the node is to see.
async fn dial(state: &AppState, caller: &Caller) -> Result<Upstream, ApiError> {
    let not_configured = || {
        ApiError::new(
            Code::UpstreamUnavailable,
            "no Lotus node is configured: set [FullNode] ApiInfo in the config file, FULLNODE_API_INFO, or \
             LOTUS_PATH to a Lotus repo",
        )
    };
    // With a pool of nodes: the first node in rotation.
    let (http, token) = match state.node.primary_target(caller.upstream_token.as_deref()) {
        Some(target) => target,
        None => (
            state.node.url().cloned().ok_or_else(not_configured)?,
            caller.upstream_token.clone(),
        ),
    };
    let url = crate::head::ws_url(&http).ok_or_else(not_configured)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ApiError::internal(format!("the node's WebSocket URL is not valid: {e}")))?;
    if let Some(token) = &token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| ApiError::unauthorized("the token is not a valid header value"))?;
        request.headers_mut().insert("Authorization", value);
    }
    let unreachable = |why: String| {
        log::warn!("the node's WebSocket could not be reached: {why}");
        ApiError::new(
            Code::UpstreamUnreachable,
            "cannot reach the Lotus node's WebSocket",
        )
    };
    match tokio::time::timeout(DIAL_TIMEOUT, tokio_tungstenite::connect_async(request)).await {
        Err(_) => Err(ApiError::new(
            Code::UpstreamTimeout,
            format!(
                "the Lotus node's WebSocket did not answer within {} s",
                DIAL_TIMEOUT.as_secs()
            ),
        )),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(res))) if res.status() == 401 => {
            Err(UpstreamError::Unauthorized.into())
        }
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Ok(Ok((ws, _))) => Ok(ws),
    }
}

/// What a forwarded call's reply is watched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// A filter or subscription is being made: its id is in the reply.
    Make(Kind),
    /// A filter or subscription is being removed.
    Remove,
}

/// A filter or a subscription of the connection, as the node knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Filter,
    Subscription,
}

struct Connection {
    state: web::Data<AppState>,
    caller: Caller,
    keys: RateKeys,
    /// The client address's bucket key: each call is charged to it, as over HTTP.
    ip: Option<String>,
    /// What the connection's streams are counted against: its address and its token.
    holders: Vec<String>,
    /// The connection's own rate bucket, at the per-token rate (else the per-address rate).
    own_bucket: Option<crate::ratelimit::Buckets>,
    session: actix_ws::Session,
    /// Forwarded calls whose replies make or remove a filter, by the JSON text of their id.
    watched: HashMap<String, (Watch, Option<String>)>,
    /// The connection's filters and subscriptions, by id (the JSON text the node gave).
    filters: HashMap<String, Kind>,
    /// The calls in flight to the node, by the JSON text of their id, each holding a call slot.
    in_flight: HashMap<String, tokio::sync::OwnedSemaphorePermit>,
    /// The channels the gateway serves itself, by channel id.
    fanned: HashMap<u64, Fanned>,
    /// Channels opened by the last message, for the serving loop to take up.
    opened: Vec<FannedStream>,
    next_channel: u64,
    last_heard: Instant,
    /// Set when a reply of the gateway's own could not be delivered: the connection ends.
    ending: Option<Ending>,
    /// The channels, subscriptions and filters counted in the `websocket_subscriptions` gauge.
    counted: usize,
}

/// Why a reply of the gateway's own could not be delivered.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Gone,
    Slow,
}

/// Why a connection ends.
enum End {
    /// The client closed it (or went away).
    Client,
    /// The node's socket closed or failed.
    Node(String),
    /// The client was quiet too long.
    Idle,
    /// The client stopped taking what it is sent.
    Slow,
    /// The gateway shuts down.
    Shutdown,
    /// The client broke the protocol.
    Protocol(String),
}

impl Connection {
    async fn serve(mut self, mut stream: actix_ws::AggregatedMessageStream) {
        let mut node = NodeSocket::default();
        let mut fanned = futures_util::stream::SelectAll::<FannedStream>::new();
        let mut closing = self.state.streams.closing();
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        let end = loop {
            self.count_held();
            match self.ending {
                Some(Ending::Gone) => break End::Client,
                Some(Ending::Slow) => break End::Slow,
                None => {}
            }
            tokio::select! {
                message = stream.recv() => {
                    self.last_heard = Instant::now();
                    match message {
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            if let Err(why) = Box::pin(self.on_client_message(text.as_bytes(), &mut node)).await {
                                break End::Node(why);
                            }
                            fanned.extend(self.opened.drain(..));
                        }
                        Some(Ok(AggregatedMessage::Binary(bytes))) => {
                            if let Err(why) = Box::pin(self.on_client_message(&bytes, &mut node)).await {
                                break End::Node(why);
                            }
                            fanned.extend(self.opened.drain(..));
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            let _ = tokio::time::timeout(self.send_timeout(), self.session.pong(&bytes)).await;
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Close(_))) | None => break End::Client,
                        Some(Err(e)) => break End::Protocol(e.to_string()),
                    }
                }
                message = node.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        self.on_node_message(text.as_str());
                        match tokio::time::timeout(self.send_timeout(), self.session.text(text.as_str().to_owned())).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => break End::Client,
                            Err(_) => break End::Slow,
                        }
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Ok(text) = std::str::from_utf8(&bytes) {
                            self.on_node_message(text);
                        }
                        match tokio::time::timeout(self.send_timeout(), self.session.binary(bytes)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => break End::Client,
                            Err(_) => break End::Slow,
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break End::Node(frame.map(|f| f.reason.to_string()).unwrap_or_else(|| "closed".into()))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break End::Node(e.to_string()),
                    None => break End::Node("closed".into()),
                },
                Some((channel, event)) = fanned.next(), if !fanned.is_empty() => {
                    if let Err(end) = self.on_fanned(channel, event).await {
                        break end;
                    }
                }
                _ = ticker.tick() => {
                    if self.last_heard.elapsed() > PING_EVERY * 3 {
                        break End::Idle;
                    }
                    match tokio::time::timeout(self.send_timeout(), self.session.ping(b"")).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break End::Client,
                        Err(_) => break End::Slow,
                    }
                }
                _ = closing.changed() => break End::Shutdown,
            }
        };
        // The shared subscriptions' channels go (the last client of one cancels it on the node).
        drop(fanned);
        self.fanned.clear();
        self.state
            .metrics
            .socket_subscriptions(-i64::try_from(self.counted).unwrap_or(0));
        self.counted = 0;
        // The node forgets what the connection made: its filters are uninstalled (its subscriptions end with the
        // node's socket).
        let filters: Vec<(String, Kind)> = self.filters.drain().collect();
        let cleanup = async {
            let (Some(up_tx), Some(up_rx)) = (node.tx.as_mut(), node.rx.as_mut()) else {
                return;
            };
            for (n, (id, kind)) in filters.iter().enumerate() {
                let method = match kind {
                    Kind::Filter => "Filecoin.EthUninstallFilter",
                    Kind::Subscription => "Filecoin.EthUnsubscribe",
                };
                let id: Value = serde_json::from_str(id).unwrap_or(Value::Null);
                let call = json!({"jsonrpc": "2.0", "method": method, "params": [id], "id": format!("cleanup-{n}")});
                if up_tx.send(Message::text(call.to_string())).await.is_err() {
                    return;
                }
            }
            // Wait for the node to answer them before the socket goes.
            let mut left = filters.len();
            while left > 0 {
                match up_rx.next().await {
                    Some(Ok(Message::Text(t))) if t.as_str().contains("\"cleanup-") => left -= 1,
                    Some(Ok(_)) => {}
                    _ => return,
                }
            }
        };
        let _ = tokio::time::timeout(CLEANUP_TIMEOUT, Box::pin(cleanup)).await;
        if let Some(mut up_tx) = node.tx.take() {
            let _ = up_tx.close().await;
        }
        self.state.metrics.socket_closed();
        let reason = match end {
            End::Client => None,
            End::Node(why) => Some(CloseReason {
                code: CloseCode::Away,
                description: Some(format!("the Lotus node's connection ended: {why}")),
            }),
            End::Idle => Some(CloseReason {
                code: CloseCode::Away,
                description: Some(
                    "idle: nothing was heard from the client, not even a pong".into(),
                ),
            }),
            End::Slow => Some(CloseReason {
                code: CloseCode::Policy,
                description: Some(format!(
                    "too slow: a message waited more than {} ms to be taken ([JsonRpc] SlowClientTimeout)",
                    self.send_timeout().as_millis()
                )),
            }),
            End::Shutdown => Some(CloseReason {
                code: CloseCode::Away,
                description: Some("the gateway is shutting down".into()),
            }),
            End::Protocol(why) => Some(CloseReason {
                code: CloseCode::Protocol,
                description: Some(why),
            }),
        };
        let _ = tokio::time::timeout(CLEANUP_TIMEOUT, self.session.close(reason)).await;
    }

    /// The filters, subscriptions and channels the connection holds (those being made not counted).
    fn held(&self) -> usize {
        self.filters.len() + self.fanned.len()
    }

    /// Refuses a call that would make one more filter, subscription or channel when the connection holds (or is
    /// making) `[JsonRpc] MaxFiltersPerConnection` already; whether it refused.
    async fn refuse_if_full(&mut self, id: &Option<Value>) -> bool {
        let making = self
            .watched
            .values()
            .filter(|(w, _)| matches!(w, Watch::Make(_)))
            .count();
        let cap = self.state.limits.max_filters;
        if self.held() + making < cap {
            return false;
        }
        self.refuse(
            id.clone(),
            1,
            format!(
                "this connection already has {cap} filters, subscriptions and channels, the most it may hold \
                 ([JsonRpc] MaxFiltersPerConnection); uninstall or cancel one first"
            ),
        )
        .await;
        true
    }

    /// Brings the `websocket_subscriptions` gauge up to date with what the connection holds.
    fn count_held(&mut self) {
        let held = self.held();
        if held != self.counted {
            let delta = i64::try_from(held).unwrap_or(0) - i64::try_from(self.counted).unwrap_or(0);
            self.state.metrics.socket_subscriptions(delta);
            self.counted = held;
        }
    }

    /// How long the client may take to accept one message; one that takes longer (it stopped reading) is cut off,
    /// so it cannot hold its connection, its node socket and its slots by never reading.
    fn send_timeout(&self) -> Duration {
        self.state.limits.slow_client_timeout
    }

    /// Sends a reply of the gateway's own to the client. A client that does not take it in time is marked, and the
    /// connection ends once the message at hand is handled.
    async fn reply(&mut self, body: &impl serde::Serialize) {
        if let Ok(text) = serde_json::to_string(body) {
            self.reply_text(text).await;
        }
    }

    async fn reply_text(&mut self, text: String) {
        match tokio::time::timeout(self.send_timeout(), self.session.text(text)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => self.ending = self.ending.or(Some(Ending::Gone)),
            Err(_) => self.ending = self.ending.or(Some(Ending::Slow)),
        }
    }

    async fn refuse(&mut self, id: Option<Value>, code: i64, message: impl Into<String>) {
        // A notification (no id) gets no reply, refused or not.
        if let Some(id) = id {
            self.reply(&rpc::error_reply(id, code, message)).await;
        }
    }

    /// Handles one message of the client: checks each call and forwards what passes. `Err` when the node's
    /// socket fails.
    async fn on_client_message(
        &mut self,
        bytes: &[u8],
        node: &mut NodeSocket,
    ) -> Result<(), String> {
        let parsed: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.refuse(Some(Value::Null), -32700, format!("parse error: {e}"))
                    .await;
                return Ok(());
            }
        };
        if let Value::Array(items) = parsed {
            self.batch(items).await;
            return Ok(());
        }
        // The protocol's own messages: the client cancelling a call or closing a channel it gave.
        let method = parsed.get("method").and_then(Value::as_str).unwrap_or("");
        if method == "xrpc.cancel" {
            let request = parsed
                .get("params")
                .and_then(|p| p.get(0))
                .map(Value::to_string);
            if let Some(channel) = request.and_then(|r| self.fanned_by_request(&r)) {
                // A channel the gateway serves: it ends here, and the node is told nothing.
                self.end_fanned(channel).await;
                return Ok(());
            }
        }
        if method == "xrpc.cancel" || method == "xrpc.ch.close" {
            // Without a socket to the node there is no call or channel of the node's to cancel or close.
            let Some(up) = node.tx.as_mut() else {
                return Ok(());
            };
            return up
                .send(Message::text(parsed.to_string()))
                .await
                .map_err(|e| e.to_string());
        }
        let call: JsonRpcRequest = match serde_json::from_value(parsed) {
            Ok(c) => c,
            Err(e) => {
                self.refuse(
                    Some(Value::Null),
                    -32600,
                    format!("invalid request: expected a JSON-RPC request object or an array of them ({e})"),
                )
                .await;
                return Ok(());
            }
        };
        let id = call.id.clone().filter(|id| !id.is_null());
        // Every call on the socket needs an id: its reply is what releases the node's call slot it holds, and a
        // filter made by a notification could be neither counted nor used. (The protocol's own `xrpc.*` messages
        // are handled above.)
        if id.is_none() {
            self.state.metrics.socket_call("(refused)", false);
            self.refuse(
                Some(Value::Null),
                -32600,
                "invalid request: a call on the WebSocket needs an id; notifications (calls without one) are not \
                 forwarded, since nothing would bound them",
            )
            .await;
            return Ok(());
        }
        // The client address pays first, as over HTTP; then the token (in `admit`) and the connection.
        if let Some(wait) = rpc::charge(
            self.state.limits.per_ip.as_ref(),
            self.ip.as_deref(),
            rpc::weight_of(&call),
        )
        .await
        {
            self.state.metrics.socket_call("(refused)", false);
            self.refuse(
                id,
                -32005,
                format!("rate limit of this client address reached; retry in {wait} s"),
            )
            .await;
            return Ok(());
        }
        let (method, params) = match rpc::admit(&self.state, &self.caller, &self.keys, &call).await
        {
            Ok(admitted) => admitted,
            Err(r) => {
                self.state.metrics.socket_call("(refused)", false);
                self.refuse(id, r.code, r.message).await;
                return Ok(());
            }
        };
        let forwarded = self
            .send_admitted(call.id, id, method, params, node)
            .await?;
        self.state.metrics.socket_call(method.name, forwarded);
        Ok(())
    }

    /// Sends an admitted call to the node, unless the connection's own limits or the lookback cap refuse it;
    /// whether it was sent.
    async fn send_admitted(
        &mut self,
        raw_id: Option<Value>,
        id: Option<Value>,
        method: &'static crate::lotus::methods::Method,
        params: Value,
        node: &mut NodeSocket,
    ) -> Result<bool, String> {
        if let Some(bucket) = &self.own_bucket {
            let weight = f64::from(crate::ratelimit::method_weight(method.name));
            if let crate::ratelimit::Verdict::Limited { retry_after_secs } =
                bucket.take_here("", weight)
            {
                let wait = retry_after_secs.ceil().max(1.0) as u64;
                self.state.metrics.connection_rate_limited();
                self.refuse(
                    id,
                    -32005,
                    format!("rate limit of this connection reached; retry in {wait} s"),
                )
                .await;
                return Ok(false);
            }
        }
        if let Some(kind) = crate::streams::Kind::of_method(method.name) {
            return Ok(self.open_fanned(raw_id, id, kind).await);
        }
        // Filters and subscriptions: capped, and only the connection's own are used or removed.
        let watch = match method.name {
            "Filecoin.EthNewFilter"
            | "Filecoin.EthNewBlockFilter"
            | "Filecoin.EthNewPendingTransactionFilter"
            | "Filecoin.EthSubscribe" => {
                let kind = if method.name == "Filecoin.EthSubscribe" {
                    Kind::Subscription
                } else {
                    Kind::Filter
                };
                if self.refuse_if_full(&id).await {
                    return Ok(false);
                }
                Some((Watch::Make(kind), None))
            }
            "Filecoin.EthGetFilterChanges"
            | "Filecoin.EthGetFilterLogs"
            | "Filecoin.EthUninstallFilter"
            | "Filecoin.EthUnsubscribe" => {
                let filter = params.get(0).map(Value::to_string).unwrap_or_default();
                if !self.filters.contains_key(&filter) {
                    self.refuse(id, 1, "filter not found").await;
                    return Ok(false);
                }
                matches!(
                    method.name,
                    "Filecoin.EthUninstallFilter" | "Filecoin.EthUnsubscribe"
                )
                .then_some((Watch::Remove, Some(filter)))
            }
            _ => None,
        };
        // The lookback cap, as on every way in.
        let params = match self
            .state
            .node
            .vet(self.caller.upstream_token.as_deref(), method.name, params)
            .await
        {
            Ok(p) => p,
            Err(UpstreamError::Refused(why)) => {
                self.refuse(id, -32602, why).await;
                return Ok(false);
            }
            Err(e) => {
                self.refuse(id, -32000, ApiError::from(e).detail).await;
                return Ok(false);
            }
        };
        // A call that will be answered holds a call slot until it is: the node's limit on calls in flight holds
        // here as over HTTP, and one connection takes at most IN_FLIGHT of them.
        if let Some(id) = &id {
            let key = id.to_string();
            if self.in_flight.len() >= IN_FLIGHT && !self.in_flight.contains_key(&key) {
                self.refuse(
                    Some(id.clone()),
                    -32005,
                    format!(
                        "this connection already has {IN_FLIGHT} calls in flight, the most it may; wait for their \
                         replies"
                    ),
                )
                .await;
                return Ok(false);
            }
            match self.state.node.slot().await {
                Ok(permit) => {
                    self.in_flight.insert(key, permit);
                }
                Err(e) => {
                    self.refuse(Some(id.clone()), -32000, ApiError::from(e).detail)
                        .await;
                    return Ok(false);
                }
            }
        }
        let up = match node.sender(&self.state, &self.caller).await {
            Ok(up) => up,
            Err(e) => {
                // The call is answered here and never reaches the node: its slot is given back.
                if let Some(id) = &id {
                    self.in_flight.remove(&id.to_string());
                }
                self.refuse(id, -32000, e.detail).await;
                return Ok(false);
            }
        };
        if let (Some(watch), Some(id)) = (watch, &id) {
            self.watched.insert(id.to_string(), watch);
        }
        let mut forward = json!({"jsonrpc": "2.0", "method": method.name, "params": params});
        if let Some(id) = raw_id {
            forward["id"] = id;
        }
        up.send(Message::text(forward.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Opens a channel served from the gateway's shared subscription of `kind`; whether it opened.
    async fn open_fanned(
        &mut self,
        raw_id: Option<Value>,
        id: Option<Value>,
        kind: crate::streams::Kind,
    ) -> bool {
        if self.refuse_if_full(&id).await {
            return false;
        }
        let subscription = match self
            .state
            .streams
            .subscribe(kind, None, self.holders.clone())
            .await
        {
            Ok(s) => s,
            Err(e) => {
                self.refuse(id, 1, e.detail).await;
                return false;
            }
        };
        let request = raw_id.unwrap_or(Value::Null);
        let request_key = request.to_string();
        // A request id used again replaces the channel it opened before.
        if let Some(old) = self.fanned_by_request(&request_key) {
            self.end_fanned(old).await;
        }
        let channel = self.next_channel;
        self.next_channel += 1;
        // The reply comes before the first value, as from Lotus.
        self.reply(&json!({"jsonrpc": "2.0", "id": request, "result": channel}))
            .await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let values =
            futures_util::stream::unfold(Some(subscription), move |subscription| async move {
                let mut subscription = subscription?;
                match subscription.next().await {
                    Some(event) => Some(((channel, Some(event)), Some(subscription))),
                    None => Some(((channel, None), None)),
                }
            })
            .take_until(stopped);
        self.opened.push(Box::pin(values));
        self.fanned.insert(
            channel,
            Fanned {
                request: request_key,
                stop,
                pending: Vec::new(),
            },
        );
        true
    }

    fn fanned_by_request(&self, request: &str) -> Option<u64> {
        self.fanned
            .iter()
            .find(|(_, f)| f.request == request)
            .map(|(channel, _)| *channel)
    }

    /// Ends a channel the gateway serves, telling the client as Lotus does.
    async fn end_fanned(&mut self, channel: u64) {
        if let Some(fanned) = self.fanned.remove(&channel) {
            let _ = fanned.stop.send(());
            self.reply(&json!({"jsonrpc": "2.0", "method": "xrpc.ch.close", "params": [channel]}))
                .await;
        }
    }

    /// Passes on an event of a channel the gateway serves, as the node would have sent it.
    async fn on_fanned(
        &mut self,
        channel: u64,
        event: Option<crate::streams::Event>,
    ) -> Result<(), End> {
        let Some(fanned) = self.fanned.get_mut(&channel) else {
            return Ok(());
        };
        let text = match event {
            Some(event) => match event.event {
                "current" | "apply" | "revert" => {
                    let ends = event.ends_batch;
                    fanned.pending.push(event);
                    if !ends {
                        return Ok(());
                    }
                    head_changes_message(channel, &std::mem::take(&mut fanned.pending))
                }
                "mpool" | "block" => channel_message(channel, &[&event.data]),
                "upstream_restored" | "missed" => return Ok(()),
                // The node's subscription was lost, the client fell too far behind, or the gateway shuts down:
                // the channel ends, as it would have with the node's connection.
                _ => {
                    self.end_fanned(channel).await;
                    return Ok(());
                }
            },
            None => {
                self.end_fanned(channel).await;
                return Ok(());
            }
        };
        match tokio::time::timeout(self.send_timeout(), self.session.text(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Client),
            Err(_) => Err(End::Slow),
        }
    }

    /// A batch on the socket is answered as over HTTP, call by call, in one reply; what needs the connection
    /// (channels, filters) is refused in a batch.
    async fn batch(&mut self, items: Vec<Value>) {
        if let Some(why) = rpc::batch_length_refusal(items.len(), self.state.limits.max_batch) {
            self.refuse(Some(Value::Null), -32600, why).await;
            return;
        }
        // The client address pays for the whole batch first, as over HTTP.
        let weight: u32 = items
            .iter()
            .map(
                |item| match serde_json::from_value::<JsonRpcRequest>(item.clone()) {
                    Ok(call) => rpc::weight_of(&call),
                    Err(_) => 1,
                },
            )
            .sum();
        if let Some(wait) = rpc::charge(
            self.state.limits.per_ip.as_ref(),
            self.ip.as_deref(),
            weight,
        )
        .await
        {
            self.refuse(
                Some(Value::Null),
                -32005,
                format!("rate limit of this client address reached; retry in {wait} s"),
            )
            .await;
            return;
        }
        let mut budget =
            rpc::ReplyBudget::new(self.state.limits.max_batch_reply_bytes, items.len());
        let mut replies = Vec::with_capacity(items.len());
        for item in items {
            let call: JsonRpcRequest = match serde_json::from_value(item) {
                Ok(c) => c,
                Err(e) => {
                    replies.push(rpc::error_reply(
                        Value::Null,
                        -32600,
                        format!("invalid request: {e}"),
                    ));
                    continue;
                }
            };
            let notification = call.id.is_none();
            let (reply, _) = rpc::call_one(&self.state, &self.caller, &self.keys, call).await;
            // The replies of a batch are bounded as a whole, as over HTTP.
            if let Err(why) = budget.take(&reply) {
                self.refuse(Some(Value::Null), -32600, why).await;
                return;
            }
            if !notification {
                replies.push(reply);
            }
        }
        // The node's results are copied in as they came (see `JsonRpcReply::to_json`).
        let text = rpc::JsonRpcReply::Batch(replies)
            .to_json()
            .map(String::from_utf8);
        if let Ok(Ok(text)) = text {
            self.reply_text(text).await;
        }
    }

    /// Looks at what the node sends for replies that make or remove a filter of the connection.
    fn on_node_message(&mut self, text: &str) {
        if self.in_flight.is_empty() && self.watched.is_empty() {
            return;
        }
        #[derive(serde::Deserialize)]
        struct IdOnly<'a> {
            #[serde(borrow, default)]
            id: Option<&'a serde_json::value::RawValue>,
            #[serde(default)]
            method: Option<String>,
        }
        // A reply carries an id and no method; the node's notifications (channel values) carry a method.
        let Ok(IdOnly {
            id: Some(raw),
            method: None,
        }) = serde_json::from_str::<IdOnly>(text)
        else {
            return;
        };
        let Ok(id) = serde_json::from_str::<Value>(raw.get()) else {
            return;
        };
        let id = id.to_string();
        self.in_flight.remove(&id);
        if self.watched.is_empty() {
            return;
        }
        let Ok(reply) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let Some((watch, filter)) = self.watched.remove(&id) else {
            return;
        };
        match (watch, reply.get("result")) {
            (Watch::Make(kind), Some(made)) if !made.is_null() => {
                self.filters.insert(made.to_string(), kind);
            }
            (Watch::Remove, Some(_)) => {
                if let Some(f) = filter {
                    self.filters.remove(&f);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::Event;

    #[test]
    fn channel_values_are_written_as_the_node_writes_them() {
        let head = |event, data: &str, ends| Event::new(1, event, std::sync::Arc::from(data), ends);
        let batch = [
            head("revert", "{\"Height\":9}", false),
            head("apply", "{\"Height\":9,\"Cids\":[]}", true),
        ];
        let text = head_changes_message(7, &batch);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"jsonrpc": "2.0", "method": "xrpc.ch.val", "params": [7, [
                {"Type": "revert", "Val": {"Height": 9}},
                {"Type": "apply", "Val": {"Height": 9, "Cids": []}},
            ]]})
        );
        assert_eq!(
            channel_message(3, &["{\"Message\":{}}"]),
            "{\"jsonrpc\":\"2.0\",\"method\":\"xrpc.ch.val\",\"params\":[3,{\"Message\":{}}]}"
        );
    }
}
