//! The JSON-RPC client the gateway calls Lotus with: one pooled keep-alive HTTP client per upstream, request ids
//! matched to replies, a timeout per call, and errors that tell a refused connection, a timeout, a 401, a non-JSON
//! reply and a JSON-RPC error apart.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{classify_rpc, ApiError, Code};
use crate::lotus::methods::{self, Method};
use crate::lotus::token::TokenError;
use crate::lotus::types::HeightAndTime;
use crate::lotus::{Perm, PermSet};

pub use crate::lotus::rpc::RpcError;

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// A node's result as it came: the text of the reply's `result`, checked to be one JSON value (in the shapes nodes
/// write, as far as its structure goes: [`crate::lotus::rpc::quick_result`]) but not decoded, and not copied out of
/// the reply's bytes. `/rpc/v1` passes it on as it is; routes decode it into their types.
#[derive(Debug, Clone)]
pub struct Answer(bytestring::ByteString);

impl Answer {
    /// The result's JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The result as a [`RawValue`], for what serializes it with serde.
    pub fn into_raw(self) -> Result<Box<RawValue>, UpstreamError> {
        RawValue::from_string(String::from(&*self.0))
            .map_err(|e| UpstreamError::BadResponse(format!("the result is not JSON: {e}")))
    }

    /// A result the gateway wrote itself, e.g. a Forest shape rewritten to Lotus's; checked to be JSON.
    pub fn written(text: String) -> Result<Answer, UpstreamError> {
        serde_json::from_str::<&RawValue>(&text)
            .map_err(|e| UpstreamError::BadResponse(format!("the result is not JSON: {e}")))?;
        Ok(Answer(text.into()))
    }
}

impl Serialize for Answer {
    /// Serialized as the JSON it is. The replies `/rpc/v1` writes do not come here (they copy the text as it is);
    /// serde can only be given raw JSON as a [`RawValue`], which reads the text again.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(self.get()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// What can go wrong calling the upstream, as the caller of the client needs to tell it apart.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpstreamError {
    /// The node answered HTTP 401: it did not accept the token sent.
    #[error("the node rejected the token (HTTP 401)")]
    Unauthorized,
    /// No connection could be made (refused, unresolvable, reset before a reply).
    #[error("cannot reach the node: {0}")]
    Unreachable(String),
    /// No reply within the configured timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The node said it is overloaded or not ready (HTTP 429 or 503).
    #[error("{0}")]
    Unavailable(String),
    /// A reply that is not a JSON-RPC response to this request.
    #[error("invalid reply: {0}")]
    BadResponse(String),
    /// An HTTP 5xx without a JSON-RPC body (Lotus answers its own errors with one, whatever the status): the node,
    /// or a proxy in front of it, is failing. Answered as an invalid reply; a pool's node is out of rotation.
    #[error("invalid reply: {0}")]
    Failing(String),
    /// The node answered with a JSON-RPC error.
    #[error("JSON-RPC error {}: {}", .0.code, .0.message)]
    Rpc(RpcError),
    /// This upstream is not configured.
    #[error("{0}")]
    NotConfigured(String),
    /// The gateway refused to send the call: it reaches further into the chain's history than this gateway serves
    /// (`[Chain] MaxLookback`). The node never saw it.
    #[error("{0}")]
    Refused(String),
}

/// The identity of a caller after authentication.
#[derive(Clone)]
pub struct Caller {
    pub perms: PermSet,
    /// The token to send upstream: the caller's own in passthrough mode, the gateway's in own mode.
    pub upstream_token: Option<String>,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("perms", &self.perms.names())
            .finish_non_exhaustive()
    }
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::Rpc(rpc) => {
                let code = classify_rpc(&rpc);
                let detail = format!("the Lotus node answered: {}", rpc.message);
                ApiError::new(code, detail).with_rpc(&rpc)
            }
            UpstreamError::Unauthorized => ApiError::new(
                Code::UpstreamAuthFailed,
                "the Lotus node rejected the token the gateway sent (HTTP 401); check that the gateway verifies with the node's JWT secret, or its upstream token",
            ),
            UpstreamError::Unreachable(why) => ApiError::new(
                Code::UpstreamUnreachable,
                format!("cannot reach the Lotus node: {why}"),
            ),
            UpstreamError::Timeout(after) => ApiError::new(
                Code::UpstreamTimeout,
                format!("the Lotus node did not answer within {} ms", after.as_millis()),
            ),
            UpstreamError::Unavailable(why) => {
                let mut err = ApiError::new(Code::UpstreamUnavailable, why);
                err.retry_after = Some(1);
                err
            }
            UpstreamError::BadResponse(why) | UpstreamError::Failing(why) => ApiError::new(
                Code::UpstreamBadResponse,
                format!("the Lotus node sent an invalid reply: {why}"),
            ),
            UpstreamError::NotConfigured(why) => ApiError::new(Code::UpstreamUnavailable, why),
            UpstreamError::Refused(why) => ApiError::invalid_parameter(why),
        }
    }
}

