//! A simulated Lotus full node: a deterministic chain served over Lotus's JSON-RPC 2.0 API.
//!
//! It backs the `demo` mode, the integration tests and the benchmarks. It speaks the same wire protocol as
//! `lotus daemon` on `/rpc/v1` and `/rpc/v0` (token handling, error codes and messages, HTTP statuses, batches),
//! over HTTP POST and over WebSocket, where the channel methods (`ChainNotify`, `MpoolSub`,
//! `SyncIncomingBlocks`) stream their values as `xrpc.ch.val` notifications. Its answers are built from the
//! crate's own Lotus types, so they match the gateway's OpenAPI schemas.
//!
//! The chain starts at height `history` and grows by one epoch every `block_time`; some heights are null rounds.
//! Every request is recorded in a call log, and replies can be delayed on demand to exercise timeouts.

mod chain;
mod go;
mod groups;
pub mod miner;
mod rpc;
#[cfg(test)]
mod tests;
mod ws;
#[cfg(test)]
mod ws_tests;

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};

use crate::lotus::token::Secret;
use crate::lotus::types::TipSet;
use crate::lotus::Perm;

use chain::Chain;
pub use chain::{SimAccount, SimActorKind};

/// The name of the simulated network (`StateNetworkName`).
pub const NETWORK_NAME: &str = "simnet";
/// How many calls the call log keeps.
const CALL_LOG_LIMIT: usize = 100_000;
/// The largest request body accepted, as in Lotus.
const MAX_REQUEST_BYTES: usize = 100 << 20;
/// How many new heads a channel may fall behind by before it skips the oldest.
const HEAD_BACKLOG: usize = 64;

/// How the simulated node behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How often a new epoch is produced. Zero keeps the chain still.
    pub block_time: Duration,
    /// The epochs generated at start; the head is at this height then.
    pub history: i64,
    /// The seed every block, message and address is derived from.
    pub seed: u64,
    /// Heights `h` with `h % n == n - 1` are null rounds, except height 0 and the head at start; 0 disables them.
    pub null_round_every: i64,
    /// The secret tokens are verified and minted with.
    pub secret: Secret,
    /// More account actors beyond the ten the chain starts with (IDs after the miners').
    pub extra_accounts: usize,
    /// Answer the way a node written in Go does: empty lists and maps as `null`, empty byte strings as `null`.
    pub go_nulls: bool,
    /// The HTTP worker threads.
    pub workers: usize,
    /// When the chain began, in milliseconds since the Unix epoch: nodes given the same one (and seed) serve the
    /// same chain, block for block. By default, placed so that the head at start carries the current time.
    pub genesis_ms: Option<u64>,
}

impl SimConfig {
    pub fn new(secret: Secret) -> Self {
        SimConfig {
            block_time: Duration::from_secs(5),
            history: 200,
            seed: 1,
            null_round_every: 7,
            secret,
            extra_accounts: 0,
            go_nulls: false,
            workers: 2,
            genesis_ms: None,
        }
    }
}

/// What the HTTP workers and the chain ticker share.
/// A way for the simulated node's HTTP replies to go wrong, for tests of the gateway's fault handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a short text body.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    NotJson,
    /// Answer with a well-formed reply to another request id.
    WrongId,
    /// Send the reply's head and part of its body, then cut the connection.
    ResetMidBody,
    /// Answer with a valid reply whose result is this many bytes long.
    Oversized(usize),
}

pub(crate) struct Shared {
    chain: RwLock<Chain>,
    calls: Mutex<VecDeque<String>>,
    stall: Mutex<Option<Duration>>,
    fault: Mutex<Option<Fault>>,
    secret: Secret,
    session: String,
    block_time: Duration,
    /// Set by `stop`: a request that still arrives on an open connection has it cut, as a dead process would.
    stopped: std::sync::atomic::AtomicBool,
    /// Every new head, for the channels that follow the chain. Sending never waits: a channel that falls too far
    /// behind skips heads.
    heads: tokio::sync::broadcast::Sender<TipSet>,
    /// The `ChainNotify` channels open now.
    subscribers: std::sync::atomic::AtomicUsize,
    /// The channels of every kind open now.
    channels: std::sync::atomic::AtomicUsize,
    /// Message pool updates (`{"Type": 0|1, "Message": SignedMessage}`), for `MpoolSub` channels.
    mpool_updates: tokio::sync::broadcast::Sender<serde_json::Value>,
    /// The open WebSocket connections.
    sockets: ws::Sockets,
    /// The state of the method groups beyond the chain (wallet, market, payment channels…).
    #[allow(dead_code)] // read by the groups as they arrive
    groups: groups::Groups,
    /// See [`SimConfig::go_nulls`].
    go_nulls: bool,
}

