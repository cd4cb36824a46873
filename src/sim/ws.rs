//! Lotus's JSON-RPC over WebSocket, on the same paths as HTTP: the same requests, answered by the same dispatch,
//! plus the channel methods. A channel method's reply carries a channel id; its values follow as
//! `{"method":"xrpc.ch.val","params":[<channel id>,<value>]}` notifications until the client sends
//! `{"method":"xrpc.cancel","params":[<request id>]}`, which the node acknowledges with `xrpc.ch.close`, or the
//! connection ends.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, Session};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};

use super::rpc::{self, ChannelKind, Failure, Outcome};
use super::{Shared, MAX_REQUEST_BYTES};
use crate::lotus::types::TipSet;
use crate::lotus::PermSet;

/// How long the node waits for a connection to end once told to, e.g. for a close frame to be queued to a
/// client that does not read.
const ENDING_TIMEOUT: Duration = Duration::from_secs(2);

/// How the node ends a connection.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ending {
    /// With a close frame, code 1001 ("going away").
    Close,
    /// Without a close frame, as a dead process would.
    Cut,
}

struct Socket {
    end: oneshot::Sender<Ending>,
    ended: oneshot::Receiver<()>,
}

/// The open WebSocket connections, so that the node can end them.
#[derive(Default)]
pub(super) struct Sockets {
    inner: Mutex<SocketsInner>,
}

#[derive(Default)]
struct SocketsInner {
    next: u64,
    open: HashMap<u64, Socket>,
}

impl Sockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, SocketsInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection: its id, where it learns it must end, and what it drops once it has ended.
    fn open(&self) -> (u64, oneshot::Receiver<Ending>, oneshot::Sender<()>) {
        let (end, end_rx) = oneshot::channel();
        let (ended_tx, ended) = oneshot::channel();
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        inner.open.insert(id, Socket { end, ended });
        (id, end_rx, ended_tx)
    }

    /// How many connections are open.
    pub(super) fn count(&self) -> usize {
        self.lock().open.len()
    }

    fn forget(&self, id: u64) {
        self.lock().open.remove(&id);
    }

    /// Ends every connection open now and waits until they have ended (for at most [`ENDING_TIMEOUT`]).
    pub(super) async fn close_all(&self, ending: Ending) {
        let sockets: Vec<Socket> = self.lock().open.drain().map(|(_, s)| s).collect();
        let mut waits = Vec::with_capacity(sockets.len());
        for socket in sockets {
            let _ = socket.end.send(ending);
            waits.push(socket.ended);
        }
        let all = futures_util::future::join_all(waits);
        let _ = tokio::time::timeout(ENDING_TIMEOUT, all).await;
    }
}

/// Counts an open `ChainNotify` channel while alive.
struct Subscriber(Arc<Shared>);

impl Subscriber {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.subscribers.fetch_add(1, Ordering::SeqCst);
        Subscriber(shared.clone())
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `GET /rpc/v1` and `/rpc/v0` with a WebSocket upgrade. The token is checked before the upgrade, as Lotus's
/// auth handler does: a bad one is refused with 401 and an empty body.
pub(super) async fn handle(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, actix_web::Error> {
    if shared.is_stopped() {
        return Ok(HttpResponse::ServiceUnavailable().finish());
    }
    let Ok(perms) = rpc::caller_perms(&req, &shared) else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream
        .max_frame_size(MAX_REQUEST_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_REQUEST_BYTES);
    let (id, end, ended) = shared.sockets.open();
    let connection = Connection {
        shared: shared.into_inner(),
        perms,
        session,
        channels: HashMap::new(),
        subscriptions: HashMap::new(),
        next_channel: 0,
    };
    actix_web::rt::spawn(connection.serve(id, stream, end, ended));
    Ok(response)
}

/// Why a connection's read loop stopped.
enum Stop {
    /// The node ends it.
    Node(Ending),
    /// The client sent a close frame.
    ClientClosed,
    /// The client went away or broke the protocol.
    Gone,
}

struct Connection {
    shared: Arc<Shared>,
    perms: PermSet,
    session: Session,
    /// The open channels by the JSON text of the request id that opened them, with what cancels each.
    channels: HashMap<String, oneshot::Sender<()>>,
    /// The open Ethereum subscriptions by id, with what ends each.
    subscriptions: HashMap<String, oneshot::Sender<()>>,
    next_channel: u64,
}

impl Connection {
    async fn serve(
        mut self,
        id: u64,
        mut stream: AggregatedMessageStream,
        mut end: oneshot::Receiver<Ending>,
        ended: oneshot::Sender<()>,
    ) {
        let stop = loop {
            tokio::select! {
                ending = &mut end => break Stop::Node(ending.unwrap_or(Ending::Cut)),
                message = stream.recv() => match message {
                    Some(Ok(AggregatedMessage::Text(text))) => self.receive(text.as_bytes()).await,
                    Some(Ok(AggregatedMessage::Binary(bytes))) => self.receive(&bytes).await,
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        let _ = self.session.pong(&bytes).await;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Close(_))) => break Stop::ClientClosed,
                    Some(Err(_)) | None => break Stop::Gone,
                },
            }
        };
        // Dropping the cancel handles ends the channels without `xrpc.ch.close`: the connection is going.
        self.channels.clear();
        self.subscriptions.clear();
        self.shared.sockets.forget(id);
        let close = match stop {
            Stop::Node(Ending::Close) => Some(Some(CloseCode::Away.into())),
            Stop::ClientClosed => Some(None),
            Stop::Node(Ending::Cut) | Stop::Gone => None,
        };
        if let Some(reason) = close {
            let _ = tokio::time::timeout(ENDING_TIMEOUT, self.session.close(reason)).await;
        }
        drop(ended);
    }

