//! Live streams: Lotus's channel methods (`ChainNotify`, `MpoolSub`, `SyncIncomingBlocks`) fanned out to HTTP
//! clients as Server-Sent Events or newline-delimited JSON.
//!
//! Each stream kind has one upstream subscription, over the node's WebSocket, shared by every client: it opens with
//! the first client and is cancelled (`xrpc.cancel`) when the last one leaves. Every event gets an id; the last
//! `[Streams] BufferEvents` events are kept, so a client that reconnects with `Last-Event-ID` gets what it missed.
//! A client that falls `[Streams] ClientQueue` events behind is cut off with a final `error` event instead of
//! holding memory without bound. When the WebSocket drops, the subscription reopens with backoff and the clients
//! are told (`upstream_lost`, `upstream_restored`); the head stream then goes on from the new `current` tipset.
//!
//! In a cluster (`[Cluster] RedisUrl`), every event is recorded in a Redis Stream of its kind, once however many
//! replicas see it, and takes the id given there: ids are the same on every replica, and a client that reconnects
//! to another replica with `Last-Event-ID` is replayed what it missed from Redis. While Redis cannot answer, the
//! replica numbers events and replays from its own buffer, as without Redis.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{ApiError, Code};

/// How streams behave; `[Streams]` in the configuration.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// How often an idle stream gets a heartbeat (an SSE comment, or an empty line in NDJSON).
    pub heartbeat: Duration,
    /// How many recent events of each kind are kept for clients that reconnect with `Last-Event-ID`.
    pub buffer: usize,
    /// How many events a client may fall behind before it is cut off.
    pub client_queue: usize,
    /// How many streams may be open at once, over all kinds; more get 503.
    pub max_streams: usize,
    /// How many streams one client address, and one token, may hold open at once; more get 429.
    pub max_per_client: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            heartbeat: Duration::from_secs(15),
            buffer: 1024,
            client_queue: 256,
            max_streams: 1000,
            max_per_client: 10,
        }
    }
}

/// A kind of stream, and the Lotus channel method behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Heads,
    Mpool,
    Blocks,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Heads, Kind::Mpool, Kind::Blocks];

    pub fn method(self) -> &'static str {
        match self {
            Kind::Heads => "Filecoin.ChainNotify",
            Kind::Mpool => "Filecoin.MpoolSub",
            Kind::Blocks => "Filecoin.SyncIncomingBlocks",
        }
    }

    /// The stream kind that serves a Lotus channel method, if one does.
    pub fn of_method(method: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.method() == method)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Heads => "heads",
            Kind::Mpool => "mpool",
            Kind::Blocks => "blocks",
        }
    }

    fn index(self) -> usize {
        match self {
            Kind::Heads => 0,
            Kind::Mpool => 1,
            Kind::Blocks => 2,
        }
    }
}

/// One event of a stream, shared by every client that gets it: a clone is a reference, so a client's queue holds a
/// pointer per event.
#[derive(Debug, Clone)]
pub struct Event(Arc<EventData>);

impl std::ops::Deref for Event {
    type Target = EventData;
    fn deref(&self) -> &EventData {
        &self.0
    }
}

/// What an event is.
#[derive(Debug)]
pub struct EventData {
    /// Increasing within its stream kind; 0 for events of the gateway's own that are never replayed.
    pub id: u64,
    /// The SSE event name: `current`, `apply`, `revert`, `mpool`, `block`, `upstream_lost`, `upstream_restored`,
    /// `missed`, `error`, `shutdown`.
    pub event: &'static str,
    /// The event's JSON.
    pub data: Arc<str>,
    /// Whether this event ends what the node sent in one notification: a `ChainNotify` value may carry several
    /// changes (a revert and its apply), which are events of their own here and one value again on a WebSocket.
    pub ends_batch: bool,
    /// The event framed for SSE and for NDJSON, made once for every client that gets it.
    framed: Framed,
}

#[derive(Debug, Default)]
struct Framed {
    sse: std::sync::OnceLock<actix_web::web::Bytes>,
    ndjson: std::sync::OnceLock<actix_web::web::Bytes>,
}

impl Event {
    pub fn new(id: u64, event: &'static str, data: Arc<str>, ends_batch: bool) -> Event {
        Event(Arc::new(EventData {
            id,
            event,
            data,
            ends_batch,
            framed: Framed::default(),
        }))
    }

    fn own(event: &'static str, data: Value) -> Event {
        Event::new(0, event, Arc::from(data.to_string()), true)
    }