impl Shared {
    /// A result as this node writes it: Go-shaped when [`SimConfig::go_nulls`] says so.
    pub(crate) fn written(&self, mut value: serde_json::Value) -> serde_json::Value {
        if self.go_nulls {
            go::shape(&mut value);
        }
        value
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn record(&self, methods: Vec<String>) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        for method in methods {
            if calls.len() >= CALL_LOG_LIMIT {
                calls.pop_front();
            }
            calls.push_back(method);
        }
    }

    pub(crate) fn fault(&self) -> Option<Fault> {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stall(&self) -> Option<Duration> {
        *self.stall.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn chain(&self) -> std::sync::RwLockReadGuard<'_, Chain> {
        self.chain.read().unwrap_or_else(|e| e.into_inner())
    }

    fn chain_mut(&self) -> std::sync::RwLockWriteGuard<'_, Chain> {
        self.chain.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a message into the pool as `MpoolPushMessage` does (nonce, gas and a simulated signature filled in);
    /// the next tipset includes it.
    pub(crate) fn push_message(
        &self,
        message: crate::lotus::types::Message,
    ) -> Result<crate::lotus::types::SignedMessage, String> {
        let signed = self.chain_mut().push_message(message)?;
        let _ = self
            .mpool_updates
            .send(serde_json::json!({"Type": 0, "Message": signed}));
        Ok(signed)
    }

    /// Produces the next epoch and tells the channels about a new head (a null round produces none).
    fn advance(&self) {
        let mut chain = self.chain.write().unwrap_or_else(|e| e.into_inner());
        let before = chain.head().tipset.height;
        let waiting = chain.pending();
        chain.advance();
        let head = &chain.head().tipset;
        if head.height != before {
            // Sent under the lock, so that heads are announced in chain order. No receiver is not an error.
            let _ = self.heads.send(head.clone());
            // The pool's messages went into the new tipset: they leave the pool.
            for signed in waiting {
                let _ = self
                    .mpool_updates
                    .send(serde_json::json!({"Type": 1, "Message": signed}));
            }
        }
    }
}

struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: ServerHandle,
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A running simulated node. Clones refer to the same node.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<Inner>,
}

