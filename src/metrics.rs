//! Prometheus metrics: requests by route, method and status with latency; upstream calls by Lotus method with
//! latency and errors; requests in flight; token verification cache hits. Each gateway has its own registry.

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
    socket_calls: IntCounterVec,
}

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
        let socket_calls = IntCounterVec::new(
            Opts::new(
                "websocket_calls_total",
                "Calls received on JSON-RPC WebSocket connections, by Lotus method and outcome (forwarded or refused)",
            ),
            &["method", "outcome"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(cache.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(sockets.clone()),
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
            socket_calls,
        }
    }

    pub fn socket_opened(&self) {
        self.sockets.inc();
    }

    pub fn socket_closed(&self) {
        self.sockets.dec();
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

    pub fn request_finished(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
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
