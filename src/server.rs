//! Putting the pieces together: the application state from the settings, and the HTTP server.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{web, HttpServer};

use crate::auth::{AuthConfig, AuthMode, Secret, Verifier, VerifyCache};
use crate::settings::{SecretSource, Settings};
use crate::state::{AppState, Network};
use crate::upstream::{Client, ClientOptions};

/// How many token verdicts of the node are remembered at most.
const VERIFY_CACHE_CAPACITY: usize = 10_000;

/// Builds the application state: the node client and the token verifier.
pub fn state(settings: &Settings) -> Result<AppState, String> {
    crate::routes::page::init_cursor_key(settings.cursor_secret.as_deref());
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
    let redis = match &settings.redis_url {
        Some(url) => {
            Some(crate::cluster::Redis::new(url).map_err(|e| format!("[Cluster] RedisUrl: {e}"))?)
        }
        None => None,
    };
    let head_feed: std::sync::Arc<crate::head::HeadFeed> = Default::default();
    let feed = head_feed.clone();
    let node = Client::new(
        ClientOptions {
            url: settings.node.as_ref().map(|n| n.url.clone()),
            timeout: settings.node_timeout,
            connect_timeout: settings.node_connect_timeout,
            max_idle_per_host: settings.node_max_idle,
            max_concurrent: settings.node_max_concurrent,
            queue_timeout: settings.node_queue_timeout,
            max_response_bytes: settings.node_max_response_bytes,
            not_configured:
                "no Lotus node is configured: set [FullNode] ApiInfo in the config file, \
                             FULLNODE_API_INFO, or LOTUS_PATH to a Lotus repo"
                    .to_string(),
            ca_file: settings.node_ca_file.clone(),
            name: "node",
            pool: settings
                .node
                .iter()
                .chain(&settings.more_nodes)
                .map(|n| (n.url.clone(), n.token.clone()))
                .collect(),
            health_interval: settings.node_health_interval,
            max_head_lag: settings.node_max_head_lag,
        },
        crate::lotus::methods::with_extra(
            crate::lotus::methods::FULL_NODE,
            &settings.extra_methods,
        ),
    )?
    .with_metrics(metrics.clone())
    .with_cache(settings.cache_entries)
    .with_lookback(
        settings.max_lookback,
        std::sync::Arc::new(move || feed.height()),
    );
    let verifier = match (&settings.secret, settings.auth_mode) {
        (SecretSource::File(path), AuthMode::Own) => Verifier::Local(Secret::load_or_create(path)?),
        (SecretSource::File(path), AuthMode::Passthrough) => Verifier::Local(Secret::load(path)?),
        (SecretSource::Upstream, _) => Verifier::Upstream(
            VerifyCache::new(settings.verify_cache_ttl, VERIFY_CACHE_CAPACITY)
                .shared(redis.clone(), "node"),
        ),
    };
    let miner = Client::new(
        ClientOptions {
            url: settings.miner.as_ref().map(|m| m.url.clone()),
            timeout: settings.miner_timeout,
            connect_timeout: settings.node_connect_timeout,
            max_idle_per_host: settings.node_max_idle,
            max_concurrent: settings.node_max_concurrent,
            queue_timeout: settings.node_queue_timeout,
            max_response_bytes: settings.node_max_response_bytes,
            not_configured:
                "no Lotus miner is configured: set [Miner] ApiInfo in the config file, \
                             MINER_API_INFO, or LOTUS_MINER_PATH to a miner repo"
                    .to_string(),
            ca_file: settings.node_ca_file.clone(),
            name: "miner",
            pool: Vec::new(),
            health_interval: settings.node_health_interval,
            max_head_lag: settings.node_max_head_lag,
        },
        crate::lotus::methods::MINER,
    )?
    .with_metrics(metrics.clone());
    let miner_verifier = match (&verifier, settings.auth_mode, &settings.miner_secret) {
        // own mode: the gateway's tokens serve for both upstreams.
        (Verifier::Local(secret), AuthMode::Own, _) => Verifier::Local(secret.clone()),
        (_, _, SecretSource::File(path)) => Verifier::Local(Secret::load(path)?),
        _ => Verifier::Upstream(
            VerifyCache::new(settings.verify_cache_ttl, VERIFY_CACHE_CAPACITY)
                .shared(redis.clone(), "miner"),
        ),
    };
    let miner_auth = AuthConfig {
        mode: settings.auth_mode,
        verifier: miner_verifier,
        anonymous: settings.anonymous,
        upstream_token: settings.miner_upstream_token.clone(),
    };
    let node_ws = node_stream(&node, settings.upstream_token.clone());
    Ok(AppState {
        auth: AuthConfig {
            mode: settings.auth_mode,
            verifier,
            anonymous: settings.anonymous,
            upstream_token: settings.upstream_token.clone(),
        },
        node,
        miner,
        miner_auth,
        network: Network::new(settings.address_network),
        metrics,
        head: crate::state::HeadTracker::default(),
        head_feed,
        lists: crate::state::ListCache::new(settings.cache_entries > 0),
        streams: std::sync::Arc::new(
            crate::streams::Hub::new(settings.streams.clone(), node_ws).shared(redis.clone()),
        ),
        limits: crate::state::Limits {
            per_token: (settings.rate_per_token > 0.0).then(|| {
                crate::ratelimit::Buckets::new(
                    settings.rate_per_token,
                    (settings.rate_per_token * settings.burst_seconds).max(3.0),
                )
                .shared(redis.clone())
            }),
            per_ip: (settings.rate_per_ip > 0.0).then(|| {
                crate::ratelimit::Buckets::new(
                    settings.rate_per_ip,
                    (settings.rate_per_ip * settings.burst_seconds).max(3.0),
                )
                .shared(redis.clone())
            }),
            weights: crate::app::Spec::shared(settings.anonymous.contains(crate::auth::Perm::Read))
                .weights(),
            max_lookback: settings.max_lookback,
            public: settings.public,
            max_batch: settings.max_batch,
            batch_concurrency: settings.batch_concurrency,
            max_batch_reply_bytes: settings.max_batch_reply_bytes,
            sockets: Default::default(),
            max_sockets: settings.max_sockets,
            max_message_bytes: settings.max_body_bytes,
            max_filters: settings.max_filters,
            slow_client_timeout: settings.slow_client_timeout,
        },
        readiness: crate::state::Readiness::new(settings.node_max_sync_lag),
        cluster: redis,
    })
}