impl SimHandle {
    /// The address the node listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The v1 endpoint, e.g. `http://127.0.0.1:1234/rpc/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/rpc/v1", self.inner.addr)
    }

    /// The v1 endpoint for WebSocket clients, e.g. `ws://127.0.0.1:1234/rpc/v1`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/rpc/v1", self.inner.addr)
    }

    /// How many `ChainNotify` channels are open right now, over all WebSocket connections.
    pub fn subscribers(&self) -> usize {
        self.inner
            .shared
            .subscribers
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many WebSocket connections are open right now.
    pub fn websockets(&self) -> usize {
        self.inner.shared.sockets.count()
    }

    /// How many channels of any kind (`ChainNotify`, `MpoolSub`, `SyncIncomingBlocks`) are open right now.
    pub fn channels(&self) -> usize {
        self.inner
            .shared
            .channels
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Puts a message from `from` to `to` into the pool, as `MpoolPushMessage` does; the next epoch mines it.
    pub fn push_message(
        &self,
        from: &str,
        to: &str,
        value_atto: u128,
    ) -> Result<crate::lotus::types::SignedMessage, String> {
        self.inner
            .shared
            .push_message(crate::lotus::types::Message {
                version: 0,
                to: to.to_string(),
                from: from.to_string(),
                nonce: 0,
                value: crate::lotus::types::BigInt(value_atto.to_string()),
                gas_limit: 0,
                gas_fee_cap: crate::lotus::types::BigInt("0".into()),
                gas_premium: crate::lotus::types::BigInt("0".into()),
                method: 0,
                params: None,
                cid: None,
            })
    }

    /// Closes every open WebSocket connection from the node's side (a close frame with code 1001, "going away"),
    /// ending all their channels, and returns once they are closed. Connections opened afterwards work as usual.
    pub async fn drop_websockets(&self) {
        self.inner.shared.sockets.close_all(ws::Ending::Close).await;
    }

    /// Produces the next epoch now, as the block timer does, notifying the channels of a new head. A null round
    /// produces no head.
    pub fn advance(&self) {
        self.inner.shared.advance();
    }

    /// A token granting `perm` and every permission below it, as `lotus auth create-token --perm` makes.
    pub fn token(&self, perm: Perm) -> String {
        self.inner.shared.secret.mint(perm.up_to())
    }

    /// The methods of every request received since start or the last [`reset_calls`](Self::reset_calls), in
    /// order, refused ones included (at most the last 100 000).
    pub fn calls(&self) -> Vec<String> {
        let calls = self.inner.shared.calls.lock();
        calls
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn reset_calls(&self) {
        let calls = self.inner.shared.calls.lock();
        calls.unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Makes every HTTP JSON-RPC reply fail in the given way while set (fault injection).
    pub fn set_fault(&self, fault: Option<Fault>) {
        *self
            .inner
            .shared
            .fault
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = fault;
    }

    /// Delays every reply by `delay` while set.
    pub fn set_stall(&self, delay: Option<Duration>) {
        *self
            .inner
            .shared
            .stall
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = delay;
    }

    /// Stops the HTTP server (connections are refused afterwards; open WebSocket connections are cut) and the
    /// chain.
    pub async fn stop(&self) {
        let ticker = self
            .inner
            .ticker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        self.inner
            .shared
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.shared.sockets.close_all(ws::Ending::Cut).await;
        self.inner.server.stop(false).await;
    }

    /// The Ethereum filters installed on the node now.
    pub fn eth_filters(&self) -> usize {
        groups::lock(&self.inner.shared.groups.eth).filters.len()
    }

    /// The current head.
    pub fn head(&self) -> TipSet {
        self.inner.shared.chain().head().tipset.clone()
    }

    /// The tipset at `height`; `None` for a null round or a height beyond the head.
    pub fn tipset_at(&self, height: i64) -> Option<TipSet> {
        self.inner.shared.chain().tipset_at(height).cloned()
    }

    /// The heights that are null rounds so far.
    pub fn null_rounds(&self) -> Vec<i64> {
        self.inner.shared.chain().null_rounds().to_vec()
    }

    /// The actors the node knows: accounts and miners.
    pub fn accounts(&self) -> Vec<SimAccount> {
        self.inner.shared.chain().accounts()
    }

    /// The network name; addresses use the `t` prefix.
    pub fn network_name(&self) -> &str {
        NETWORK_NAME
    }
}

/// Starts a simulated node on `listener`. Must be called within a Tokio runtime (an actix one is fine): the HTTP
/// server (with [`SimConfig::workers`] workers) and the chain ticker run as tasks until [`SimHandle::stop`].
pub async fn start(config: SimConfig, listener: TcpListener) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let block_ms = config.block_time.as_millis() as u64;
    let history = config.history.max(0);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    // Unless given, genesis is placed so that the head at start carries the current time.
    let genesis_ms = config
        .genesis_ms
        .unwrap_or_else(|| now_ms.saturating_sub(history as u64 * block_ms));
    let mut chain = Chain::new(
        config.seed,
        history,
        config.null_round_every,
        genesis_ms,
        block_ms,
    );
    chain.add_accounts(config.extra_accounts);
    let shared = Arc::new(Shared {
        chain: RwLock::new(chain),
        calls: Mutex::new(VecDeque::new()),
        stall: Mutex::new(None),
        fault: Mutex::new(None),
        secret: config.secret.clone(),
        session: uuid::Uuid::new_v4().to_string(),
        block_time: config.block_time,
        stopped: std::sync::atomic::AtomicBool::new(false),
        heads: tokio::sync::broadcast::channel(HEAD_BACKLOG).0,
        subscribers: std::sync::atomic::AtomicUsize::new(0),
        channels: std::sync::atomic::AtomicUsize::new(0),
        mpool_updates: tokio::sync::broadcast::channel(HEAD_BACKLOG).0,
        sockets: ws::Sockets::default(),
        groups: groups::Groups::default(),
        go_nulls: config.go_nulls,
    });

    let data = web::Data::from(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
            .route("/rpc/v1", web::post().to(rpc::handle))
            .route("/rpc/v0", web::post().to(rpc::handle))
            .route("/rpc/v1", web::get().to(ws::handle))
            .route("/rpc/v0", web::get().to(ws::handle))
    })
    .workers(config.workers.max(1))
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let server_handle = server.handle();
    tokio::spawn(server);

    let ticker = (!config.block_time.is_zero()).then(|| {
        let shared = shared.clone();
        let period = config.block_time;
        tokio::spawn(async move {
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                shared.advance();
            }
        })
    });

    Ok(SimHandle {
        inner: Arc::new(Inner {
            shared,
            addr,
            server: server_handle,
            ticker: Mutex::new(ticker),
        }),
    })
}
