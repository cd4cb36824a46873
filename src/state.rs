//! What every handler can reach: the application state, its limits, the head it tracks, and the lists kept for
//! paging.

use std::sync::Arc;
use std::sync::OnceLock;

use serde_json::value::RawValue;

use crate::{auth, head, metrics, ratelimit, streams, upstream};

/// What every handler can reach.
pub struct AppState {
    pub auth: auth::AuthConfig,
    pub node: upstream::Client,
    /// The Lotus miner, when one is configured (its routes answer 503 otherwise).
    pub miner: upstream::Client,
    /// How miner tokens are checked: against the miner's secret or by asking the miner.
    pub miner_auth: auth::AuthConfig,
    pub network: Network,
    pub metrics: std::sync::Arc<metrics::Metrics>,
    pub readiness: Readiness,
    pub head: HeadTracker,
    /// The head as the node's ChainNotify stream delivers it.
    pub head_feed: std::sync::Arc<head::HeadFeed>,
    pub limits: Limits,
    /// Whole lists read for paging, pinned to the tipset they were read at.
    pub lists: ListCache,
    /// The live streams and their upstream subscriptions.
    pub streams: std::sync::Arc<streams::Hub>,
    /// Redis, where the replicas of a cluster share rate limits, stream events and token verdicts
    /// (`[Cluster] RedisUrl`).
    pub cluster: Option<std::sync::Arc<crate::cluster::Redis>>,
}

impl AppState {
    /// The head as the first node's ChainNotify stream delivers it, while that stream is open and, in a pool, while
    /// that node is at the best head: otherwise the head is read from a node that is.
    pub fn streamed_head(&self) -> Option<Arc<str>> {
        self.head_streamed()
            .then(|| self.head_feed.head())
            .flatten()
    }

    /// The streamed head's tipset key and height, read once per head, on the same terms as
    /// [`AppState::streamed_head`].
    pub fn streamed_head_key(&self) -> Option<(Arc<serde_json::Value>, i64)> {
        self.head_streamed()
            .then(|| self.head_feed.key_and_height())
            .flatten()
    }

    /// Whether the head is served from the stream now: in a pool, only while the first node is at the best head.
    fn head_streamed(&self) -> bool {
        match self.node.pool() {
            Some(pool) => pool.standing(&pool.nodes[0]) == crate::pool::Standing::Serving,
            None => true,
        }
    }
}

/// Rate limits and the weight of each operation, shared by every worker.
#[derive(Debug, Default)]
pub struct Limits {
    pub per_token: Option<ratelimit::Buckets>,
    pub per_ip: Option<ratelimit::Buckets>,
    /// The cost of each documented operation, by route pattern and method; operations not listed are free.
    pub weights: std::sync::Arc<Weights>,
    /// Reads older than this many epochs below the head are refused; 0: no cap.
    pub max_lookback: i64,
    /// Only read operations are served.
    pub public: bool,
    /// The most calls a JSON-RPC batch may hold.
    pub max_batch: usize,
    /// How many calls of one batch are sent to the node at once.
    pub batch_concurrency: usize,
    /// The most bytes the replies of one batch may add up to.
    pub max_batch_reply_bytes: usize,
    /// WebSocket connections open now, and at most.
    pub sockets: std::sync::atomic::AtomicUsize,
    pub max_sockets: usize,
    /// The largest message a WebSocket client may send.
    pub max_message_bytes: usize,
    /// Ethereum filters and subscriptions one WebSocket connection may hold.
    pub max_filters: usize,
    /// How long a WebSocket client may take to accept one message.
    pub slow_client_timeout: std::time::Duration,
}

/// The cost of each documented operation, by route pattern and method.
pub type Weights = std::collections::HashMap<(String, actix_web::http::Method), u32>;

impl Limits {
    /// The weight of each operation of the OpenAPI document (as JSON): the largest weight of the Lotus methods it
    /// declares calling.
    pub fn weights_from(spec: &serde_json::Value) -> Weights {
        let mut weights = Weights::new();
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            for (verb, op) in item.as_object().into_iter().flatten() {
                let Ok(method) = verb.to_uppercase().parse() else {
                    continue;
                };
                let weight = op["x-lotus-methods"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str())
                    .map(ratelimit::method_weight)
                    .max();
                if let Some(w) = weight {
                    weights.insert((path.clone(), method), w);
                }
            }
        }
        weights
    }
}

