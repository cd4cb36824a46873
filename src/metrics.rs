//! Prometheus metrics: requests by route, method and status with latency; upstream calls by Lotus method with
//! latency and errors; requests in flight; token verification cache hits; the node's head and sync lag; the streams,
//! the sockets and their caps; the callers refused by the rate limits. Each gateway has its own registry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Latency buckets in seconds: from 100 µs (a cached answer) to 30 s (the default upstream timeout).
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    in_flight: IntGauge,
    upstream_calls: IntCounterVec,
    upstream_errors: IntCounterVec,
    upstream_duration: HistogramVec,
    token_cache: IntCounterVec,
    cache: IntCounterVec,
    cache_entries: IntGauge,
    streams: IntGaugeVec,
    sockets: IntGauge,
    socket_subscriptions: IntGauge,
    socket_calls: IntCounterVec,
    streams_max: IntGauge,
    sockets_max: IntGauge,
    node_up: IntGauge,
    /// Absent without `[Cluster] RedisUrl` (no label values until set).
    redis_up: IntGaugeVec,
    redis_fallbacks: IntCounterVec,
    /// A pool's nodes, by node (`upstream="node0"`...): in rotation, serving reads, head height.
    pool_up: IntGaugeVec,
    pool_serving: IntGaugeVec,
    pool_head: IntGaugeVec,
    node_head_height: IntGaugeVec,
    node_sync_lag: IntGaugeVec,
    /// The timestamp of the newest head known, in seconds since the epoch; 0 while none is known.
    node_head_timestamp: AtomicU64,
    rate_limited: IntCounterVec,
    rate_limited_callers: IntGaugeVec,
    /// Held while the counters mirrored from elsewhere are brought up to date.
    mirroring: Mutex<()>,
}

/// The label values of a series without labels, for the gauges that appear only once they have a value.
const NO_LABELS: [&str; 0] = [];