    /// The event in SSE framing.
    pub fn sse(&self) -> actix_web::web::Bytes {
        self.framed
            .sse
            .get_or_init(|| self.sse_text().into())
            .clone()
    }

    /// The event as one line of NDJSON: `{"id":…,"event":…,"data":…}`.
    pub fn ndjson(&self) -> actix_web::web::Bytes {
        self.framed
            .ndjson
            .get_or_init(|| self.ndjson_text().into())
            .clone()
    }

    fn sse_text(&self) -> String {
        let mut out = String::with_capacity(self.data.len() + 48);
        if self.id > 0 {
            out.push_str(&format!("id: {}\n", self.id));
        }
        out.push_str("event: ");
        out.push_str(self.event);
        out.push_str("\ndata: ");
        out.push_str(&self.data);
        out.push_str("\n\n");
        out
    }

    fn ndjson_text(&self) -> String {
        if self.id > 0 {
            format!(
                "{{\"id\":{},\"event\":\"{}\",\"data\":{}}}\n",
                self.id, self.event, self.data
            )
        } else {
            format!("{{\"event\":\"{}\",\"data\":{}}}\n", self.event, self.data)
        }
    }
}

struct Client {
    tx: mpsc::Sender<Event>,
    lagged: Arc<AtomicBool>,
}

/// Where a stream's event ids start: a random multiple of 2^32 below 2^52 (a whole number JavaScript holds
/// exactly), different in each process. An id another replica gave, or this one before a restart, is then far from
/// every id this process holds, and the client is told it missed events instead of being replayed the wrong ones.
fn id_base() -> u64 {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    (random % (1 << 20)) << 32
}

#[derive(Default)]
struct TopicState {
    /// The last id this replica gave on its own (without Redis, or while Redis cannot answer).
    next_id: u64,
    buffer: VecDeque<Event>,
    clients: HashMap<u64, Client>,
    next_client: u64,
    /// Cancels the upstream subscription; present while one runs.
    upstream: Option<oneshot::Sender<()>>,
    /// The latest head, for the `current` event a new head client starts with.
    latest_head: Option<Event>,
    /// The first event since the subscription now open was opened: from it on, the buffer holds every event.
    unbroken_from: Option<u64>,
}

/// The state of one stream kind.
struct Topic {
    kind: Kind,
    /// How many events are kept for replay.
    buffer: usize,
    state: Mutex<TopicState>,
    /// Redis, where a cluster's replicas record events and take their ids.
    shared: Option<Arc<crate::cluster::Redis>>,
}

/// Where the upstream subscriptions connect: one node, or, with a pool of nodes, the node to use at each
/// (re)connection.
#[derive(Clone)]
pub struct Upstream {
    pub url: url::Url,
    pub token: Option<String>,
    /// With a pool: the node to connect to now, as a WebSocket URL and the token to send it.
    pub choose: Option<Choose>,
}

/// Picks the node a subscription connects to now.
pub type Choose = Arc<dyn Fn() -> (url::Url, Option<String>) + Send + Sync>;

impl Upstream {
    /// The node to connect to now, and its token.
    pub fn now(&self) -> (url::Url, Option<String>) {
        match &self.choose {
            Some(choose) => choose(),
            None => (self.url.clone(), self.token.clone()),
        }
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("url", &self.url.as_str())
            .field("pool", &self.choose.is_some())
            .finish()
    }
}

/// Every stream kind, their clients and their upstream subscriptions.
pub struct Hub {
    settings: StreamSettings,
    upstream: Option<Upstream>,
    topics: [Arc<Topic>; 3],
    open: Arc<AtomicUsize>,
    /// Streams open per client address and per token (keys as [`crate::ratelimit::token_key`] makes them).
    holders: Arc<Mutex<HashMap<String, usize>>>,
    /// Set to true when the gateway shuts down: every stream ends with a `shutdown` event.
    closing: watch::Sender<bool>,
    /// The number of upstream subscriptions open, for tests and metrics.
    subscriptions: Arc<AtomicUsize>,
    /// Redis, where a cluster's replicas record events and take their ids.
    shared: Option<Arc<crate::cluster::Redis>>,
}

/// Clients cut off for falling behind, since start.
static CUT_OFF: AtomicUsize = AtomicUsize::new(0);

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("settings", &self.settings)
            .field("open", &self.open.load(Ordering::Relaxed))
            .finish()
    }
}