/// A node's answer in Lotus's dialect (see [`crate::lotus::dialect`]): a `null` that means "not there" is the error
/// Lotus answers instead, a Forest shape is rewritten to Lotus's.
fn not_missing(method: &str, answer: Answer) -> Result<Answer, ApiError> {
    match crate::lotus::dialect::answer(method, answer.get()) {
        Err(missing) => Err(UpstreamError::Rpc(missing).into()),
        Ok(Some(text)) => Answer::written(text).map_err(|e| ApiError::internal(e.to_string())),
        Ok(None) => Ok(answer),
    }
}

#[derive(Serialize)]
struct Request<'a, P: Serialize> {
    jsonrpc: &'static str,
    method: &'a str,
    params: P,
    id: u64,
}

/// Options of one upstream.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The JSON-RPC URL, e.g. `http://127.0.0.1:1234/rpc/v1`. `None` when the upstream is not configured.
    pub url: Option<url::Url>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_idle_per_host: usize,
    /// Calls in flight to this upstream at most; more wait up to `queue_timeout`, then fail as unavailable.
    pub max_concurrent: usize,
    pub queue_timeout: Duration,
    /// The largest reply accepted; a larger one is a bad response.
    pub max_response_bytes: usize,
    /// The sentence a caller gets when the upstream is not configured.
    pub not_configured: String,
    /// A PEM file of CA certificates to trust for an `https` upstream, besides the public CAs.
    pub ca_file: Option<std::path::PathBuf>,
    /// The upstream's name in metrics (`node`, `miner`).
    pub name: &'static str,
    /// A pool: every node with its token, the first being `url`'s. Fewer than two: no pool, `url` alone.
    pub pool: Vec<(url::Url, Option<String>)>,
    /// How often each node of a pool is asked for its head.
    pub health_interval: Duration,
    /// A pool's node further behind the best head than this many epochs serves no reads.
    pub max_head_lag: i64,
}

impl Default for ClientOptions {
    /// The defaults of `[FullNode]`, without a node.
    fn default() -> Self {
        ClientOptions {
            url: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_idle_per_host: 64,
            max_concurrent: 256,
            queue_timeout: Duration::from_secs(2),
            max_response_bytes: 100 << 20,
            not_configured: "no Lotus node is configured".into(),
            ca_file: None,
            name: "node",
            pool: Vec::new(),
            health_interval: Duration::from_secs(5),
            max_head_lag: 2,
        }
    }
}

/// A Lotus JSON-RPC client. Clones share the connection pool, the cache and the calls in flight.
#[derive(Clone)]
pub struct Client(Arc<Inner>);

/// A call in flight that identical calls join instead of sending their own.
type Flight = Shared<BoxFuture<'static, Result<Arc<str>, UpstreamError>>>;

pub struct Inner {
    /// The client of the nodes the lean clients do not serve (over HTTPS, or with a CA file); `None` when there are
    /// none: building it reads the system's CA certificates and starts the TLS stack, which a gateway whose nodes
    /// are all over plain HTTP never uses.
    http: Option<reqwest::Client>,
    /// The lean client of each node reached over plain HTTP, by URL (see [`crate::lean`]).
    lean: Vec<(url::Url, crate::lean::Lean)>,
    opts: ClientOptions,
    table: &'static [Method],
    next_id: AtomicU64,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Results that never change (blocks, messages, tipsets by key, state at a tipset key), by method and params.
    cache: Option<quick_cache::sync::Cache<String, Arc<str>>>,
    flights: Mutex<HashMap<String, Flight>>,
    slots: Arc<tokio::sync::Semaphore>,
    /// The lookback cap every call is held to, when there is one.
    history: Option<History>,
    /// The nodes, when there are several.
    pool: Option<crate::pool::Pool>,
}

impl std::ops::Deref for Client {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The ceiling of what a snippet of a bad reply may show in an error.
const SNIPPET: usize = 120;

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SNIPPET)]);
    let mut s: String = text.chars().filter(|c| !c.is_control()).collect();
    if bytes.len() > SNIPPET {
        s.push('…');
    }
    s
}