/// The window of `rate_limited_callers`: callers refused within the last minute.
pub const RATE_LIMITED_WINDOW: Duration = Duration::from_secs(60);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("lotus_rest".into()), None).expect("a valid metrics prefix");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request (to the response head), by route",
            )
            .buckets(BUCKETS.to_vec()),
            &["route"],
        )
        .expect("valid metric");
        let in_flight = IntGauge::new("http_requests_in_flight", "HTTP requests being answered")
            .expect("valid metric");
        let upstream_calls = IntCounterVec::new(
            Opts::new(
                "upstream_calls_total",
                "JSON-RPC calls sent to Lotus, by upstream and method",
            ),
            &["upstream", "method"],
        )
        .expect("valid metric");
        let upstream_errors = IntCounterVec::new(
            Opts::new(
                "upstream_errors_total",
                "JSON-RPC calls to Lotus that failed, by upstream, method and kind of failure",
            ),
            &["upstream", "method", "kind"],
        )
        .expect("valid metric");
        let upstream_duration = HistogramVec::new(
            HistogramOpts::new(
                "upstream_call_duration_seconds",
                "Time of a JSON-RPC call to Lotus, by upstream and method",
            )
            .buckets(BUCKETS.to_vec()),
            &["upstream", "method"],
        )
        .expect("valid metric");
        let token_cache = IntCounterVec::new(
            Opts::new(
                "token_verify_cache_total",
                "Token verifications answered from the cache (hit) or by asking the node (miss)",
            ),
            &["result"],
        )
        .expect("valid metric");
        let cache = IntCounterVec::new(
            Opts::new(
                "cache_total",
                "Immutable reads answered from the cache (hit) or by the node (miss)",
            ),
            &["result"],
        )
        .expect("valid metric");
        let cache_entries =
            IntGauge::new("cache_entries", "Answers the cache holds").expect("valid metric");
        let streams = IntGaugeVec::new(
            Opts::new(
                "streams",
                "Live streams: open client streams, events queued for them, upstream subscriptions, clients cut off \
                 for falling behind (since start)",
            ),
            &["what"],
        )
        .expect("valid metric");
        let sockets = IntGauge::new(
            "websocket_connections",
            "JSON-RPC WebSocket connections open",
        )
        .expect("valid metric");
        let socket_subscriptions = IntGauge::new(
            "websocket_subscriptions",
            "Channels (ChainNotify, ...), Ethereum subscriptions and filters held by JSON-RPC WebSocket connections",
        )
        .expect("valid metric");
        let socket_calls = IntCounterVec::new(
            Opts::new(
                "websocket_calls_total",
                "Calls received on JSON-RPC WebSocket connections, by Lotus method and outcome (forwarded or refused)",
            ),
            &["method", "outcome"],
        )
        .expect("valid metric");
        let streams_max = IntGauge::new(
            "streams_max",
            "The most live streams the gateway serves at once ([Streams] MaxStreams)",
        )
        .expect("valid metric");
        let sockets_max = IntGauge::new(
            "websocket_connections_max",
            "The most JSON-RPC WebSocket connections the gateway holds at once ([JsonRpc] MaxSockets)",
        )
        .expect("valid metric");
        let node_up = IntGauge::new(
            "node_up",
            "1 when the node's head was known at this scrape (from the node's ChainNotify stream the gateway \
             follows, or a ChainHead the node answered within 2 s), 0 otherwise",
        )
        .expect("valid metric");
        let redis_up = IntGaugeVec::new(
            Opts::new(
                "cluster_redis_up",
                "With [Cluster] RedisUrl: 1 while Redis answers (rate limits, stream events and token verdicts are \
                 shared by every replica), 0 while this replica works on its own",
            ),
            &[],
        )
        .expect("valid metric");
        let redis_fallbacks = IntCounterVec::new(
            Opts::new(
                "cluster_redis_fallbacks_total",
                "With [Cluster] RedisUrl: operations (rate-limit decisions, stream events numbered, token verdicts) \
                 this replica did on its own because Redis did not answer within 100 ms, failed, or was resting after \
                 a failure",
            ),
            &[],
        )
        .expect("valid metric");
        let pool_up = IntGaugeVec::new(
            Opts::new(
                "pool_node_up",
                "For a pool of nodes, by node: 1 while it is in rotation (it answered its last health probe and \
                 every call since reached it), 0 while it is out",
            ),
            &["upstream"],
        )
        .expect("valid metric");
        let pool_serving = IntGaugeVec::new(
            Opts::new(
                "pool_node_serving_reads",
                "For a pool of nodes, by node: 1 while reads go to it (in rotation, and no more than [FullNode] \
                 MaxHeadLag epochs behind the best head), 0 otherwise",
            ),
            &["upstream"],
        )
        .expect("valid metric");
        let pool_head = IntGaugeVec::new(
            Opts::new(
                "pool_node_head_height",
                "For a pool of nodes, by node: the height of its head at its last answer to a health probe",
            ),
            &["upstream"],
        )
        .expect("valid metric");
        let node_head_height = IntGaugeVec::new(
            Opts::new(
                "node_head_height",
                "The height of the newest head of the node known to the gateway",
            ),
            &[],
        )
        .expect("valid metric");
        let node_sync_lag = IntGaugeVec::new(
            Opts::new(
                "node_sync_lag_seconds",
                "How far the timestamp of the newest head of the node known to the gateway is behind the gateway's \
                 clock, in seconds (as /readyz measures it); it grows while the node is unreachable",
            ),
            &[],
        )
        .expect("valid metric");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests and JSON-RPC calls refused by a rate limit, by limit (address, token, or a WebSocket connection's \
                 own)",
            ),
            &["limit"],
        )
        .expect("valid metric");
        let rate_limited_callers = IntGaugeVec::new(
            Opts::new(
                "rate_limited_callers",
                "Distinct client addresses or tokens refused by a rate limit within the last minute, by limit \
                 (address or token); at most 10000",
            ),
            &["limit"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(cache.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(streams_max.clone()),
            Box::new(sockets_max.clone()),
            Box::new(node_up.clone()),
            Box::new(redis_up.clone()),
            Box::new(redis_fallbacks.clone()),
            Box::new(pool_up.clone()),
            Box::new(pool_serving.clone()),
            Box::new(pool_head.clone()),
            Box::new(node_head_height.clone()),
            Box::new(node_sync_lag.clone()),
            Box::new(rate_limited.clone()),
            Box::new(rate_limited_callers.clone()),
            Box::new(sockets.clone()),
            Box::new(socket_subscriptions.clone()),
            Box::new(socket_calls.clone()),
            Box::new(streams.clone()),
            Box::new(cache_entries.clone()),
            Box::new(requests.clone()),
            Box::new(request_duration.clone()),
            Box::new(in_flight.clone()),
            Box::new(upstream_calls.clone()),
            Box::new(upstream_errors.clone()),
            Box::new(upstream_duration.clone()),
            Box::new(token_cache.clone()),
        ] {
            registry.register(collector).expect("metrics register once");
        }
        Metrics {
            registry,
            requests,
            request_duration,
            in_flight,
            upstream_calls,
            upstream_errors,
            upstream_duration,
            token_cache,
            cache,
            cache_entries,
            streams,
            sockets,
            socket_subscriptions,
            socket_calls,
            streams_max,
            sockets_max,
            node_up,
            redis_up,
            redis_fallbacks,
            pool_up,
            pool_serving,
            pool_head,
            node_head_height,
            node_sync_lag,
            node_head_timestamp: AtomicU64::new(0),
            rate_limited,
            rate_limited_callers,
            mirroring: Mutex::new(()),
        }
    }

    /// Records the caps of the streams and WebSocket connections (`[Streams] MaxStreams`, `[JsonRpc] MaxSockets`).
    pub fn set_caps(&self, max_streams: usize, max_sockets: usize) {
        self.streams_max.set(gauge(max_streams));
        self.sockets_max.set(gauge(max_sockets));
    }

    /// Records what a rate limit (`address` or `token`) has refused since start, and how many callers it refused
    /// within [`RATE_LIMITED_WINDOW`].
    pub fn set_rate_limited(&self, limit: &str, refused: u64, callers: usize) {
        // Two scrapes at once must not both add the same difference.
        let _mirroring = self.mirroring.lock().unwrap_or_else(|e| e.into_inner());
        let counter = self.rate_limited.with_label_values(&[limit]);
        counter.inc_by(refused.saturating_sub(counter.get()));
        self.rate_limited_callers
            .with_label_values(&[limit])
            .set(gauge(callers));
    }

    /// Records the node's head at a scrape, as (height, timestamp), or that it is not known now (`None`): the lag
    /// is then that of the newest head known before, which grows with the clock.
    pub fn set_node_head(&self, head: Option<(i64, u64)>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.set_node_head_at(head, now);
    }

    /// Records whether Redis answers, and how many decisions fell back to this replica's own state in all.
    pub fn set_redis(&self, up: bool, fallbacks: u64) {
        self.redis_up
            .with_label_values(&NO_LABELS)
            .set(i64::from(up));
        let counter = self.redis_fallbacks.with_label_values(&NO_LABELS);
        let seen = counter.get();
        if fallbacks > seen {
            counter.inc_by(fallbacks - seen);
        }
    }

    /// Records how a node of a pool stands at a scrape.
    pub fn set_pool_node(&self, name: &str, up: bool, serving: bool, head: Option<i64>) {
        self.pool_up.with_label_values(&[name]).set(i64::from(up));
        self.pool_serving
            .with_label_values(&[name])
            .set(i64::from(serving));
        if let Some(height) = head {
            self.pool_head.with_label_values(&[name]).set(height);
        }
    }

    fn set_node_head_at(&self, head: Option<(i64, u64)>, now: u64) {
        self.node_up.set(i64::from(head.is_some()));
        if let Some((height, timestamp)) = head {
            self.node_head_height
                .with_label_values(&NO_LABELS)
                .set(height);
            self.node_head_timestamp.store(timestamp, Ordering::Relaxed);
        }
        let timestamp = self.node_head_timestamp.load(Ordering::Relaxed);
        if timestamp > 0 {
            self.node_sync_lag
                .with_label_values(&NO_LABELS)
                .set(gauge(now.saturating_sub(timestamp)));
        }
    }

    pub fn socket_opened(&self) {
        self.sockets.inc();
    }

    pub fn socket_closed(&self) {
        self.sockets.dec();
    }

    /// Records that WebSocket connections hold `delta` more (or fewer) channels, subscriptions and filters.
    pub fn socket_subscriptions(&self, delta: i64) {
        self.socket_subscriptions.add(delta);
    }

    /// Records a call refused by a WebSocket connection's own rate limit (`limit="connection"`).
    pub fn connection_rate_limited(&self) {
        self.rate_limited.with_label_values(&["connection"]).inc();
    }

    /// Records a call received on a WebSocket: `forwarded` to the node, or refused by the gateway.
    pub fn socket_call(&self, method: &str, forwarded: bool) {
        self.socket_calls
            .with_label_values(&[method, if forwarded { "forwarded" } else { "refused" }])
            .inc();
    }

    /// Records the state of the live streams at scrape time.
    pub fn set_streams(&self, open: usize, queued: usize, upstream: usize, cut_off: usize) {
        for (what, n) in [
            ("open", open),
            ("queued_events", queued),
            ("upstream_subscriptions", upstream),
            ("cut_off", cut_off),
        ] {
            self.streams
                .with_label_values(&[what])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    pub fn cache(&self, hit: bool) {
        self.cache
            .with_label_values(&[if hit { "hit" } else { "miss" }])
            .inc();
    }

    pub fn set_cache_entries(&self, n: usize) {
        self.cache_entries.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn request_started(&self) {
        self.in_flight.inc();
    }

    pub fn request_done(&self) {
        self.in_flight.dec();
    }

    pub fn request_finished(&self, route: &str, method: &str, status: &str, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, method, status])
            .inc();
        self.request_duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one upstream call; `error` names the kind of failure, if it failed.
    pub fn upstream_call(
        &self,
        upstream: &str,
        method: &str,
        elapsed: Duration,
        error: Option<&str>,
    ) {
        self.upstream_calls
            .with_label_values(&[upstream, method])
            .inc();
        self.upstream_duration
            .with_label_values(&[upstream, method])
            .observe(elapsed.as_secs_f64());
        if let Some(kind) = error {
            self.upstream_errors
                .with_label_values(&[upstream, method, kind])
                .inc();
        }
    }

    pub fn token_cache(&self, hit: bool) {
        self.token_cache
            .with_label_values(&[if hit { "hit" } else { "miss" }])
            .inc();
    }

    /// The metrics in Prometheus's text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

fn gauge(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// The route pattern a request matched (`/v1/blocks/{cid}`), the label of its metrics. Once the request has been
/// routed, actix-web knows it from the route it took; before, finding it matches the path against the routes again
/// (several regular expressions for a path with parameters), so the middleware asks after the route where it can.
/// It is kept in the request's extensions for every middleware that asks.
pub fn route_of(req: &actix_web::HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    #[derive(Clone)]
    struct Matched(Option<String>);
    if let Some(m) = req.extensions().get::<Matched>() {
        return m.0.clone();
    }
    let found = req.match_pattern();
    req.extensions_mut().insert(Matched(found.clone()));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .map(|l| l[series.len()..].trim())
    }

    #[test]
    fn the_node_gauges_appear_once_a_head_is_known_and_the_lag_grows_without_one() {
        let m = Metrics::new();
        m.set_node_head_at(None, 1_000);
        let text = m.render();
        assert_eq!(line(&text, "lotus_rest_node_up"), Some("0"));
        assert_eq!(line(&text, "lotus_rest_node_head_height"), None, "{text}");
        assert_eq!(line(&text, "lotus_rest_node_sync_lag_seconds"), None);
        m.set_node_head_at(Some((42, 970)), 1_000);
        let text = m.render();
        assert_eq!(line(&text, "lotus_rest_node_up"), Some("1"));
        assert_eq!(line(&text, "lotus_rest_node_head_height"), Some("42"));
        assert_eq!(line(&text, "lotus_rest_node_sync_lag_seconds"), Some("30"));
        // The node stops answering: the newest head known ages with the clock.
        m.set_node_head_at(None, 1_100);
        let text = m.render();
        assert_eq!(line(&text, "lotus_rest_node_up"), Some("0"));
        assert_eq!(line(&text, "lotus_rest_node_head_height"), Some("42"));
        assert_eq!(line(&text, "lotus_rest_node_sync_lag_seconds"), Some("130"));
    }
}