/// The state of every stream kind, none open yet, in the order of [`Kind::index`].
fn topics(buffer: usize, shared: Option<Arc<crate::cluster::Redis>>) -> [Arc<Topic>; 3] {
    Kind::ALL.map(|kind| {
        Arc::new(Topic {
            kind,
            buffer: buffer.max(1),
            state: Mutex::new(TopicState {
                next_id: id_base(),
                ..TopicState::default()
            }),
            shared: shared.clone(),
        })
    })
}

impl Hub {
    pub fn new(settings: StreamSettings, upstream: Option<Upstream>) -> Self {
        Hub {
            topics: topics(settings.buffer, None),
            settings,
            upstream,
            open: Arc::new(AtomicUsize::new(0)),
            holders: Default::default(),
            closing: watch::channel(false).0,
            subscriptions: Arc::new(AtomicUsize::new(0)),
            shared: None,
        }
    }

    /// Records events in Redis, and replays from there, when the gateway is one replica of a cluster.
    pub fn shared(mut self, redis: Option<Arc<crate::cluster::Redis>>) -> Self {
        self.topics = topics(self.settings.buffer, redis.clone());
        self.shared = redis;
        self
    }

    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// Where its subscriptions to the node connect; `None` without a node.
    pub fn upstream(&self) -> Option<&Upstream> {
        self.upstream.as_ref()
    }

    /// Streams open now, over all kinds.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Upstream subscriptions open now.
    pub fn upstream_subscriptions(&self) -> usize {
        self.subscriptions.load(Ordering::SeqCst)
    }

    /// Events waiting in client queues, over every client: bounded by `ClientQueue` (plus a replay) per client.
    pub fn queued_events(&self) -> usize {
        self.topics
            .iter()
            .map(|t| {
                let state = t.state.lock().unwrap_or_else(|e| e.into_inner());
                state
                    .clients
                    .values()
                    .map(|c| c.tx.max_capacity() - c.tx.capacity())
                    .sum::<usize>()
            })
            .sum()
    }

    /// Clients cut off for falling behind, since start (over every hub of the process).
    pub fn cut_off(&self) -> usize {
        CUT_OFF.load(Ordering::Relaxed)
    }

    /// Ends every stream with a `shutdown` event; new ones are refused.
    pub fn shut_down(&self) {
        let _ = self.closing.send(true);
    }

    /// A receiver that turns true when the gateway shuts down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Opens a stream of `kind` for a client that has seen events up to `last_event_id`.
    /// Counts a connection of a client against each of its `holders` (its address, its token), as its streams
    /// are: at most `[Streams] MaxPerClient` each, together.
    pub fn hold(&self, holders: Vec<String>) -> Result<Held, ApiError> {
        Held::take(&self.holders, holders, self.settings.max_per_client).map_err(|who| {
            let mut err = ApiError::new(
                Code::RateLimited,
                format!(
                    "{who} already holds {} streams and connections open, the most this gateway gives one client \
                     ([Streams] MaxPerClient); close one first",
                    self.settings.max_per_client
                ),
            );
            err.retry_after = Some(5);
            err
        })
    }

    /// Opens a stream of `kind` for a client, counted against each of its `holders` (its address, its token).
    pub async fn subscribe(
        &self,
        kind: Kind,
        last_event_id: Option<u64>,
        holders: Vec<String>,
    ) -> Result<Subscription, ApiError> {
        if *self.closing.borrow() {
            return Err(ApiError::new(
                Code::UpstreamUnavailable,
                "the gateway is shutting down; reconnect to another instance or retry later",
            ));
        }
        let Some(upstream) = &self.upstream else {
            return Err(ApiError::new(
                Code::UpstreamUnavailable,
                "no Lotus node is configured: set [FullNode] ApiInfo in the config file, FULLNODE_API_INFO, or \
                 LOTUS_PATH to a Lotus repo",
            ));
        };
        let open = self.open.fetch_add(1, Ordering::SeqCst);
        if open >= self.settings.max_streams {
            self.open.fetch_sub(1, Ordering::SeqCst);
            let mut err = ApiError::new(
                Code::UpstreamUnavailable,
                format!(
                    "{} streams are open, the most this gateway serves ([Streams] MaxStreams); retry later",
                    self.settings.max_streams
                ),
            );
            err.retry_after = Some(5);
            return Err(err);
        }
        let held = self.hold(holders).inspect_err(|_| {
            self.open.fetch_sub(1, Ordering::SeqCst);
        })?;
        let topic = self.topics[kind.index()].clone();
        let Joined {
            rx,
            lagged,
            client_id,
            held_here,
        } = self.join(&topic, upstream, last_event_id);
        let mut subscription = Subscription {
            rx,
            lagged,
            guard: Guard {
                topic,
                client_id,
                open: self.open.clone(),
                _held: held,
            },
            queue: self.settings.client_queue,
            replay: VecDeque::new(),
            skip_through: None,
        };
        if let Some(last) = last_event_id {
            // What this replica holds, when it has followed the stream without a break since the client's last
            // event (a client back on the replica it left, or on one that follows the stream all along). Else, in a
            // cluster, what every replica recorded, read after the client took its place: what arrives meanwhile
            // is then replayed or live. The cluster's ids follow the order events were recorded in, so a live event
            // up to the newest the client was given, which this replica's node delivered later than another's, is
            // not given again. Else what this replica holds, taken with the client's place.
            let shared = match &held_here {
                Some((_, true)) => None,
                _ => self.replay_shared(kind, last).await,
            };
            let held_here = held_here.map(|(replay, _)| replay);
            match shared {
                Some(replay) => {
                    let newest = replay.iter().map(|e| e.id).max().unwrap_or(0);
                    subscription.skip_through = Some(newest.max(last));
                    subscription.replay = replay.into();
                }
                None => subscription.replay = held_here.unwrap_or_default().into(),
            }
        }
        Ok(subscription)
    }