impl Client {
    pub fn new(opts: ClientOptions, table: &'static [Method]) -> Result<Self, String> {
        let mut roots = Vec::new();
        if let Some(path) = &opts.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
            roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("CA file {} is not PEM certificates: {e}", path.display()))?;
            if roots.is_empty() {
                return Err(format!("CA file {} holds no certificate", path.display()));
            }
        }
        let urls = || opts.url.iter().chain(opts.pool.iter().map(|(url, _)| url));
        // Nodes over plain HTTP without a CA file are called with the lean client.
        let lean: Vec<_> = if opts.ca_file.is_none() {
            urls()
                .filter_map(|url| {
                    let lean = crate::lean::Lean::for_url(
                        url,
                        opts.max_idle_per_host,
                        opts.connect_timeout,
                    )?;
                    Some((url.clone(), lean))
                })
                .collect()
        } else {
            Vec::new()
        };
        let http = if urls().all(|url| lean.iter().any(|(served, _)| served == url)) {
            None
        } else {
            let builder = roots
                .into_iter()
                .fold(reqwest::Client::builder(), |builder, cert| {
                    builder.add_root_certificate(cert)
                });
            Some(
                builder
                    .connect_timeout(opts.connect_timeout)
                    .pool_max_idle_per_host(opts.max_idle_per_host)
                    .pool_idle_timeout(Duration::from_secs(90))
                    .tcp_nodelay(true)
                    .user_agent(concat!("lotus-rest/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))?,
            )
        };
        let max_concurrent = opts.max_concurrent.max(1);
        let pool = (opts.pool.len() > 1).then(|| {
            let nodes = opts
                .pool
                .iter()
                .enumerate()
                .map(|(i, (url, token))| crate::pool::Node::new(i, url.clone(), token.clone()))
                .collect();
            crate::pool::Pool::new(nodes, opts.max_head_lag)
        });
        Ok(Client(Arc::new(Inner {
            http,
            lean,
            opts,
            table,
            next_id: AtomicU64::new(1),
            metrics: None,
            cache: None,
            flights: Mutex::new(HashMap::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(max_concurrent)),
            history: None,
            pool,
        })))
    }

    /// The pool of nodes, when there are several.
    pub fn pool(&self) -> Option<&crate::pool::Pool> {
        self.pool.as_ref()
    }

    /// The node a long-lived subscription should connect to now, and the token to send it: the first node that
    /// serves reads, else the first that is up, else the first. `token` is the gateway's own; it stands for each
    /// node's own token, as in every call. `None` without a pool.
    pub fn stream_target(&self, token: Option<&str>) -> Option<(url::Url, Option<String>)> {
        let pool = self.pool.as_ref()?;
        let i = pool
            .nodes
            .iter()
            .position(|n| pool.standing(n) == crate::pool::Standing::Serving)
            .or_else(|| pool.nodes.iter().position(crate::pool::Node::is_up))
            .unwrap_or(0);
        Some(pool.target(i, token))
    }

    /// The node a client's own JSON-RPC WebSocket connection is dialled to, and the token to send it: the first node
    /// in rotation (the one that holds the keys while it is up), since such a connection carries writes as well as
    /// reads. `None` without a pool.
    pub fn primary_target(&self, token: Option<&str>) -> Option<(url::Url, Option<String>)> {
        let pool = self.pool.as_ref()?;
        Some(pool.target(pool.route(false)[0], token))
    }

    /// Starts asking each node of a pool for its head every `health_interval`, for as long as the client lives: a
    /// node that does not answer is out of rotation until it does, and the heads tell which nodes lag. Nothing to
    /// do without a pool.
    pub fn watch_pool(&self) {
        if self.pool.is_none() {
            return;
        }
        let weak = Arc::downgrade(&self.0);
        let interval = self.opts.health_interval;
        tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let client = Client(inner);
                if let Some(pool) = &client.pool {
                    futures_util::future::join_all(
                        (0..pool.nodes.len()).map(|i| client.probe(i, interval)),
                    )
                    .await;
                }
                drop(client);
                tokio::time::sleep(interval).await;
            }
        });
    }

    /// Asks node `i` of the pool for its head, waiting at most `interval` (and at least a second).
    async fn probe(&self, i: usize, interval: Duration) {
        let Some(node) = self.pool.as_ref().map(|p| &p.nodes[i]) else {
            return;
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = request_body("Filecoin.ChainHead", [(); 0], id);
        let wait = interval.max(Duration::from_secs(1)).min(self.opts.timeout);
        let reply = match body {
            Ok(body) => tokio::time::timeout(
                wait,
                self.post(&node.url, node.token.as_deref(), body, id, true),
            )
            .await
            .unwrap_or(Err(UpstreamError::Timeout(wait))),
            Err(e) => Err(e),
        };
        if let (Ok(answer), Some(pool)) = (&reply, &self.pool) {
            pool.learn("Filecoin.ChainHead", answer.get());
        }
        match reply.map(|raw| serde_json::from_str::<HeightAndTime>(raw.get())) {
            Ok(Ok(head)) => node.answered(head.height, head.timestamp().unwrap_or(0)),
            Ok(Err(e)) => {
                node.down(&format!("its ChainHead reply is not a tipset: {e}"));
            }
            Err(e) => {
                node.down(&e.to_string());
            }
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::get_mut(&mut self.0).expect("a client is configured before it is shared")
    }

    /// Records every call in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.inner_mut().metrics = Some(metrics);
        self
    }

    /// Keeps up to `entries` immutable results in memory (least recently used out first); 0 keeps none.
    pub fn with_cache(mut self, entries: usize) -> Self {
        self.inner_mut().cache = (entries > 0).then(|| quick_cache::sync::Cache::new(entries));
        self
    }

    /// Holds every call to the last `cap` epochs below the head (`[Chain] MaxLookback`), however it came in: a
    /// tipset key, a height, a search bound or an Ethereum block beyond that is refused before it is sent. `head`
    /// gives the head's height when the gateway already knows it (from the node's head stream).
    pub fn with_lookback(mut self, cap: i64, head: HeadSource) -> Self {
        self.inner_mut().history = (cap > 0).then(|| History {
            cap,
            head,
            polled: Mutex::new(None),
            heights: quick_cache::sync::Cache::new(HEIGHTS_KEPT),
        });
        self
    }

    /// How many results the cache holds.
    pub fn cached_entries(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len())
    }

    /// Sends a call, or joins an identical one already in flight: a thousand clients asking for the same thing at
    /// once cost the node one call. Only read methods are shared; their results do not depend on the token.
    pub async fn request_shared(
        &self,
        token: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> Result<Arc<str>, UpstreamError> {
        let key = format!("{method}\u{0}{params}");
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
            match flights.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    let this = self.clone();
                    let (token, method, key_done) =
                        (token.map(String::from), method.to_string(), key.clone());
                    let flight = async move {
                        let result = this
                            .answer(token.as_deref(), &method, params)
                            .await
                            .map(|answer| Arc::<str>::from(answer.get()));
                        this.flights
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&key_done);
                        result
                    }
                    .boxed()
                    .shared();
                    flights.insert(key, flight.clone());
                    flight
                }
            }
        };
        flight.await
    }

    /// Calls a read method on behalf of `caller`, sharing identical calls in flight, and keeping the result when
    /// `immutable` says it can never change. The permission is checked before the cache is looked at.
    pub async fn call_read(
        &self,
        caller: &Caller,
        method: &str,
        params: serde_json::Value,
        immutable: bool,
    ) -> Result<Arc<str>, ApiError> {
        self.guard(caller, method)?;
        // Held to the lookback cap before the cache is looked at: what was served yesterday may be too old today.
        let params = self
            .vet(caller.upstream_token.as_deref(), method, params)
            .await?;
        let shareable = self.method(method).is_some_and(|m| m.perm == Perm::Read);
        if !shareable {
            let answer = self
                .answer(caller.upstream_token.as_deref(), method, params)
                .await?;
            return Ok(Arc::from(not_missing(method, answer)?.get()));
        }
        let key = immutable.then(|| format!("{method}\u{0}{params}"));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            let hit = cache.get(key);
            if let Some(m) = &self.metrics {
                m.cache(hit.is_some());
            }
            if let Some(hit) = hit {
                return Ok(hit);
            }
        }
        let result = self
            .request_shared(caller.upstream_token.as_deref(), method, params)
            .await?;
        if let Some(missing) = crate::lotus::dialect::missing(method, &result) {
            return Err(UpstreamError::Rpc(missing).into());
        }
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            if &*result != "null" {
                cache.insert(key, result.clone());
            }
        }
        Ok(result)
    }

    pub fn url(&self) -> Option<&url::Url> {
        self.opts.url.as_ref()
    }

    /// The upstream's name (`node`, `miner`).
    pub fn name(&self) -> &'static str {
        self.opts.name
    }

    pub fn timeout(&self) -> Duration {
        self.opts.timeout
    }

    /// Sends one JSON-RPC request and returns the raw `result`. It checks no permission, but holds the call to the
    /// lookback cap (see [`Client::with_lookback`]).
    pub async fn request<P: Serialize>(
        &self,
        token: Option<&str>,
        method: &str,
        params: P,
    ) -> Result<Box<RawValue>, UpstreamError> {
        self.answer(token, method, params).await?.into_raw()
    }

    /// [`Client::request`], the result as it came.
    pub async fn answer<P: Serialize>(
        &self,
        token: Option<&str>,
        method: &str,
        params: P,
    ) -> Result<Answer, UpstreamError> {
        match &self.history {
            Some(history) if !crate::lotus::history::selectors(method).is_empty() => {
                let params = serde_json::to_value(&params).map_err(|e| {
                    UpstreamError::BadResponse(format!("cannot encode the request: {e}"))
                })?;
                let params = history.vet(self, token, method, params).await?;
                self.transport(token, method, params).await
            }
            _ => self.transport(token, method, params).await,
        }
    }

    /// Holds `params` of `method` to the lookback cap, as [`Client::request`] does; what to send instead (a search
    /// bound brought within the cap), or why not.
    pub async fn vet(
        &self,
        token: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, UpstreamError> {
        match &self.history {
            Some(history) => history.vet(self, token, method, params).await,
            None => Ok(params),
        }
    }

    /// A call slot for a call sent another way (over a client's WebSocket), held until its reply comes: the calls in
    /// flight to the node are bounded however they are sent. Waits as a call does, then fails as one does.
    pub async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, UpstreamError> {
        match tokio::time::timeout(self.opts.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(UpstreamError::Unavailable(format!(
                "{} calls to the Lotus node are already in flight and none finished within {} ms; retry later",
                self.opts.max_concurrent,
                self.opts.queue_timeout.as_millis()
            ))),
        }
    }

    /// Sends one JSON-RPC request through the call slots; the transport under every call.
    async fn transport<P: Serialize>(
        &self,
        token: Option<&str>,
        method: &str,
        params: P,
    ) -> Result<Answer, UpstreamError> {
        let start = std::time::Instant::now();
        let result = match tokio::time::timeout(self.opts.queue_timeout, self.slots.acquire()).await {
            Ok(Ok(_slot)) => self.send(token, method, params).await,
            _ => Err(UpstreamError::Unavailable(format!(
                "{} calls to the Lotus node are already in flight and none finished within {} ms; retry later",
                self.opts.max_concurrent,
                self.opts.queue_timeout.as_millis()
            ))),
        };
        if let Some(m) = &self.metrics {
            let kind = result.as_ref().err().map(|e| match e {
                UpstreamError::Unauthorized => "unauthorized",
                UpstreamError::Unreachable(_) => "unreachable",
                UpstreamError::Timeout(_) => "timeout",
                UpstreamError::Unavailable(_) => "unavailable",
                UpstreamError::BadResponse(_) | UpstreamError::Failing(_) => "bad_response",
                UpstreamError::Rpc(_) => "rpc_error",
                UpstreamError::NotConfigured(_) => "not_configured",
                UpstreamError::Refused(_) => "refused",
            });
            m.upstream_call(self.opts.name, method, start.elapsed(), kind);
        }
        result
    }

    async fn send<P: Serialize>(
        &self,
        token: Option<&str>,
        method: &str,
        params: P,
    ) -> Result<Answer, UpstreamError> {
        let url = self
            .opts
            .url
            .as_ref()
            .ok_or_else(|| UpstreamError::NotConfigured(self.opts.not_configured.clone()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = request_body(method, params, id)?;
        // A read changes nothing on the node: it may be sent again (once) when a connection fails under it.
        let read = self.method(method).is_some_and(|m| m.perm == Perm::Read);
        let Some(pool) = &self.pool else {
            return self.post(url, token, body, id, read).await;
        };
        let any_node = crate::pool::any_node_may_serve(method, read);
        let at = any_node.then(|| pool.height_of(method, &body)).flatten();
        let order = pool.route_at(any_node, at);
        let mut result = Err(UpstreamError::NotConfigured(
            self.opts.not_configured.clone(),
        ));
        for (attempt, &i) in order.iter().enumerate() {
            let node = &pool.nodes[i];
            let token = pool.token_for(i, token);
            let busy = node.busy();
            result = self.post(&node.url, token, body.clone(), id, read).await;
            drop(busy);
            match &result {
                Err(e @ UpstreamError::Unreachable(_)) => {
                    node.down(&e.to_string());
                    // A read is tried once more on another node; anything else is never sent twice.
                    if attempt + 1 < order.len() {
                        log::info!(
                            "{method}: {} could not be reached; trying another node",
                            node.name
                        );
                        continue;
                    }
                }
                Err(
                    e @ (UpstreamError::Timeout(_)
                    | UpstreamError::Unavailable(_)
                    | UpstreamError::Failing(_)),
                ) => {
                    node.down(&e.to_string());
                }
                Ok(answer) => pool.learn(method, answer.get()),
                _ => {}
            }
            break;
        }
        result
    }

    /// Posts one encoded JSON-RPC request to `url` and reads its reply. `idempotent`: a call the node may get twice
    /// (a read), which the lean client sends once more when a kept-alive connection closes under it.
    async fn post(
        &self,
        url: &url::Url,
        token: Option<&str>,
        body: bytes::Bytes,
        id: u64,
        idempotent: bool,
    ) -> Result<Answer, UpstreamError> {
        let limit = self.opts.max_response_bytes;
        let timeout = self.opts.timeout;
        if let Some(lean) = self.lean.iter().find(|(u, _)| u == url).map(|(_, l)| l) {
            let reply = tokio::time::timeout(timeout, lean.post(token, body, limit, idempotent))
                .await
                .map_err(|_| UpstreamError::Timeout(timeout))?
                .map_err(|failure| match failure {
                    crate::lean::Failure::Unreachable(why) => {
                        log::warn!("the node could not be reached: {why}");
                        UpstreamError::Unreachable(why)
                    }
                    crate::lean::Failure::TooLarge => too_large(limit),
                })?;
            return read_reply(reply.status, reply.body, id);
        }
        let Some(http) = &self.http else {
            // Every node has a lean client or the HTTP client (`new`): a URL with neither is not one of them.
            log::error!("no client for the node at {url}");
            return Err(UpstreamError::Unreachable(
                "no client for this node".to_string(),
            ));
        };
        let mut req = http
            .post(url.clone())
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let map_send = |e: reqwest::Error| {
            if e.is_timeout() {
                UpstreamError::Timeout(timeout)
            } else {
                // The error's source chain says why (refused, reset, DNS). A client is never shown the node's
                // address: the operator's log has it.
                log::warn!("the node could not be reached: {e}");
                UpstreamError::Unreachable(crate::lean::with_causes(&e.without_url()))
            }
        };
        let mut res = req.send().await.map_err(map_send)?;
        let status = res.status();
        if res.content_length().is_some_and(|len| len > limit as u64) {
            return Err(too_large(limit));
        }
        let mut bytes = Vec::with_capacity(res.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = res.chunk().await.map_err(map_send)? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        read_reply(status.as_u16(), bytes.into(), id)
    }

    /// The permission Lotus requires for `method`; the gateway's guard uses it before any call leaves.
    pub fn method(&self, name: &str) -> Option<&'static Method> {
        methods::lookup(self.table, name)
    }

    /// Checks that the caller may invoke `method` upstream. A route whose declared permission is lower than the
    /// method's would be a bug; this guard makes sure such a bug refuses instead of escalating.
    pub fn guard(&self, caller: &Caller, method: &str) -> Result<(), ApiError> {
        let Some(m) = self.method(method) else {
            log::error!("refusing to call {method}: it is not in the method table");
            return Err(ApiError::internal(format!(
                "the gateway does not know the permission of {method}"
            )));
        };
        if !caller.perms.contains(m.perm) {
            return Err(ApiError::new(
                Code::Forbidden,
                format!(
                    "this request calls {method}, which needs the '{}' permission; the token grants [{}]",
                    m.perm,
                    caller.perms.names().join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Calls `method` on behalf of `caller` and returns the result bytes untouched.
    pub async fn call_raw<P: Serialize>(
        &self,
        caller: &Caller,
        method: &str,
        params: P,
    ) -> Result<Box<RawValue>, ApiError> {
        Ok(self.call_answer(caller, method, params).await?.into_raw()?)
    }

    /// [`Client::call_raw`], the result as it came.
    pub async fn call_answer<P: Serialize>(
        &self,
        caller: &Caller,
        method: &str,
        params: P,
    ) -> Result<Answer, ApiError> {
        self.guard(caller, method)?;
        let answer = self
            .answer(caller.upstream_token.as_deref(), method, params)
            .await?;
        not_missing(method, answer)
    }

    /// Calls `method` on behalf of `caller` and decodes the result.
    pub async fn call<T: DeserializeOwned, P: Serialize>(
        &self,
        caller: &Caller,
        method: &str,
        params: P,
    ) -> Result<T, ApiError> {
        let answer = self.call_answer(caller, method, params).await?;
        crate::lotus::gojson::from_str(answer.get()).map_err(|e| {
            ApiError::new(
                Code::UpstreamBadResponse,
                format!("the Lotus node's reply to {method} does not have the expected shape: {e}"),
            )
        })
    }

    /// Asks the node what a token allows (`Filecoin.AuthVerify`, a read method anyone may call).
    /// A token the node refuses is a [`TokenError`]; a node that cannot answer is an [`ApiError`].
    pub async fn auth_verify(&self, token: &str) -> Result<Result<PermSet, TokenError>, ApiError> {
        match self.request(None, "Filecoin.AuthVerify", [token]).await {
            Ok(raw) => {
                let names: Vec<String> = serde_json::from_str(raw.get()).map_err(|e| {
                    ApiError::new(
                        Code::UpstreamBadResponse,
                        format!(
                            "the Lotus node's AuthVerify reply is not a list of permissions: {e}"
                        ),
                    )
                })?;
                Ok(Ok(names.iter().filter_map(|n| n.parse().ok()).collect()))
            }
            Err(UpstreamError::Rpc(_)) | Err(UpstreamError::Unauthorized) => {
                Ok(Err(TokenError::RejectedUpstream))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// One JSON-RPC request, encoded.
fn request_body<P: Serialize>(
    method: &str,
    params: P,
    id: u64,
) -> Result<bytes::Bytes, UpstreamError> {
    serde_json::to_vec(&Request {
        jsonrpc: "2.0",
        method,
        params,
        id,
    })
    .map(bytes::Bytes::from)
    .map_err(|e| UpstreamError::BadResponse(format!("cannot encode the request: {e}")))
}

/// The reply to one JSON-RPC request: its HTTP status and body read as the result, or what went wrong. The result
/// is checked to be JSON, not decoded, and stays in the reply's bytes.
fn read_reply(status: u16, body: bytes::Bytes, id: u64) -> Result<Answer, UpstreamError> {
    match status {
        401 => return Err(UpstreamError::Unauthorized),
        429 | 503 => {
            return Err(UpstreamError::Unavailable(format!(
                "the Lotus node answered HTTP {status}: {}",
                snippet(&body)
            )))
        }
        _ => {}
    }
    let not_a_response = |e: &dyn fmt::Display| {
        let why = format!(
            "HTTP {status} with a body that is not a JSON-RPC response ({e}): {}",
            snippet(&body)
        );
        if (500..600).contains(&status) {
            UpstreamError::Failing(why)
        } else {
            UpstreamError::BadResponse(why)
        }
    };
    let text = bytestring::ByteString::try_from(body.clone()).map_err(|e| not_a_response(&e))?;
    // A success in the shape nodes write is found without decoding the reply; anything else is read in full.
    if (200..300).contains(&status) {
        if let Some(result) = crate::lotus::rpc::quick_result(&text, id) {
            return Ok(Answer(text.slice_ref(result)));
        }
    }
    let reply: Response<'_> = serde_json::from_str(&text).map_err(|e| not_a_response(&e))?;
    // Lotus answers parse and protocol errors without an id; anything else must carry ours.
    match &reply.id {
        Some(v) if v.as_u64() == Some(id) => {}
        None | Some(serde_json::Value::Null) if reply.error.is_some() => {}
        other => {
            return Err(UpstreamError::BadResponse(format!(
                "reply id {} does not match request id {id}",
                other
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(none)".into())
            )))
        }
    }
    if let Some(err) = reply.error {
        return Err(UpstreamError::Rpc(err));
    }
    Ok(Answer(match reply.result {
        // A borrowed raw value is a slice of the text it was read from: the answer shares the reply's bytes.
        Some(raw) => text.slice_ref(raw.get()),
        None => bytestring::ByteString::from_static("null"),
    }))
}

/// A reply longer than `[FullNode] MaxResponseBytes`.
fn too_large(limit: usize) -> UpstreamError {
    UpstreamError::BadResponse(format!(
        "the reply is larger than the limit of {limit} bytes ([FullNode] MaxResponseBytes)"
    ))
}

/// Where the gateway learns the head's height without asking the node (its head stream), when it can.
pub type HeadSource = Arc<dyn Fn() -> Option<i64> + Send + Sync>;

/// Tipset keys and Ethereum block hashes whose heights are kept: they never change.
const HEIGHTS_KEPT: usize = 10_000;

/// How long a head read from the node (when the head stream is not at hand) is used for the lookback cap.
const HEAD_POLL: Duration = Duration::from_secs(5);

/// The lookback cap: the oldest height any call may reach is `cap` epochs below the head.
pub struct History {
    cap: i64,
    head: HeadSource,
    polled: Mutex<Option<(i64, std::time::Instant)>>,
    heights: quick_cache::sync::Cache<String, i64>,
}

#[derive(Deserialize)]
struct HeightOf {
    #[serde(rename = "Height")]
    height: i64,
}

impl History {
    async fn head(&self, client: &Client, token: Option<&str>) -> Result<i64, UpstreamError> {
        if let Some(h) = (self.head)() {
            return Ok(h);
        }
        if let Some((h, at)) = *self.polled.lock().unwrap_or_else(|e| e.into_inner()) {
            if at.elapsed() < HEAD_POLL {
                return Ok(h);
            }
        }
        let raw = client
            .transport(token, "Filecoin.ChainHead", serde_json::json!([]))
            .await?;
        let head: HeightOf = serde_json::from_str(raw.get())
            .map_err(|e| UpstreamError::BadResponse(format!("the head has no height: {e}")))?;
        *self.polled.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((head.height, std::time::Instant::now()));
        Ok(head.height)
    }

    fn refuse(&self, what: &str, head: i64) -> UpstreamError {
        let (cap, oldest) = (self.cap, head - self.cap);
        UpstreamError::Refused(format!(
            "{what} is more than {cap} epochs below the head ({head}): this gateway serves tipsets and state back \
             to height {oldest} only ([Chain] MaxLookback)"
        ))
    }

    async fn check_height(
        &self,
        client: &Client,
        token: Option<&str>,
        what: &str,
        height: i64,
    ) -> Result<(), UpstreamError> {
        let head = self.head(client, token).await?;
        if height < head - self.cap {
            return Err(self.refuse(what, head));
        }
        Ok(())
    }

    /// The height of the tipset `key` names (`None` for the head), asked of the node once and then kept.
    async fn key_height(
        &self,
        client: &Client,
        token: Option<&str>,
        key: &serde_json::Value,
    ) -> Result<Option<i64>, UpstreamError> {
        if key.is_null() || key.as_array().is_some_and(|k| k.is_empty()) {
            return Ok(None);
        }
        let text = key.to_string();
        if let Some(h) = self.heights.get(&text) {
            return Ok(Some(h));
        }
        let raw = client
            .transport(token, "Filecoin.ChainGetTipSet", serde_json::json!([key]))
            .await?;
        match serde_json::from_str::<HeightOf>(raw.get()) {
            Ok(ts) => {
                self.heights.insert(text, ts.height);
                Ok(Some(ts.height))
            }
            // Not a tipset the node knows: the call itself gets the node's own answer.
            Err(_) => Ok(None),
        }
    }

    /// The height of the Ethereum block with this hash, asked of the node once and then kept.
    async fn eth_hash_height(
        &self,
        client: &Client,
        token: Option<&str>,
        hash: &str,
    ) -> Result<Option<i64>, UpstreamError> {
        if let Some(h) = self.heights.get(hash) {
            return Ok(Some(h));
        }
        #[derive(Deserialize)]
        struct Block {
            number: serde_json::Value,
        }
        let raw = client
            .transport(
                token,
                "Filecoin.EthGetBlockByHash",
                serde_json::json!([hash, false]),
            )
            .await?;
        let height = serde_json::from_str::<Block>(raw.get())
            .ok()
            .and_then(|b| crate::lotus::history::eth_quantity(&b.number));
        if let Some(h) = height {
            self.heights.insert(hash.to_string(), h);
        }
        Ok(height)
    }

    async fn check_key(
        &self,
        client: &Client,
        token: Option<&str>,
        key: &serde_json::Value,
    ) -> Result<(), UpstreamError> {
        if let Some(h) = self.key_height(client, token, key).await? {
            let what = format!("the tipset {key} (height {h})");
            self.check_height(client, token, &what, h).await?;
        }
        Ok(())
    }

    async fn check_eth(
        &self,
        client: &Client,
        token: Option<&str>,
        block: crate::lotus::history::EthBlockRef,
        below: i64,
    ) -> Result<(), UpstreamError> {
        use crate::lotus::history::EthBlockRef;
        let height = match block {
            EthBlockRef::Height(h) => h,
            EthBlockRef::BelowHead(n) => self.head(client, token).await?.saturating_sub(n),
            EthBlockRef::Earliest => {
                return Err(UpstreamError::Refused(format!(
                    "block \"earliest\" is the genesis, more than {} epochs below the head: this gateway serves \
                     the last {} epochs only ([Chain] MaxLookback)",
                    self.cap, self.cap
                )))
            }
            EthBlockRef::Hash(hash) => match self.eth_hash_height(client, token, &hash).await? {
                Some(h) => h,
                None => return Ok(()),
            },
            EthBlockRef::Other => return Ok(()),
        };
        let what = if below > 0 {
            format!(
                "height {} ({below} blocks below block {height})",
                height.saturating_sub(below)
            )
        } else {
            format!("height {height}")
        };
        self.check_height(client, token, &what, height.saturating_sub(below))
            .await
    }

    /// Checks every parameter of `method` that selects history; the parameters to send, with a search bound of
    /// "no limit" (or more than the cap) brought down to the cap, as Lotus's own gateway does.
    async fn vet(
        &self,
        client: &Client,
        token: Option<&str>,
        method: &str,
        mut params: serde_json::Value,
    ) -> Result<serde_json::Value, UpstreamError> {
        use crate::lotus::history::{
            eth_block, eth_block_param, eth_quantity, selectors, Selector,
        };
        for &(at, selector) in selectors(method) {
            let Some(value) = params.get(at).cloned() else {
                continue;
            };
            match selector {
                Selector::TipsetKey => self.check_key(client, token, &value).await?,
                Selector::Height => {
                    if let Some(h) = value.as_i64() {
                        self.check_height(client, token, &format!("height {h}"), h)
                            .await?;
                    }
                }
                Selector::SearchLimit => {
                    if value.as_i64().is_some_and(|n| n < 0 || n > self.cap) {
                        params[at] = serde_json::json!(self.cap);
                    }
                }
                Selector::Depth => {
                    if let Some(n) = value.as_i64().filter(|n| *n > self.cap) {
                        return Err(UpstreamError::Refused(format!(
                            "a lookback of {n} epochs is more than this gateway serves: {} at most ([Chain] \
                             MaxLookback)",
                            self.cap
                        )));
                    }
                }
                Selector::EthBlock => self.check_eth(client, token, eth_block(&value), 0).await?,
                Selector::EthBlockParam => {
                    self.check_eth(client, token, eth_block_param(&value), 0)
                        .await?
                }
                Selector::EthBlockHash => {
                    if let Some(hash) = value.as_str() {
                        let block = crate::lotus::history::EthBlockRef::Hash(hash.to_string());
                        self.check_eth(client, token, block, 0).await?;
                    }
                }
                Selector::EthFilter => {
                    for field in ["fromBlock", "toBlock"] {
                        if let Some(v) = value.get(field) {
                            self.check_eth(client, token, eth_block(v), 0).await?;
                        }
                    }
                    if let Some(hash) = value.get("blockHash").and_then(|h| h.as_str()) {
                        let block = crate::lotus::history::EthBlockRef::Hash(hash.to_string());
                        self.check_eth(client, token, block, 0).await?;
                    }
                }
                Selector::EthFeeHistory => {
                    let count = eth_quantity(&value).unwrap_or(0).max(0);
                    if let Some(newest) = params.get(at + 1) {
                        self.check_eth(client, token, eth_block(newest), count)
                            .await?;
                    }
                }
                Selector::ActorEventFilter => {
                    if let Some(h) = value.get("fromHeight").and_then(|h| h.as_i64()) {
                        self.check_height(client, token, &format!("fromHeight {h}"), h)
                            .await?;
                    }
                    if let Some(key) = value.get("tipsetKey") {
                        self.check_key(client, token, key).await?;
                    }
                }
            }
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_the_node_s_own_text_and_shares_the_reply_s_bytes() {
        let body = bytes::Bytes::from_static(
            b"{\"jsonrpc\":\"2.0\",\"result\":{ \"Height\" : 10,\"Cids\":[]},\"id\":7}\n",
        );
        let answer = read_reply(200, body.clone(), 7).unwrap();
        assert_eq!(answer.get(), "{ \"Height\" : 10,\"Cids\":[]}");
        assert!(body.as_ptr_range().contains(&answer.get().as_ptr()));
        let none = read_reply(200, bytes::Bytes::from_static(b"{\"id\":7}"), 7).unwrap();
        assert_eq!(none.get(), "null");
    }

    #[test]
    fn a_reply_that_is_not_the_answer_to_the_call_is_refused_and_says_why() {
        let read = |status: u16, body: &'static [u8]| {
            read_reply(status, bytes::Bytes::from_static(body), 7).unwrap_err()
        };
        let bad = |e: UpstreamError, what: &str| match e {
            UpstreamError::BadResponse(why) => assert!(why.contains(what), "{why}"),
            other => panic!("{other:?}"),
        };
        bad(
            read(200, b"{\"result\":1,\"id\":8}"),
            "reply id 8 does not match request id 7",
        );
        bad(read(200, b"{\"result\":1}"), "reply id (none)");
        bad(
            read(200, b"{\"result\":[1,},\"id\":7}"),
            "not a JSON-RPC response",
        );
        bad(
            read(200, b"{\"result\":\"\xff\",\"id\":7}"),
            "not a JSON-RPC response",
        );
        assert!(matches!(
            read(502, b"Bad Gateway"),
            UpstreamError::Failing(_)
        ));
        assert_eq!(read(401, b""), UpstreamError::Unauthorized);
        assert!(matches!(read(503, b"busy"), UpstreamError::Unavailable(_)));
        match read(
            200,
            b"{\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error\"}}",
        ) {
            UpstreamError::Rpc(e) => {
                assert_eq!((e.code, e.message.as_str()), (-32700, "parse error"))
            }
            other => panic!("{other:?}"),
        }
    }
}