/// Where the gateway's own subscriptions to the node (its head, the live streams) connect: the node, or with a pool
/// of nodes, at each (re)connection the first node that serves reads (the first node while it does), with that
/// node's own token where the gateway sends its own.
fn node_stream(node: &Client, token: Option<String>) -> Option<crate::streams::Upstream> {
    let url = node.url().and_then(crate::head::ws_url)?;
    let choose: Option<crate::streams::Choose> = node.pool().is_some().then(|| {
        let (node, first) = (node.clone(), (url.clone(), token.clone()));
        std::sync::Arc::new(move || {
            node.stream_target(first.1.as_deref())
                .and_then(|(http, token)| Some((crate::head::ws_url(&http)?, token)))
                .unwrap_or_else(|| first.clone())
        }) as crate::streams::Choose
    });
    Some(crate::streams::Upstream { url, token, choose })
}

/// Learns the node's address network in the background, retrying until the node answers.
fn learn_network(state: web::Data<AppState>) {
    if state.network.is_known() || state.node.url().is_none() {
        return;
    }
    actix_web::rt::spawn(async move {
        let mut delay = Duration::from_millis(200);
        loop {
            let token = state.auth.upstream_token.as_deref();
            match state
                .node
                .request(token, "Filecoin.StateNetworkName", serde_json::json!([]))
                .await
                .map(|raw| serde_json::from_str::<String>(raw.get()))
            {
                Ok(Ok(name)) => {
                    state.network.learn(&name);
                    log::info!(
                        "the node is on network {name}; it prints addresses with the '{}' prefix (both are accepted)",
                        state.network.prefix().unwrap_or('?')
                    );
                    return;
                }
                other => log::debug!("network name not known yet: {other:?}"),
            }
            actix_web::rt::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    });
}

/// Starts the gateway on a bound listener. The server runs on the current actix/tokio runtime.
pub fn serve(
    settings: &Settings,
    state: AppState,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    serve_with_workers(settings, state, listener, None)
}

/// As [`serve`], with this many HTTP worker threads instead of one per CPU core (`None`), for tests that run many
/// gateways side by side.
pub fn serve_with_workers(
    settings: &Settings,
    state: AppState,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<actix_web::dev::Server> {
    let state = web::Data::new(state);
    let spec = crate::app::Spec::shared(settings.anonymous.contains(crate::auth::Perm::Read));
    learn_network(state.clone());
    state.node.watch_pool();
    if let Some(redis) = &state.cluster {
        redis.start();
    }
    if settings.head_from_stream {
        // The head follows the node where the streams do.
        if let Some(upstream) = state.streams.upstream().cloned() {
            let tracker = state.clone();
            crate::head::follow(state.head_feed.clone(), upstream, move |height, tipset| {
                tracker.head.observe(height);
                // A pool learns each new head's key, for reads at it.
                if let Some(pool) = tracker.node.pool() {
                    pool.learn("Filecoin.ChainHead", tipset.get());
                }
            });
        }
    }
    let http = crate::app::HttpOptions {
        max_body_bytes: settings.max_body_bytes,
        cors_origins: settings.cors_origins.clone(),
        max_header_bytes: settings.max_header_bytes,
    };
    let streams = state.streams.clone();
    give_back_memory(state.clone());
    let server = HttpServer::new(move || crate::app::app(state.clone(), &spec, &http))
        .on_connect(crate::hangup::on_connect)
        .disable_signals()
        .shutdown_timeout(settings.shutdown_grace.as_millis().div_ceil(1000) as u64)
        .client_request_timeout(settings.client_request_timeout)
        .keep_alive(settings.keep_alive);
    let server = match workers {
        Some(n) => server.workers(n),
        None => server,
    };
    let server = match &settings.tls {
        Some((cert, key)) => {
            let store = crate::tls::CertStore::open(cert, key)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let config = store
                .server_config()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            crate::tls::reload_on_sighup(store);
            server.listen_rustls_0_23(listener, config)?
        }
        None => server.listen(listener)?,
    };
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        if let Err(e) = termination().await {
            log::warn!("cannot watch for SIGTERM and SIGINT: {e}");
            return;
        }
        log::info!(
            "shutting down: the streams end with a `shutdown` event, requests in flight finish"
        );
        streams.shut_down();
        handle.stop(true).await;
    });
    Ok(server)
}