    async fn send(&mut self, body: &Value) {
        let _ = self.session.text(body.to_string()).await;
    }

    /// Sends a reply now, or after the stall delay without holding up the connection.
    async fn reply(&mut self, body: Value) {
        match self.shared.stall() {
            None => self.send(&body).await,
            Some(delay) => {
                let mut session = self.session.clone();
                actix_web::rt::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = session.text(body.to_string()).await;
                });
            }
        }
    }

    /// Handles one message: a request, a notification or a batch.
    async fn receive(&mut self, bytes: &[u8]) {
        let parsed: Result<Value, _> = serde_json::from_slice(bytes);
        self.shared.record(rpc::method_names(&parsed));
        match parsed {
            Err(e) => {
                let failure = Failure::new(rpc::PARSE_ERROR, format!("Parse error: {e}"));
                self.reply(rpc::error_reply(Value::Null, failure)).await;
            }
            Ok(Value::Array(items)) if items.is_empty() => {
                let failure = Failure::new(rpc::INVALID_REQUEST, "invalid request: empty batch");
                self.reply(rpc::error_reply(Value::Null, failure)).await;
            }
            // Batches are answered as over HTTP, so a channel method in one is refused.
            Ok(Value::Array(items)) => {
                let replies: Vec<Value> = items
                    .iter()
                    .map(|item| rpc::handle_one(&self.shared, self.perms, item).1)
                    .collect();
                self.reply(Value::Array(replies)).await;
            }
            Ok(request) => self.request(request).await,
        }
    }

    async fn request(&mut self, request: Value) {
        match request.get("method").and_then(Value::as_str) {
            Some("xrpc.cancel") => {
                let key = request
                    .get("params")
                    .and_then(|p| p.get(0))
                    .map(Value::to_string);
                if let Some(cancel) = key.and_then(|k| self.channels.remove(&k)) {
                    let _ = cancel.send(());
                }
                return;
            }
            // The client closing one of its own channels: the node's methods take none.
            Some("xrpc.ch.close") => return,
            _ => {}
        }
        // A request object without an id is a notification: it runs, but nothing is sent back.
        let answered = !request.is_object() || request.get("id").is_some();
        match rpc::dispatch(&self.shared, self.perms, &request) {
            Outcome::Reply(_, body) => {
                if answered {
                    self.reply(body).await;
                }
            }
            Outcome::Channel { id, kind } => {
                if answered {
                    self.open(id, kind);
                }
            }
            Outcome::EthUnsubscribe { id, subscription } => {
                let ended = match self.subscriptions.remove(&subscription) {
                    Some(end) => end.send(()).is_ok(),
                    None => false,
                };
                if answered {
                    self.reply(json!({"jsonrpc": "2.0", "result": ended, "id": id}))
                        .await;
                }
            }
        }
    }

    /// Opens a channel for the request `id`; its task sends the reply, then the values.
    fn open(&mut self, id: Value, kind: ChannelKind) {
        self.next_channel += 1;
        let (cancel, cancelled) = oneshot::channel();
        let subscription = match kind {
            // An Ethereum subscription ends with `EthUnsubscribe`, by its id.
            ChannelKind::EthSubscribe { .. } => {
                let subscription = super::groups::subscription_id(&self.shared);
                self.subscriptions.insert(subscription.clone(), cancel);
                Some(subscription)
            }
            // A request id used again replaces the older channel, which ends.
            _ => {
                self.channels.insert(id.to_string(), cancel);
                None
            }
        };
        let channel = Channel {
            subscription,
            subscriber: (kind == ChannelKind::ChainNotify).then(|| Subscriber::new(&self.shared)),
            _open: OpenChannel::new(&self.shared),
            heads: self.shared.heads.subscribe(),
            mpool: self.shared.mpool_updates.subscribe(),
            shared: self.shared.clone(),
            session: self.session.clone(),
            request: id,
            id: self.next_channel,
            kind,
        };
        actix_web::rt::spawn(channel.run(cancelled));
    }
}

