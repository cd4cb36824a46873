//! Liveness and readiness, for orchestrators and load balancers. They need no token.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Code};
use crate::lotus::types::HeightAndTime;
use crate::state::AppState;

/// The answer of the health endpoints.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    #[schema(example = "ok")]
    pub status: String,
    /// For `/readyz`: each configured upstream and how it answered.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub upstreams: BTreeMap<String, UpstreamHealth>,
}

/// How an upstream answered the readiness check.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UpstreamHealth {
    /// `ok` when it answers and is in sync.
    #[schema(example = "ok")]
    pub status: String,
    /// The height of the node's head.
    #[schema(example = 4863283)]
    pub head_height: i64,
    /// How far the head's timestamp is behind the gateway's clock, in seconds.
    #[schema(example = 12)]
    pub sync_lag_seconds: u64,
}

/// Whether the process is up.
///
/// Answers 200 while the gateway runs; it does not contact the node.
#[utoipa::path(
    tag = "Health",
    responses((status = 200, description = "The gateway is up", body = Health)),
    security(())
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        upstreams: BTreeMap::new(),
    })
}

/// Prometheus metrics.
///
/// In Prometheus's text format: requests by route, method and status, latency histograms by route, upstream calls
/// by Lotus method with latency and errors, requests in flight, the node's reachability, head height and sync lag,
/// the response and token verification caches, live streams and WebSocket connections with their caps, and rate
/// limit refusals. The README lists every series with its labels.
#[utoipa::path(
    tag = "Health",
    responses((status = 200, description = "The metrics", body = String,
        content_type = "text/plain; version=0.0.4")),
    security(())
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &state.metrics;
    metrics.set_cache_entries(state.node.cached_entries());
    metrics.set_streams(
        state.streams.open_streams(),
        state.streams.queued_events(),
        state.streams.upstream_subscriptions(),
        state.streams.cut_off(),
    );
    metrics.set_caps(
        state.streams.settings().max_streams,
        state.limits.max_sockets,
    );
    for (limit, buckets) in [
        ("address", &state.limits.per_ip),
        ("token", &state.limits.per_token),
    ] {
        if let Some(buckets) = buckets {
            metrics.set_rate_limited(
                limit,
                buckets.refused(),
                buckets.callers_refused_within(crate::metrics::RATE_LIMITED_WINDOW),
            );
        }
    }
    metrics.set_node_head(node_head(&state).await);
    if let Some(redis) = state.cluster.as_ref() {
        metrics.set_redis(redis.is_up(), redis.fallbacks());
    }
    if let Some(pool) = state.node.pool() {
        for node in &pool.nodes {
            metrics.set_pool_node(
                &node.name,
                node.is_up(),
                pool.standing(node) == crate::pool::Standing::Serving,
                node.head(),
            );
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

/// How long a scrape waits for the node's head when the gateway is not following it from the node's stream.
const HEAD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The node's head for the metrics, as (height, timestamp of its first block): the one the gateway follows from the
/// node's stream, else a `ChainHead` (shared with `/readyz`, read at most every 2 s), waited for at most
/// [`HEAD_WAIT`]; `None` when the node does not answer in time.
async fn node_head(state: &AppState) -> Option<(i64, u64)> {
    state.node.url()?;
    let head = actix_web::rt::time::timeout(HEAD_WAIT, current_head(state))
        .await
        .ok()?
        .ok()?;
    let head: HeightAndTime = serde_json::from_str(&head).ok()?;
    Some((head.height, head.timestamp()?))
}

/// The node's head: the one the gateway follows from the node's stream; else one `ChainHead`, shared by concurrent
/// callers and kept for a moment ([`crate::state::READY_FOR`]), so that probes and scrapes cost the node one call
/// in that time at most, however many come.
async fn current_head(state: &AppState) -> Result<std::sync::Arc<str>, String> {
    match state.streamed_head() {
        Some(head) => Ok(head),
        None => {
            state
                .readiness
                .head(&state.node, state.auth.upstream_token.as_deref())
                .await
        }
    }
}

/// Whether the node answers and is in sync.
///
/// Answers 200 when the node answers `Filecoin.ChainHead` and its head is no further behind the clock than
/// `[FullNode] MaxSyncLag`; 503 with the reason when not. The head is the one the gateway follows from the node's
/// head stream, or one read at most every 2 s, whatever the number of probes.
#[utoipa::path(
    tag = "Health",
    responses(
        (status = 200, description = "The node answers and is in sync", body = Health),
        (status = 503, description = "The node does not answer or lags; `detail` says why", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let not_ready =
        |why: String| ApiError::new(Code::UpstreamUnavailable, format!("not ready: node: {why}"));
    let head = current_head(&state).await.map_err(not_ready)?;
    let head: HeightAndTime = serde_json::from_str(&head)
        .map_err(|e| not_ready(format!("the ChainHead reply is not a tipset: {e}")))?;
    let timestamp = head.timestamp().unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let lag = now.saturating_sub(timestamp);
    let max = state.readiness.max_sync_lag;
    if !max.is_zero() && lag > max.as_secs() {
        return Err(not_ready(format!(
            "the head (height {}) is {lag} s behind the clock, more than [FullNode] MaxSyncLag ({} s): the node is \
             still syncing",
            head.height,
            max.as_secs()
        )));
    }
    let mut upstreams = BTreeMap::new();
    upstreams.insert(
        "node".to_string(),
        UpstreamHealth {
            status: "ok".into(),
            head_height: head.height,
            sync_lag_seconds: lag,
        },
    );
    // A pool: each node, as its last health probe found it (`ok`, `lagging` or `down`).
    if let Some(pool) = state.node.pool() {
        for node in &pool.nodes {
            upstreams.insert(
                node.name.clone(),
                UpstreamHealth {
                    status: pool.standing(node).as_str().into(),
                    head_height: node.head().unwrap_or(-1),
                    sync_lag_seconds: node.head_timestamp().map_or(0, |t| now.saturating_sub(t)),
                },
            );
        }
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".into(),
        upstreams,
    }))
}