/// The highest head height the gateway has seen, to tell final heights from those a reorg may still change.
#[derive(Debug, Default)]
pub struct HeadTracker(std::sync::atomic::AtomicI64);

impl HeadTracker {
    pub fn observe(&self, height: i64) {
        self.0
            .fetch_max(height, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn height(&self) -> Option<i64> {
        let h = self.0.load(std::sync::atomic::Ordering::Relaxed);
        (h > 0).then_some(h)
    }

    /// Whether `height` is at least [`crate::lotus::history::FINALITY`] epochs below the known head.
    pub fn is_final(&self, height: i64) -> bool {
        self.height()
            .is_some_and(|head| height <= head - crate::lotus::history::FINALITY)
    }
}

/// What `/readyz` requires, and the head it last read.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    /// How far the node's head may be behind the clock; zero turns the check off.
    pub max_sync_lag: std::time::Duration,
    /// The node's last answer to `ChainHead` (or why there was none), and when.
    recent: std::sync::Arc<std::sync::Mutex<Option<ReadHead>>>,
}

type ReadHead = (std::time::Instant, Result<std::sync::Arc<str>, String>);

/// How long a head read for `/readyz` answers probes.
pub const READY_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl Readiness {
    pub fn new(max_sync_lag: std::time::Duration) -> Self {
        Readiness {
            max_sync_lag,
            recent: Default::default(),
        }
    }

    /// The node's head, read at most every [`READY_FOR`]; concurrent reads share one call.
    pub async fn head(
        &self,
        node: &upstream::Client,
        token: Option<&str>,
    ) -> Result<std::sync::Arc<str>, String> {
        if let Some((at, result)) = &*self.recent.lock().unwrap_or_else(|e| e.into_inner()) {
            if at.elapsed() < READY_FOR {
                return result.clone();
            }
        }
        let result = node
            .request_shared(token, "Filecoin.ChainHead", serde_json::json!([]))
            .await
            .map_err(|e| e.to_string());
        *self.recent.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), result.clone()));
        result
    }
}

/// The address network prefix (`f` mainnet, `t` testnets) that addresses in requests must carry.
#[derive(Debug, Default)]
pub struct Network {
    configured: Option<char>,
    learned: OnceLock<char>,
}

impl Network {
    /// A fixed prefix, or `None` to learn it from the node's network name.
    pub fn new(configured: Option<char>) -> Self {
        Network {
            configured,
            learned: OnceLock::new(),
        }
    }

    /// The prefix to enforce, once known. Before the node has told its network, either prefix is accepted.
    pub fn prefix(&self) -> Option<char> {
        self.configured.or_else(|| self.learned.get().copied())
    }

    /// Records the node's network name: `mainnet` uses `f`, every other network `t`.
    pub fn learn(&self, network_name: &str) {
        let prefix = if network_name == "mainnet" { 'f' } else { 't' };
        let _ = self.learned.set(prefix);
    }

    pub fn is_known(&self) -> bool {
        self.prefix().is_some()
    }
}

/// How many whole lists the gateway keeps for paging.
pub const CACHED_LISTS: usize = 64;

/// A whole list read for paging, its items as the node wrote them.
pub type Items = Arc<Vec<Box<RawValue>>>;

/// Whole lists kept for paging, keyed by method and parameters at a concrete tipset; none are kept when caching
/// is off (`[Cache] Entries = 0`), and each page then reads its list again at the same tipset.
pub struct ListCache(Option<quick_cache::sync::Cache<String, Items>>);

impl ListCache {
    pub fn new(enabled: bool) -> Self {
        ListCache(enabled.then(|| quick_cache::sync::Cache::new(CACHED_LISTS)))
    }

    pub fn get(&self, key: &str) -> Option<Items> {
        self.0.as_ref()?.get(key)
    }

    pub fn insert(&self, key: String, items: Items) {
        if let Some(cache) = &self.0 {
            cache.insert(key, items);
        }
    }

    /// Forgets one list.
    pub fn remove(&self, key: &str) {
        if let Some(cache) = &self.0 {
            cache.remove(key);
        }
    }

    /// Keeps only the lists whose key passes `keep`.
    pub fn retain(&self, keep: impl Fn(&String, &Items) -> bool) {
        if let Some(cache) = &self.0 {
            cache.retain(keep);
        }
    }
}