/// One open channel of a connection.
struct Channel {
    shared: Arc<Shared>,
    session: Session,
    /// The id of the request that opened it.
    request: Value,
    /// An Ethereum subscription's id, which its reply and notifications carry instead of a channel id.
    subscription: Option<String>,
    id: u64,
    kind: ChannelKind,
    /// Subscribed before the head is read, so that no later head is missed.
    heads: broadcast::Receiver<TipSet>,
    /// Message pool updates, for `MpoolSub`.
    mpool: broadcast::Receiver<Value>,
    subscriber: Option<Subscriber>,
    _open: OpenChannel,
}

/// Counts an open channel of any kind while alive.
struct OpenChannel(Arc<Shared>);

impl OpenChannel {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.channels.fetch_add(1, Ordering::SeqCst);
        OpenChannel(shared.clone())
    }
}

impl Drop for OpenChannel {
    fn drop(&mut self) {
        self.0.channels.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Channel {
    async fn send(&mut self, body: Value) -> Result<(), actix_ws::Closed> {
        self.session.text(body.to_string()).await
    }

    async fn value(&mut self, value: Value) -> Result<(), actix_ws::Closed> {
        let id = self.id;
        let value = self.shared.written(value);
        self.send(json!({"jsonrpc": "2.0", "method": "xrpc.ch.val", "params": [id, value]}))
            .await
    }

    async fn run(mut self, mut cancelled: oneshot::Receiver<()>) {
        if let Some(delay) = self.shared.stall() {
            tokio::time::sleep(delay).await;
        }
        let result = match &self.subscription {
            Some(subscription) => json!(subscription),
            None => json!(self.id),
        };
        let reply = json!({"jsonrpc": "2.0", "result": result, "id": self.request});
        if self.send(reply).await.is_err() {
            return;
        }
        let head = self.shared.chain().head().tipset.clone();
        let mut shown = head.height;
        if self.kind == ChannelKind::ChainNotify
            && self
                .value(json!([{"Type": "current", "Val": head}]))
                .await
                .is_err()
        {
            return;
        }
        loop {
            let head = tokio::select! {
                cancel = &mut cancelled => {
                    // Cancelled by the client: acknowledged. The connection ending drops the sender instead.
                    // (`EthUnsubscribe` has its reply.)
                    if cancel.is_ok() && self.subscription.is_none() {
                        self.subscriber.take();
                        let id = self.id;
                        let _ = self
                            .send(json!({"jsonrpc": "2.0", "method": "xrpc.ch.close", "params": [id]}))
                            .await;
                    }
                    return;
                }
                head = self.heads.recv(), if self.kind != ChannelKind::MpoolSub => match head {
                    Ok(head) => head,
                    // A client too slow to keep up misses the heads it fell behind on.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
                update = self.mpool.recv(), if self.kind == ChannelKind::MpoolSub => {
                    match update {
                        Ok(update) => {
                            if self.value(update).await.is_err() {
                                return;
                            }
                        }
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    }
                    continue;
                }
            };
            if head.height <= shown {
                continue;
            }
            shown = head.height;
            let sent = match self.kind {
                ChannelKind::ChainNotify => {
                    self.value(json!([{"Type": "apply", "Val": head}])).await
                }
                ChannelKind::SyncIncomingBlocks => {
                    let mut sent = Ok(());
                    for block in &head.blocks {
                        sent = self
                            .value(serde_json::to_value(block).unwrap_or_default())
                            .await;
                        if sent.is_err() {
                            break;
                        }
                    }
                    sent
                }
                // Pool updates are sent as they come, above.
                ChannelKind::MpoolSub => Ok(()),
                ChannelKind::EthSubscribe { new_heads: false } => Ok(()),
                ChannelKind::EthSubscribe { new_heads: true } => {
                    let notification = json!({
                        "jsonrpc": "2.0",
                        "method": "eth_subscription",
                        "params": {
                            "subscription": self.subscription,
                            "result": super::groups::new_heads_header(&head),
                        },
                    });
                    self.send(notification).await
                }
            };
            if sent.is_err() {
                return;
            }
        }
    }
}