    /// Adds a client to a topic, starting its upstream subscription if none runs: the client's events, whether it
    /// was cut off, its number among the topic's clients, and (for a client with a last event id) what it missed as
    /// this replica holds it, and whether that is all of it (see [`held_since`]).
    fn join(&self, topic: &Arc<Topic>, upstream: &Upstream, last_event_id: Option<u64>) -> Joined {
        let mut state = topic.state.lock().unwrap_or_else(|e| e.into_inner());
        // Without a subscription running, the head known from an earlier one is stale: a new client starts with the
        // `current` of the subscription it starts.
        if state.upstream.is_none() {
            state.latest_head = None;
        }
        // Room for the queue a client may fall behind by, and the head it starts with.
        let (tx, rx) = mpsc::channel(self.settings.client_queue + 2);
        // What a reconnecting client missed, as this replica holds it: taken with the client's place among the
        // clients, so that nothing falls between the two.
        let held_here = last_event_id.map(|last| {
            (
                replay_here(&state, last, self.settings.buffer),
                held_since(&state, last),
            )
        });
        if last_event_id.is_none() {
            if let Some(head) = &state.latest_head {
                let _ = tx.try_send(head.clone());
            }
        }
        let lagged = Arc::new(AtomicBool::new(false));
        state.next_client += 1;
        let client_id = state.next_client;
        state.clients.insert(
            client_id,
            Client {
                tx,
                lagged: lagged.clone(),
            },
        );
        if state.upstream.is_none() {
            let (cancel, cancelled) = oneshot::channel();
            state.upstream = Some(cancel);
            self.subscriptions.fetch_add(1, Ordering::SeqCst);
            let subscriptions = self.subscriptions.clone();
            let topic = topic.clone();
            let upstream = upstream.clone();
            actix_web::rt::spawn(async move {
                run_upstream(&topic, &upstream, cancelled).await;
                subscriptions.fetch_sub(1, Ordering::SeqCst);
            });
        }
        Joined {
            rx,
            lagged,
            client_id,
            held_here,
        }
    }

    /// What a client that last saw event `last` missed, from the cluster's record in Redis; `None` without Redis,
    /// while it cannot answer, or when `last` is no id of the cluster's (one this replica gave on its own).
    async fn replay_shared(&self, kind: Kind, last: u64) -> Option<Vec<Event>> {
        let redis = self.shared.as_ref()?;
        let recorded = redis
            .recorded_after(kind.name(), last, self.settings.buffer.max(1))
            .await??;
        if last > recorded.newest {
            return None;
        }
        let mut replay = Vec::with_capacity(recorded.events.len() + 1);
        // Events were trimmed between the client's and the oldest replayed.
        if recorded.events.first().is_some_and(|e| e.0 > last + 1) {
            replay.push(missed(last, self.settings.buffer));
        }
        for (id, name, data) in recorded.events {
            match event_name(&name) {
                Some(name) => replay.push(Event::new(id, name, Arc::from(data), true)),
                None => log::warn!(
                    "the {} stream in Redis holds an event of an unknown kind \"{name}\"",
                    kind.name()
                ),
            }
        }
        Some(replay)
    }
}