/// Streams and sockets that must have gone (since the most there were) before the allocator is trimmed.
const GONE_BEFORE_TRIM: usize = 1000;

/// Gives memory back to the system once many long-lived connections have gone: after a burst of live-stream or
/// WebSocket clients leaves, the allocator would otherwise keep the pages their buffers used for the life of the
/// process (a gateway that had held 10,000 streams kept about 190 MiB once they had all closed). Checked each
/// second: the allocator is trimmed when at least [`GONE_BEFORE_TRIM`] streams and sockets have gone since the most
/// there were and at most half of them are left.
fn give_back_memory(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut most = 0usize;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let open = state.streams.open_streams()
                + state
                    .limits
                    .sockets
                    .load(std::sync::atomic::Ordering::Relaxed);
            most = most.max(open);
            if most - open >= GONE_BEFORE_TRIM && open <= most / 2 {
                crate::app::release_free_memory();
                most = open;
            }
        }
    });
}

/// Waits for SIGTERM or SIGINT.
async fn termination() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// Binds the configured listen address, warning when it is reachable from the network.
pub fn bind(settings: &Settings) -> Result<TcpListener, String> {
    let authority = settings.listen.authority();
    let listener = TcpListener::bind(&authority).map_err(|e| {
        format!(
            "cannot listen on {} ({authority}): {e}",
            settings.listen_text
        )
    })?;
    if !settings.listen.is_loopback() && settings.tls.is_none() {
        log::warn!(
            "listening on {} which is reachable from the network: tokens and data cross it in clear unless a \
             TLS proxy is in front",
            settings.listen_text
        );
    }
    Ok(listener)
}