/// The name of a recorded event, as the `'static` name events carry.
fn event_name(name: &str) -> Option<&'static str> {
    ["current", "apply", "revert", "mpool", "block"]
        .into_iter()
        .find(|n| *n == name)
}

/// The event that tells a client that events after `last` are no longer held.
fn missed(last: u64, kept: usize) -> Event {
    Event::own(
        "missed",
        json!({"detail": format!(
            "events after {last} are no longer held (the gateway keeps the last {kept}); what follows starts later"
        )}),
    )
}

/// Whether this replica has followed the stream without a break since event `last`: `last` is held, and no earlier
/// than the first event of the subscription now open (each reopening may have missed events).
fn held_since(state: &TopicState, last: u64) -> bool {
    let Some(from) = state.unbroken_from else {
        return false;
    };
    let Some(at) = state.buffer.iter().position(|e| e.id == last) else {
        return false;
    };
    // Not held any more: trimmed, so every event held came after it.
    let start = state.buffer.iter().position(|e| e.id == from).unwrap_or(0);
    at >= start
}

/// What a client that last saw event `last` missed, from this replica's buffer: the events after it when it is held
/// (or is the one just before the oldest held), else a `missed` event, the head, and the events with greater ids.
fn replay_here(state: &TopicState, last: u64, kept: usize) -> Vec<Event> {
    let at = state.buffer.iter().position(|e| e.id == last);
    if let Some(at) = at {
        return state.buffer.iter().skip(at + 1).cloned().collect();
    }
    if state.buffer.front().is_some_and(|e| e.id == last + 1) {
        return state.buffer.iter().cloned().collect();
    }
    let mut replay = vec![missed(last, kept)];
    replay.extend(state.latest_head.clone());
    replay.extend(state.buffer.iter().filter(|e| e.id > last).cloned());
    replay
}

/// A client just added to a topic (see [`Hub::join`]).
struct Joined {
    rx: mpsc::Receiver<Event>,
    lagged: Arc<AtomicBool>,
    client_id: u64,
    /// For a client with a last event id: what it missed as this replica holds it, and whether that is all of it.
    held_here: Option<(Vec<Event>, bool)>,
}

/// The streams (and WebSocket connections) a client holds, counted per holder (its address, its token) while open.
pub struct Held {
    holders: Arc<Mutex<HashMap<String, usize>>>,
    keys: Vec<String>,
}

impl Held {
    /// Counts one more stream for each of `keys`, unless one already holds `max`: then that one is named.
    fn take(
        holders: &Arc<Mutex<HashMap<String, usize>>>,
        keys: Vec<String>,
        max: usize,
    ) -> Result<Held, &'static str> {
        let mut counts = holders.lock().unwrap_or_else(|e| e.into_inner());
        for key in &keys {
            if counts.get(key).copied().unwrap_or(0) >= max {
                return Err(if key.starts_with("token:") {
                    "this token"
                } else {
                    "this client address"
                });
            }
        }
        for key in &keys {
            *counts.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(Held {
            holders: holders.clone(),
            keys,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut counts = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(n) = counts.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(key);
                }
            }
        }
    }
}

/// Leaves the topic when the client goes: the last one out cancels the upstream subscription.
struct Guard {
    topic: Arc<Topic>,
    client_id: u64,
    open: Arc<AtomicUsize>,
    _held: Held,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        let mut state = self.topic.state.lock().unwrap_or_else(|e| e.into_inner());
        state.clients.remove(&self.client_id);
        if state.clients.is_empty() {
            if let Some(cancel) = state.upstream.take() {
                let _ = cancel.send(());
            }
        }
    }
}

/// A client's stream of events.
pub struct Subscription {
    rx: mpsc::Receiver<Event>,
    lagged: Arc<AtomicBool>,
    guard: Guard,
    queue: usize,
    /// What a reconnecting client missed, given before what arrives live.
    replay: VecDeque<Event>,
    /// The newest of the cluster's ids a resuming client was given: live events up to it are not given again,
    /// until the first newer one.
    skip_through: Option<u64>,
}

impl Subscription {
    /// The next event; `None` when the stream has ended. A client cut off for falling behind gets a final `error`.
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.replay.pop_front() {
            return Some(event);
        }
        let mut next = self.rx.recv().await;
        while let (Some(event), Some(through)) = (&next, self.skip_through) {
            if event.id == 0 {
                break;
            }
            if event.id > through {
                self.skip_through = None;
                break;
            }
            next = self.rx.recv().await;
        }
        match next {
            Some(event) => Some(event),
            None if self.lagged.swap(false, Ordering::SeqCst) => Some(Event::own(
                "error",
                json!({"detail": format!(
                    "this client fell more than {} events behind and was cut off; reconnect with Last-Event-ID to \
                     resume",
                    self.queue
                )}),
            )),
            None => None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.guard.topic.kind
    }
}

/// An event's value in the shape the spec gives it, whatever the node's dialect (see [`crate::shape`]): a Go node's
/// `null` list is `[]`, its `null` byte string `""`.
fn shaped(kind: Kind, value: &str) -> Arc<str> {
    use crate::lotus::types::{BlockHeader, SignedMessage, TipSet};
    use crate::shape::ValueShape;
    use std::sync::OnceLock;
    static TIPSET: OnceLock<ValueShape> = OnceLock::new();
    static MESSAGE: OnceLock<ValueShape> = OnceLock::new();
    static BLOCK: OnceLock<ValueShape> = OnceLock::new();
    let conformed = match kind {
        Kind::Heads => TIPSET.get_or_init(ValueShape::of::<TipSet>).conform(value),
        // An mpool update is `{"Type": n, "Message": SignedMessage}`.
        Kind::Mpool => serde_json::from_str::<serde_json::Map<String, Value>>(value)
            .ok()
            .and_then(|mut update| {
                let message = update.get("Message")?.to_string();
                let shaped = MESSAGE
                    .get_or_init(ValueShape::of::<SignedMessage>)
                    .conform(&message)?;
                update.insert("Message".into(), serde_json::from_str(&shaped).ok()?);
                serde_json::to_string(&update).ok()
            }),
        Kind::Blocks => BLOCK
            .get_or_init(ValueShape::of::<BlockHeader>)
            .conform(value),
    };
    match conformed {
        Some(text) => Arc::from(text),
        None => Arc::from(value),
    }
}

/// Hands an event of the gateway's own (never replayed, without an id) to every client of a topic.
fn publish_own(topic: &Topic, event: &'static str, data: Arc<str>) {
    publish_all(topic, vec![(event, data)], Ids::None);
}

/// Records the events of one notification of the node (in Redis, in a cluster, which gives their ids), adds them to
/// a topic at once, and hands them to every client.
async fn publish(topic: &Topic, events: Vec<(&'static str, Arc<str>)>) {
    let shared = match &topic.shared {
        Some(redis) => {
            let pairs: Vec<(&str, &str)> = events.iter().map(|(e, d)| (*e, &**d)).collect();
            redis.record(topic.kind.name(), &pairs, topic.buffer).await
        }
        None => None,
    };
    publish_all(topic, events, shared.map_or(Ids::Own, Ids::Shared));
}

/// Where the ids of published events come from.
enum Ids {
    /// No id: the event is not replayed.
    None,
    /// This replica's own.
    Own,
    /// The cluster's, one for each event.
    Shared(Vec<u64>),
}

fn publish_all(topic: &Topic, events: Vec<(&'static str, Arc<str>)>, ids: Ids) {
    let mut state = topic.state.lock().unwrap_or_else(|e| e.into_inner());
    let last = events.len().saturating_sub(1);
    let replayable = !matches!(ids, Ids::None);
    for (n, (event, data)) in events.into_iter().enumerate() {
        let ends_batch = n == last;
        let id = match &ids {
            Ids::None => 0,
            Ids::Own => {
                state.next_id += 1;
                state.next_id
            }
            Ids::Shared(ids) => ids.get(n).copied().unwrap_or_default(),
        };
        let event = Event::new(id, event, data, ends_batch);
        if replayable {
            if state.unbroken_from.is_none() {
                state.unbroken_from = Some(id);
            }
            state.buffer.push_back(event.clone());
            while state.buffer.len() > topic.buffer {
                state.buffer.pop_front();
            }
            if topic.kind == Kind::Heads && matches!(event.event, "current" | "apply") {
                state.latest_head = Some(Event::new(event.id, "current", event.data.clone(), true));
            }
        }
        state
            .clients
            .retain(|_, client| match client.tx.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Dropping the sender ends the client's stream once it drains what it has: then the error event.
                    client.lagged.store(true, Ordering::SeqCst);
                    CUT_OFF.fetch_add(1, Ordering::Relaxed);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
    }
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<crate::upstream::RpcError>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Val", borrow)]
    val: &'a RawValue,
}

/// How long the WebSocket may stay silent before a ping, and again before it is given up.
const SILENCE: Duration = Duration::from_secs(30);

/// Keeps the upstream subscription of a topic open until it is cancelled, reopening it with backoff.
async fn run_upstream(topic: &Topic, upstream: &Upstream, mut cancelled: oneshot::Receiver<()>) {
    let mut delay = Duration::from_millis(100);
    let mut lost = false;
    loop {
        let outcome = match subscribe_once(topic, upstream, &mut lost, &mut cancelled).await {
            Ok(Ended::Cancelled) => return,
            Ok(Ended::Closed) => Ok(()),
            Err(e) => Err(e),
        };
        let detail = match outcome {
            Err(e) => format!(
                "the node's {} subscription failed: {e}; reconnecting",
                topic.kind.method()
            ),
            Ok(()) => format!(
                "the node closed the {} subscription; reconnecting",
                topic.kind.method()
            ),
        };
        log::warn!("{detail}");
        if !lost {
            delay = Duration::from_millis(100);
            publish_own(
                topic,
                "upstream_lost",
                Arc::from(json!({ "detail": detail }).to_string()),
            );
        }
        lost = true;
        tokio::select! {
            _ = &mut cancelled => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
        // The cancel signal may come while the connection is down: a topic without clients stops.
        if topic
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clients
            .is_empty()
        {
            return;
        }
    }
}

/// How a subscription ended without an error.
enum Ended {
    /// The last client left: cancelled with `xrpc.cancel`.
    Cancelled,
    /// The node closed it.
    Closed,
}

async fn subscribe_once(
    topic: &Topic,
    upstream: &Upstream,
    lost: &mut bool,
    cancelled: &mut oneshot::Receiver<()>,
) -> Result<Ended, String> {
    let (url, token) = upstream.now();
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("invalid WebSocket URL: {e}"))?;
    if let Some(token) = &token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the upstream token is not a valid header value".to_string())?;
        request.headers_mut().insert("Authorization", value);
    }
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .map_err(|_| "connecting timed out".to_string())?
    .map_err(|e| format!("cannot connect: {e}"))?;
    // The last client may have left while this connected: then there is nothing to subscribe for.
    if !matches!(
        cancelled.try_recv(),
        Err(oneshot::error::TryRecvError::Empty)
    ) {
        let _ = ws.close(None).await;
        return Ok(Ended::Cancelled);
    }
    let call = json!({"jsonrpc": "2.0", "method": topic.kind.method(), "params": [], "id": 1});
    ws.send(Message::text(call.to_string()))
        .await
        .map_err(|e| format!("cannot subscribe: {e}"))?;
    let mut channel: Option<Value> = None;
    let mut pinged = false;
    loop {
        let next = tokio::select! {
            _ = &mut *cancelled => {
                // The last client left: cancel the channel as Lotus clients do, wait briefly for the node to close
                // it, then close the connection.
                let cancel = json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [1]});
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    ws.send(Message::text(cancel.to_string())).await?;
                    while let Some(Ok(msg)) = ws.next().await {
                        if let Message::Text(text) = msg {
                            if text.contains("xrpc.ch.close") {
                                break;
                            }
                        }
                    }
                    ws.close(None).await
                })
                .await;
                return Ok(Ended::Cancelled);
            }
            next = tokio::time::timeout(SILENCE, ws.next()) => next,
        };
        let next = match next {
            Ok(next) => next,
            Err(_) if !pinged => {
                pinged = true;
                ws.send(Message::Ping(Default::default()))
                    .await
                    .map_err(|e| format!("cannot ping: {e}"))?;
                continue;
            }
            Err(_) => return Err("the WebSocket went silent".into()),
        };
        pinged = false;
        let text = match next {
            None | Some(Ok(Message::Close(_))) => return Ok(Ended::Closed),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
        };
        let msg: Incoming<'_> =
            serde_json::from_str(&text).map_err(|e| format!("not JSON-RPC: {e}"))?;
        if msg.id.as_ref().and_then(|v| v.as_u64()) == Some(1) && msg.method.is_none() {
            if let Some(err) = msg.error {
                return Err(format!("{} refused: {}", topic.kind.method(), err.message));
            }
            channel = msg.result.and_then(|r| serde_json::from_str(r.get()).ok());
            // Events between the last subscription and this one may be missing here.
            topic
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .unbroken_from = None;
            if std::mem::take(lost) {
                publish_own(
                    topic,
                    "upstream_restored",
                    Arc::from(
                        json!({"detail": "the node's subscription is open again"}).to_string(),
                    ),
                );
            }
            continue;
        }
        let Some(params) = msg.params else { continue };
        match msg.method.as_deref() {
            Some("xrpc.ch.val") => {
                let (chan, value): (Value, &RawValue) = serde_json::from_str(params.get())
                    .map_err(|e| format!("unexpected channel value: {e}"))?;
                if channel.as_ref() != Some(&chan) {
                    continue;
                }
                match topic.kind {
                    Kind::Heads => {
                        let changes: Vec<Change<'_>> = serde_json::from_str(value.get())
                            .map_err(|e| format!("unexpected head change: {e}"))?;
                        let events = changes
                            .into_iter()
                            .filter_map(|change| {
                                let name = match change.kind.as_str() {
                                    "current" => "current",
                                    "apply" => "apply",
                                    "revert" => "revert",
                                    _ => return None,
                                };
                                Some((name, shaped(topic.kind, change.val.get())))
                            })
                            .collect();
                        publish(topic, events).await;
                    }
                    Kind::Mpool => {
                        publish(topic, vec![("mpool", shaped(topic.kind, value.get()))]).await
                    }
                    Kind::Blocks => {
                        publish(topic, vec![("block", shaped(topic.kind, value.get()))]).await
                    }
                }
            }
            Some("xrpc.ch.close") => return Ok(Ended::Closed),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64) -> Event {
        Event::new(id, "apply", Arc::from(format!("{{\"n\":{id}}}")), true)
    }

    #[test]
    fn a_replay_from_this_replica_starts_after_the_clients_last_event() {
        let mut state = TopicState::default();
        state.buffer.extend([10, 11, 12].map(event));
        let ids = |replay: Vec<Event>| -> Vec<(u64, &'static str)> {
            replay.iter().map(|e| (e.id, e.event)).collect()
        };
        assert_eq!(ids(replay_here(&state, 11, 3)), [(12, "apply")]);
        assert_eq!(ids(replay_here(&state, 12, 3)), []);
        // The event just before the oldest held: nothing was missed.
        assert_eq!(
            ids(replay_here(&state, 9, 3)),
            [(10, "apply"), (11, "apply"), (12, "apply")]
        );
        // Older, or an id this replica never gave: said, then what it holds after it.
        assert_eq!(
            ids(replay_here(&state, 5, 3)),
            [(0, "missed"), (10, "apply"), (11, "apply"), (12, "apply")]
        );
        assert_eq!(ids(replay_here(&state, 99, 3)), [(0, "missed")]);
    }

    #[test]
    fn a_replica_knows_since_when_it_holds_every_event() {
        let mut state = TopicState::default();
        state.buffer.extend([10, 11, 12, 13].map(event));
        // Nothing since the subscription now open: nothing is known to be whole.
        assert!(!held_since(&state, 12));
        state.unbroken_from = Some(12);
        assert!(held_since(&state, 12));
        assert!(held_since(&state, 13));
        // Before the subscription reopened, or not held: events may be missing.
        assert!(!held_since(&state, 11));
        assert!(!held_since(&state, 99));
        // The subscription's first event trimmed away: every event held came after it.
        state.unbroken_from = Some(9);
        assert!(held_since(&state, 10));
    }

    #[actix_web::test]
    async fn a_resumed_client_is_not_given_again_what_its_node_delivers_late() {
        let url = url::Url::parse("ws://127.0.0.1:1/rpc/v1").unwrap();
        let hub = Hub::new(
            StreamSettings::default(),
            Some(Upstream {
                url,
                token: None,
                choose: None,
            }),
        );
        let mut sub = hub.subscribe(Kind::Heads, None, Vec::new()).await.unwrap();
        // As after a replay from the cluster's record up to id 5.
        sub.skip_through = Some(5);
        let topic = hub.topics[Kind::Heads.index()].clone();
        for id in [3, 5, 6, 4, 7] {
            publish_all(
                &topic,
                vec![("apply", Arc::from(format!("{{\"n\":{id}}}")))],
                Ids::Shared(vec![id]),
            );
        }
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let e = sub.next().await.unwrap();
            // The node cannot be reached: the gateway's own events (without ids) come too.
            if e.id > 0 {
                seen.push(e.id);
            }
        }
        // Up to 5 was given already; once a newer event came, every event is given.
        assert_eq!(seen, [6, 4, 7]);
    }
}
