//! Configuration, the way Lotus users already work: built-in defaults, then a TOML file with Lotus-style keys
//! (`[API] ListenAddress`), then `LOTUS_REST_<SECTION>_<KEY>` environment variables, then flags. The full-node
//! upstream comes from the file, then `FULLNODE_API_INFO`, then the Lotus repo (`LOTUS_PATH`, default `~/.lotus`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::addr::{self, ApiInfo, HostPort};
use crate::auth::{AuthMode, Perm, PermSet};

/// The default configuration file, commented; `lotus-rest config default` prints it.
pub const DEFAULT_CONFIG: &str = r#"# lotus-rest configuration. Every key may also be set in the environment as
# LOTUS_REST_<SECTION>_<KEY>, e.g. LOTUS_REST_API_LISTENADDRESS=/ip4/0.0.0.0/tcp/3453/http.

[API]
  # Where the gateway listens: a multiaddr (/ip4/.../tcp/PORT/http, /ip6/.../tcp/PORT/http) or host:port.
  # A non-loopback address is reachable from the network: a warning is logged at start.
  ListenAddress = "/ip4/127.0.0.1/tcp/3453/http"
  # The largest JSON request body accepted, in bytes.
  MaxRequestBodyBytes = 1048576
  # HTTPS: a PEM certificate chain and its private key. TLS is on when both are set or when the listen address
  # ends in /https (or /tls/http). The files are read again on SIGHUP, without dropping connections.
  TlsCertFile = ""
  TlsKeyFile = ""
  # Plain HTTP on an address other than loopback sends tokens across the network in clear: it is refused
  # unless this is true (e.g. in a container behind a TLS-terminating proxy).
  AllowInsecureHttp = false
  # Origins allowed to call the API from a browser (CORS), separated by commas, or "*" for any. Empty: CORS off.
  CorsAllowedOrigins = ""
  # The preset for exposing a node publicly: anonymous read, only read operations served (others are refused
  # with 403), rate limits per client address (RateLimit PerIP, 30 if unset) and a lookback cap
  # (Chain MaxLookback, 2880 epochs = 24 h if unset).
  Public = false
  # The largest request head (request line and headers) accepted, in bytes: then 431. At most 32768, the HTTP
  # server's own ceiling.
  MaxHeaderBytes = 16384
  # How long a client may take to send a request's headers (slow clients cannot pin connections): then 408.
  # At least 1s.
  ClientRequestTimeout = "5s"
  # How long an idle keep-alive connection is kept open.
  KeepAlive = "75s"
  # On SIGTERM or SIGINT: stop accepting, let requests in flight finish for at most this long, then exit.
  ShutdownGracePeriod = "30s"
  # The secret list cursors are signed with, at least 16 characters. Replicas behind one load balancer share it,
  # so a cursor one gave is accepted by the others. Empty: a random key made at start (a restart refuses the
  # cursors given before it).
  CursorSecret = ""

[FullNode]
  # The Lotus node: TOKEN:MULTIADDR as in FULLNODE_API_INFO, or a bare multiaddr or URL.
  # Empty: FULLNODE_API_INFO, then the Lotus repo's "api" and "token" files.
  # A pool of nodes: entries separated by commas (here or in FULLNODE_API_INFO). Reads go to the least loaded
  # healthy node at the best head, and are tried once more on another node when theirs cannot be reached; calls that
  # need more than the read permission (wallet, messages, payment channels, admin) and the message pool go to the
  # first healthy node, the one that holds the keys, and are never sent twice.
  ApiInfo = ""
  # A pool's nodes are asked for their head this often; one that does not answer is out of rotation until it does.
  HealthInterval = "5s"
  # A pool's node whose head is more than this many epochs behind the best head serves no reads.
  MaxHeadLag = 2
  # The Lotus repo to read "api", "token" and the JWT secret from. Empty: $LOTUS_PATH, or ~/.lotus.
  Repo = ""
  # How long one call to the node may take.
  Timeout = "30s"
  # How long connecting to the node may take.
  ConnectTimeout = "5s"
  # Idle keep-alive connections kept open to the node.
  MaxIdleConnections = 64
  # Keep the head fresh from the node's ChainNotify stream (WebSocket), so reading the head costs no call.
  HeadFromStream = true
  # /readyz answers 503 while the node's head is further behind the clock than this ("0s": no check).
  MaxSyncLag = "5m"
  # Calls in flight to the node at most; more wait up to QueueTimeout, then get 503 with Retry-After.
  MaxConcurrentCalls = 256
  QueueTimeout = "2s"
  # The largest reply accepted from the node, in bytes; a larger one is answered 502.
  MaxResponseBytes = 104857600
  # For an https node: a PEM file of CA certificates to trust besides the public CAs.
  CaFile = ""

[Miner]
  # The Lotus miner (lotus-miner run), served under /v1/miner/: TOKEN:MULTIADDR as in MINER_API_INFO, or a bare
  # multiaddr or URL. Empty: MINER_API_INFO, then the miner repo's "api" and "token" files. With none of them the
  # miner routes answer 503.
  ApiInfo = ""
  # The miner repo to read "api", "token" and the miner's JWT secret from. Empty: $LOTUS_MINER_PATH, or ~/.lotusminer.
  Repo = ""
  # passthrough mode: the miner's JWT secret, to verify miner tokens locally. Empty:
  # <repo>/keystore/MF2XI2BNNJ3XILLQOJUXMYLUMU when readable, else tokens are checked by asking the miner.
  # (In own mode the gateway's own tokens are used for the miner routes too, and the miner is called with the
  # token of Miner ApiInfo or the miner repo.)
  SecretFile = ""
  # How long one call to the miner may take.
  Timeout = "30s"

[Auth]
  # passthrough: the caller's Lotus token is verified and forwarded, so the node checks it again.
  # own: tokens are verified with the gateway's own secret; the node is called with UpstreamToken
  #      (or the token of FullNode ApiInfo / the repo).
  Mode = "passthrough"
  # What a request without a token may do: "read" (as Lotus does) or "none".
  Anonymous = "read"
  # The JWT secret, in Lotus's keystore format ({"Type":"jwt-hmac-secret","PrivateKey":"<base64>"}).
  # passthrough, empty: <repo>/keystore/MF2XI2BNNJ3XILLQOJUXMYLUMU when readable, else tokens are checked by
  # asking the node (Filecoin.AuthVerify). own, empty: ~/.lotus-rest/jwt-secret, created (mode 0600) when missing.
  SecretFile = ""
  # own mode: the token the gateway sends to the node. Empty: the token of FullNode ApiInfo or the repo.
  UpstreamToken = ""
  # How long the node's answer about a token is remembered, when tokens are checked by asking the node.
  VerifyCacheTTL = "60s"

[Cache]
  # How many immutable answers (blocks, messages, tipsets by key, state read at a tipset key or at a height
  # beyond finality) are kept in memory; the least recently used go first. 0 turns the cache off.
  Entries = 10000

[RateLimit]
  # Units per second each token (PerToken) and each client address (PerIP) may spend; 0: no limit. A request
  # costs the weight of the Lotus methods its route calls: 3 for State methods, 2 for Chain methods, 1 otherwise.
  # Over the limit: 429 with Retry-After and RateLimit-* headers. Health, metrics and documentation are free.
  PerToken = 0
  PerIP = 0
  # How many seconds of the rate a bucket holds, for bursts.
  BurstSeconds = 2

[Chain]
  # Reads of tipsets and state older than this many epochs below the head are refused with 400; 0: no cap.
  MaxLookback = 0
  # The address network prefix requests must use: "auto" (learned from the node's network name),
  # "f" (mainnet) or "t" (test networks).
  AddressNetwork = "auto"

[Streams]
  # Live streams (/v1/streams/...): how often an idle stream gets a heartbeat (an SSE comment or an empty NDJSON
  # line), so that proxies keep it open.
  Heartbeat = "15s"
  # How many recent events of each stream are kept for clients that reconnect with Last-Event-ID.
  BufferEvents = 1024
  # How many events a client may fall behind before it is cut off with an error event.
  ClientQueue = 256
  # How many streams may be open at once; more get 503 with Retry-After.
  MaxStreams = 1000
  # How many streams one client address, and one token, may hold open at once; more get 429.
  MaxPerClient = 10

[JsonRpc]
  # The JSON-RPC endpoint (/rpc/v1) forwards only the methods of its Lotus method table; others get -32601.
  # Methods the table does not know (e.g. of a newer Lotus) can be allowed here with the permission a token
  # needs for them, separated by commas: "Filecoin.NewMethod:read,Filecoin.OtherMethod:admin".
  ExtraMethods = ""
  # The most calls one JSON-RPC batch may hold; a longer batch is refused whole, nothing sent to the node.
  MaxBatch = 100
  # How many calls of one batch are sent to the node at once (the rest wait their turn).
  BatchConcurrency = 8
  # The most bytes the replies of one batch may add up to; past it, the batch is answered with an error and its
  # remaining calls are not sent.
  MaxBatchResponseBytes = 104857600
  # WebSocket connections (ws://.../rpc/v1) open at once, at most; more get 503. Each also counts against
  # [Streams] MaxPerClient for its client address and token.
  MaxSockets = 1000
  # Ethereum filters and subscriptions (eth_newFilter, eth_subscribe, ...) and channels (ChainNotify, ...) one
  # WebSocket connection may hold.
  MaxFiltersPerConnection = 16
  # A WebSocket client that takes longer than this to accept one message (it stopped reading) is disconnected
  # (close code 1008), so that it holds neither its connection nor the node's call slots.
  SlowClientTimeout = "30s"

[Cluster]
  # Replicas behind one load balancer share their rate-limit budgets, their streams' events (one numbering, so a
  # stream resumes on any replica) and the node's token verdicts in Redis: redis://HOST:PORT[/DB], or
  # redis://:PASSWORD@HOST:PORT, or rediss://... for TLS. Empty: each replica works on its own. While Redis is
  # down or slow (no answer within 100 ms), each replica works on its own; no request fails because of Redis.
  RedisUrl = ""

[Demo]
  # lotus-rest demo: how often the simulated node produces an epoch.
  BlockTime = "5s"
  # lotus-rest demo: the simulated node answers as a node written in Go does (Lotus): empty lists, maps and byte
  # strings as null. The gateway's answers keep the shapes its spec promises either way.
  GoNulls = true
"#;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    api: RawApi,
    fullnode: RawFullNode,
    miner: RawMiner,
    auth: RawAuth,
    chain: RawChain,
    cache: RawCache,
    ratelimit: RawRateLimit,
    jsonrpc: RawJsonRpc,
    streams: RawStreams,
    cluster: RawCluster,
    demo: RawDemo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    redisurl: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStreams {
    heartbeat: String,
    bufferevents: u64,
    clientqueue: u64,
    maxstreams: u64,
    maxperclient: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJsonRpc {
    extramethods: String,
    maxbatch: u64,
    batchconcurrency: u64,
    maxbatchresponsebytes: u64,
    maxsockets: u64,
    maxfiltersperconnection: u64,
    slowclienttimeout: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    pertoken: f64,
    perip: f64,
    burstseconds: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    entries: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    listenaddress: String,
    maxrequestbodybytes: u64,
    tlscertfile: String,
    tlskeyfile: String,
    allowinsecurehttp: bool,
    corsallowedorigins: String,
    clientrequesttimeout: String,
    maxheaderbytes: u64,
    keepalive: String,
    public: bool,
    shutdowngraceperiod: String,
    cursorsecret: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFullNode {
    apiinfo: String,
    repo: String,
    timeout: String,
    connecttimeout: String,
    maxidleconnections: u64,
    maxsynclag: String,
    maxconcurrentcalls: u64,
    maxresponsebytes: u64,
    queuetimeout: String,
    headfromstream: bool,
    cafile: String,
    healthinterval: String,
    maxheadlag: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMiner {
    apiinfo: String,
    repo: String,
    secretfile: String,
    timeout: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    mode: String,
    anonymous: String,
    secretfile: String,
    upstreamtoken: String,
    verifycachettl: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    addressnetwork: String,
    maxlookback: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemo {
    blocktime: String,
    gonulls: bool,
}

/// Where the secret for verifying tokens comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file that must exist (passthrough) or is created when missing (own).
    File(PathBuf),
    /// Ask the node.
    Upstream,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: HostPort,
    pub listen_text: String,
    pub max_body_bytes: usize,
    /// Certificate chain and key files, when the listener speaks TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub allow_insecure_http: bool,
    /// Allowed CORS origins; empty: CORS off; `*`: any.
    pub cors_origins: Vec<String>,
    pub shutdown_grace: Duration,
    /// The secret cursors are signed with; `None`: a random key per process.
    pub cursor_secret: Option<String>,
    pub client_request_timeout: Duration,
    pub max_header_bytes: usize,
    pub keep_alive: Duration,
    pub node_ca_file: Option<PathBuf>,
    pub node_max_sync_lag: Duration,
    pub node_max_concurrent: usize,
    pub node_max_response_bytes: usize,
    pub node_queue_timeout: Duration,
    pub cache_entries: usize,
    pub public: bool,
    /// Units a second per token and per client address; 0: no limit.
    pub rate_per_token: f64,
    pub rate_per_ip: f64,
    pub burst_seconds: f64,
    pub max_lookback: i64,
    pub head_from_stream: bool,
    /// The node, or `None` when no setting names one; the first of a pool.
    pub node: Option<ApiInfo>,
    /// Redis, where the replicas of a cluster share rate limits, stream events and token verdicts
    /// (`[Cluster] RedisUrl`).
    pub redis_url: Option<String>,
    /// The other nodes of a pool (`[FullNode] ApiInfo` with entries separated by commas), in order.
    pub more_nodes: Vec<ApiInfo>,
    /// How often each node of a pool is asked for its head.
    pub node_health_interval: Duration,
    /// A pool's node further behind the best head than this many epochs serves no reads.
    pub node_max_head_lag: i64,
    /// Which setting the node came from, for logs.
    pub node_source: String,
    pub node_timeout: Duration,
    pub node_connect_timeout: Duration,
    pub node_max_idle: usize,
    pub repo: PathBuf,
    pub auth_mode: AuthMode,
    pub anonymous: PermSet,
    pub secret: SecretSource,
    pub upstream_token: Option<String>,
    pub verify_cache_ttl: Duration,
    pub address_network: Option<char>,
    pub demo_block_time: Duration,
    /// Whether the demo's simulated node answers with Go's nulls.
    pub demo_go_nulls: bool,
    /// Methods beyond the Lotus method table that the JSON-RPC endpoint forwards, with their permission.
    pub extra_methods: Vec<(String, Perm)>,
    pub max_batch: usize,
    pub batch_concurrency: usize,
    pub max_batch_reply_bytes: usize,
    pub max_sockets: usize,
    pub max_filters: usize,
    /// How long a WebSocket client may take to accept one message.
    pub slow_client_timeout: Duration,
    pub streams: crate::streams::StreamSettings,
    /// The miner, or `None` when no setting names one.
    pub miner: Option<ApiInfo>,
    /// Which setting the miner came from, for logs.
    pub miner_source: String,
    pub miner_repo: PathBuf,
    /// Where miner tokens are verified in passthrough mode.
    pub miner_secret: SecretSource,
    /// The token sent to the miner in own mode.
    pub miner_upstream_token: Option<String>,
    pub miner_timeout: Duration,
}

/// What the command line adds on top of the file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
}

/// The environment the settings read besides `LOTUS_REST_*` (kept apart so tests can supply their own).
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub fullnode_api_info: Option<String>,
    pub lotus_path: Option<String>,
    pub miner_api_info: Option<String>,
    pub lotus_miner_path: Option<String>,
    pub home: Option<PathBuf>,
    /// `LOTUS_REST_*` variables.
    pub vars: Vec<(String, String)>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            fullnode_api_info: std::env::var("FULLNODE_API_INFO")
                .ok()
                .filter(|v| !v.is_empty()),
            lotus_path: std::env::var("LOTUS_PATH").ok().filter(|v| !v.is_empty()),
            miner_api_info: std::env::var("MINER_API_INFO")
                .ok()
                .filter(|v| !v.is_empty()),
            lotus_miner_path: std::env::var("LOTUS_MINER_PATH")
                .ok()
                .filter(|v| !v.is_empty()),
            home: dirs::home_dir(),
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("LOTUS_REST_"))
                .collect(),
        }
    }
}

fn bad(key: &str, value: &str, expected: &str) -> String {
    format!("invalid value {value:?} for {key}: expected {expected}")
}

fn non_negative(key: &str, value: f64) -> Result<f64, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(bad(
            key,
            &value.to_string(),
            "0 (no limit) or a positive number",
        ))
    }
}

/// A count within `min..=max`.
fn bounded(key: &str, value: u64, min: u64, max: u64) -> Result<usize, String> {
    if (min..=max).contains(&value) {
        Ok(value as usize)
    } else {
        Err(bad(
            key,
            &value.to_string(),
            &format!("a number from {min} to {max}"),
        ))
    }
}

/// `Name:perm, Name:perm`: methods the table does not know, each with the permission it needs.
fn extra_methods(key: &str, value: &str) -> Result<Vec<(String, Perm)>, String> {
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let expected =
            "methods with their permission, e.g. \"Filecoin.NewMethod:read,Filecoin.Other:admin\"";
        let (name, perm) = entry
            .rsplit_once(':')
            .ok_or_else(|| bad(key, value, expected))?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            return Err(bad(key, value, expected));
        }
        let perm: Perm = perm.trim().parse().map_err(|_| {
            bad(
                key,
                value,
                &format!("a permission of read, write, sign or admin after \"{name}:\""),
            )
        })?;
        if let Some(known) = crate::lotus::methods::lookup(crate::lotus::methods::FULL_NODE, name) {
            return Err(bad(
                key,
                value,
                &format!(
                    "methods the table does not know; {name} is known already (it needs '{}')",
                    known.perm
                ),
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(bad(
                key,
                value,
                &format!("each method once; {name} is there twice"),
            ));
        }
        out.push((name.to_string(), perm));
    }
    Ok(out)
}

fn duration(key: &str, value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|e| {
        bad(
            key,
            value,
            &format!("a duration such as \"30s\" or \"1m30s\" ({e})"),
        )
    })
}

/// A duration setting that must be at least `min`, written `shown` in the error.
fn duration_at_least(
    key: &str,
    value: &str,
    min: Duration,
    shown: &str,
) -> Result<Duration, String> {
    match duration(key, value)? {
        d if d >= min => Ok(d),
        _ => Err(bad(key, value, &format!("a duration of at least {shown}"))),
    }
}

fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Lowercases every key of a TOML document, so that `[API] ListenAddress` in a file and
/// `LOTUS_REST_API_LISTENADDRESS` in the environment are one key when the sources are merged.
fn lowercase_toml(text: &str) -> Result<String, String> {
    fn lower(value: toml::Value) -> toml::Value {
        match value {
            toml::Value::Table(table) => toml::Value::Table(
                table
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), lower(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    let value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    toml::to_string(&lower(value)).map_err(|e| e.to_string())
}

impl Settings {
    /// Loads the settings from the defaults, the file, the environment and the overrides.
    pub fn load(overrides: &Overrides, env: &Env) -> Result<Self, String> {
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            &lowercase_toml(DEFAULT_CONFIG).expect("the default configuration is valid TOML"),
            config::FileFormat::Toml,
        ));
        if let Some(path) = &overrides.config_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
            let text = lowercase_toml(&text)
                .map_err(|e| format!("config file {} is not valid TOML: {e}", path.display()))?;
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
        }
        let vars: std::collections::HashMap<String, String> = env.vars.iter().cloned().collect();
        builder = builder.add_source(
            config::Environment::with_prefix("LOTUS_REST")
                .separator("_")
                .try_parsing(true)
                .source(Some(vars)),
        );
        let merged = builder
            .build()
            .map_err(|e| format!("cannot read the configuration: {e}"))?;
        let value: serde_json::Value = merged
            .try_deserialize()
            .map_err(|e| format!("cannot read the configuration: {e}"))?;
        let raw: Raw = serde_json::from_value(value).map_err(|e| {
            format!("invalid configuration: {e} (see `lotus-rest config default` for every key)")
        })?;
        Self::resolve(raw, overrides, env)
    }

    fn resolve(raw: Raw, overrides: &Overrides, env: &Env) -> Result<Self, String> {
        let listen_text = overrides
            .listen
            .clone()
            .unwrap_or_else(|| raw.api.listenaddress.clone());
        let listen_key = if overrides.listen.is_some() {
            "--listen"
        } else {
            "[API] ListenAddress"
        };
        let listen = addr::parse_host_port(&listen_text)
            .map_err(|e| format!("invalid value {listen_text:?} for {listen_key}: {e}"))?;

        let home = env.home.as_deref();
        let repo = if !raw.fullnode.repo.trim().is_empty() {
            expand_home(raw.fullnode.repo.trim(), home)
        } else if let Some(path) = &env.lotus_path {
            expand_home(path, home)
        } else {
            expand_home("~/.lotus", home)
        };

        // The node, or a pool of them (the first holds the keys).
        let (mut nodes, node_source) = if !raw.fullnode.apiinfo.trim().is_empty() {
            let pool = parse_pool(&raw.fullnode.apiinfo).map_err(|e| {
                bad(
                    "[FullNode] ApiInfo",
                    &raw.fullnode.apiinfo,
                    &format!(
                        "TOKEN:MULTIADDR or a multiaddr or URL, or several separated by commas ({e})"
                    ),
                )
            })?;
            (pool, "[FullNode] ApiInfo".to_string())
        } else if let Some(value) = &env.fullnode_api_info {
            let pool = parse_pool(value).map_err(|e| {
                format!(
                    "invalid FULLNODE_API_INFO: {e}; expected TOKEN:MULTIADDR or a multiaddr, or several separated \
                     by commas"
                )
            })?;
            (pool, "FULLNODE_API_INFO".to_string())
        } else {
            match read_repo(&repo, "/rpc/v1")? {
                Some(info) => (vec![info], format!("the Lotus repo {}", repo.display())),
                None => (Vec::new(), String::new()),
            }
        };
        let more_nodes = nodes.split_off(nodes.len().min(1));
        let node = nodes.pop();

        let miner_repo = if !raw.miner.repo.trim().is_empty() {
            expand_home(raw.miner.repo.trim(), home)
        } else if let Some(path) = &env.lotus_miner_path {
            expand_home(path, home)
        } else {
            expand_home("~/.lotusminer", home)
        };
        let (miner, miner_source) = if !raw.miner.apiinfo.trim().is_empty() {
            let info = ApiInfo::parse(&raw.miner.apiinfo, "/rpc/v0").map_err(|e| {
                bad(
                    "[Miner] ApiInfo",
                    &raw.miner.apiinfo,
                    &format!("TOKEN:MULTIADDR or a multiaddr or URL ({e})"),
                )
            })?;
            (Some(info), "[Miner] ApiInfo".to_string())
        } else if let Some(value) = &env.miner_api_info {
            let info = ApiInfo::parse(value, "/rpc/v0").map_err(|e| {
                format!("invalid MINER_API_INFO: {e}; expected TOKEN:MULTIADDR or a multiaddr")
            })?;
            (Some(info), "MINER_API_INFO".to_string())
        } else {
            match read_repo(&miner_repo, "/rpc/v0")? {
                Some(info) => (
                    Some(info),
                    format!("the miner repo {}", miner_repo.display()),
                ),
                None => (None, String::new()),
            }
        };
        let miner_secret = match raw.miner.secretfile.trim() {
            "" => {
                let path = crate::auth::repo_secret_path(&miner_repo);
                if std::fs::File::open(&path).is_ok() {
                    SecretSource::File(path)
                } else {
                    SecretSource::Upstream
                }
            }
            file => SecretSource::File(expand_home(file, home)),
        };
        let miner_timeout = duration("[Miner] Timeout", &raw.miner.timeout)?;
        if miner_timeout.is_zero() {
            return Err(bad(
                "[Miner] Timeout",
                &raw.miner.timeout,
                "a positive duration",
            ));
        }

        let auth_mode = match raw.auth.mode.trim() {
            "passthrough" => AuthMode::Passthrough,
            "own" => AuthMode::Own,
            other => return Err(bad("[Auth] Mode", other, "\"passthrough\" or \"own\"")),
        };
        let anonymous = match raw.auth.anonymous.trim() {
            _ if raw.api.public => Perm::Read.up_to(),
            "none" => PermSet::EMPTY,
            "read" => Perm::Read.up_to(),
            other => return Err(bad("[Auth] Anonymous", other, "\"read\" or \"none\"")),
        };
        let secret_file = raw.auth.secretfile.trim();
        let secret = match (auth_mode, secret_file.is_empty()) {
            (_, false) => SecretSource::File(expand_home(secret_file, home)),
            (AuthMode::Own, true) => {
                SecretSource::File(expand_home("~/.lotus-rest/jwt-secret", home))
            }
            (AuthMode::Passthrough, true) => {
                let path = crate::auth::repo_secret_path(&repo);
                if std::fs::File::open(&path).is_ok() {
                    SecretSource::File(path)
                } else {
                    SecretSource::Upstream
                }
            }
        };
        let upstream_token = match auth_mode {
            AuthMode::Passthrough => None,
            AuthMode::Own => Some(raw.auth.upstreamtoken.trim().to_string())
                .filter(|t| !t.is_empty())
                .or_else(|| node.as_ref().and_then(|n| n.token.clone())),
        };
        let address_network = match raw.chain.addressnetwork.trim() {
            "auto" => None,
            "f" | "mainnet" => Some('f'),
            "t" | "testnet" => Some('t'),
            other => {
                return Err(bad(
                    "[Chain] AddressNetwork",
                    other,
                    "\"auto\", \"f\" (mainnet) or \"t\" (test networks)",
                ))
            }
        };
        let positive = |key: &str, v: u64| {
            if v == 0 {
                Err(bad(key, "0", "a positive number"))
            } else {
                usize::try_from(v).map_err(|_| bad(key, &v.to_string(), "a smaller number"))
            }
        };
        let node_timeout = duration("[FullNode] Timeout", &raw.fullnode.timeout)?;
        if node_timeout.is_zero() {
            return Err(bad(
                "[FullNode] Timeout",
                &raw.fullnode.timeout,
                "a positive duration",
            ));
        }
        let demo_block_time = duration("[Demo] BlockTime", &raw.demo.blocktime)?;
        if demo_block_time < Duration::from_millis(100) {
            return Err(bad(
                "[Demo] BlockTime",
                &raw.demo.blocktime,
                "at least 100ms",
            ));
        }
        let cert = raw.api.tlscertfile.trim();
        let key = raw.api.tlskeyfile.trim();
        let tls = match (cert.is_empty(), key.is_empty()) {
            (false, false) => Some((expand_home(cert, home), expand_home(key, home))),
            (true, true) if listen.scheme == addr::Scheme::Https => {
                return Err(format!(
                    "{listen_key} {listen_text:?} asks for HTTPS: set [API] TlsCertFile and [API] TlsKeyFile to \
                     a PEM certificate chain and private key"
                ))
            }
            (true, true) => None,
            _ => {
                return Err(
                    "[API] TlsCertFile and [API] TlsKeyFile go together: set both, or neither".to_string(),
                )
            }
        };
        if tls.is_none() && !listen.is_loopback() && !raw.api.allowinsecurehttp {
            return Err(format!(
                "refusing to serve plain HTTP on {listen_text} ({listen_key}): it is reachable from the network, \
                 and Lotus tokens (which can sign messages and move funds) would cross it in clear. Serve HTTPS \
                 ([API] TlsCertFile and TlsKeyFile, or a /https address), listen on loopback behind a TLS proxy, \
                 or set [API] AllowInsecureHttp = true if the network is trusted"
            ));
        }
        let cors_origins: Vec<String> = raw
            .api
            .corsallowedorigins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &cors_origins {
            if origin != "*" && url::Url::parse(origin).map_or(true, |u| u.cannot_be_a_base()) {
                return Err(bad(
                    "[API] CorsAllowedOrigins",
                    origin,
                    "origins such as https://app.example.com, separated by commas, or \"*\"",
                ));
            }
        }
        let ca = raw.fullnode.cafile.trim();
        Ok(Settings {
            tls,
            allow_insecure_http: raw.api.allowinsecurehttp,
            cors_origins,
            shutdown_grace: duration("[API] ShutdownGracePeriod", &raw.api.shutdowngraceperiod)?,
            cursor_secret: match raw.api.cursorsecret.as_str() {
                "" => None,
                s if s.chars().count() >= 16 => Some(s.to_string()),
                s => {
                    return Err(bad(
                        "[API] CursorSecret",
                        "(hidden)",
                        &format!("at least 16 characters, not {}", s.chars().count()),
                    ))
                }
            },
            max_header_bytes: match raw.api.maxheaderbytes {
                n @ 1024..=32768 => n as usize,
                n => {
                    return Err(bad(
                        "[API] MaxHeaderBytes",
                        &n.to_string(),
                        "1024 to 32768 bytes",
                    ))
                }
            },
            // The HTTP server reads its clock every 500 ms: a shorter deadline can already have passed when a
            // connection opens, and would answer 408 to a client that sent its headers at once.
            client_request_timeout: duration_at_least(
                "[API] ClientRequestTimeout",
                &raw.api.clientrequesttimeout,
                Duration::from_secs(1),
                "1s",
            )?,
            keep_alive: duration("[API] KeepAlive", &raw.api.keepalive)?,
            node_ca_file: (!ca.is_empty()).then(|| expand_home(ca, home)),
            node_max_sync_lag: duration("[FullNode] MaxSyncLag", &raw.fullnode.maxsynclag)?,
            node_health_interval: duration_at_least(
                "[FullNode] HealthInterval",
                &raw.fullnode.healthinterval,
                Duration::from_millis(100),
                "100ms",
            )?,
            node_max_head_lag: i64::try_from(raw.fullnode.maxheadlag).map_err(|_| {
                bad(
                    "[FullNode] MaxHeadLag",
                    &raw.fullnode.maxheadlag.to_string(),
                    "a smaller number",
                )
            })?,
            node_max_response_bytes: positive(
                "[FullNode] MaxResponseBytes",
                raw.fullnode.maxresponsebytes,
            )?,
            node_max_concurrent: positive(
                "[FullNode] MaxConcurrentCalls",
                raw.fullnode.maxconcurrentcalls,
            )?,
            node_queue_timeout: duration("[FullNode] QueueTimeout", &raw.fullnode.queuetimeout)?,
            head_from_stream: raw.fullnode.headfromstream,
            public: raw.api.public,
            rate_per_token: non_negative("[RateLimit] PerToken", raw.ratelimit.pertoken)?,
            rate_per_ip: match non_negative("[RateLimit] PerIP", raw.ratelimit.perip)? {
                0.0 if raw.api.public => 30.0,
                rate => rate,
            },
            burst_seconds: match raw.ratelimit.burstseconds {
                s if s.is_finite() && s > 0.0 => s,
                s => {
                    return Err(bad(
                        "[RateLimit] BurstSeconds",
                        &s.to_string(),
                        "a positive number of seconds",
                    ))
                }
            },
            max_lookback: match raw.chain.maxlookback {
                n if n < 0 => {
                    return Err(bad(
                        "[Chain] MaxLookback",
                        &n.to_string(),
                        "0 or a positive number of epochs",
                    ))
                }
                0 if raw.api.public => 2880,
                n => n,
            },
            cache_entries: usize::try_from(raw.cache.entries).map_err(|_| {
                bad(
                    "[Cache] Entries",
                    &raw.cache.entries.to_string(),
                    "a smaller number",
                )
            })?,
            listen,
            listen_text,
            max_body_bytes: positive("[API] MaxRequestBodyBytes", raw.api.maxrequestbodybytes)?,
            node,
            more_nodes,
            redis_url: match raw.cluster.redisurl.trim() {
                "" => None,
                url => match redis::Client::open(url) {
                    Ok(_) => Some(url.to_string()),
                    Err(e) => {
                        return Err(bad(
                            "[Cluster] RedisUrl",
                            url,
                            &format!("redis://HOST:PORT[/DB] or rediss://... ({e})"),
                        ))
                    }
                },
            },
            node_source,
            node_timeout,
            node_connect_timeout: duration(
                "[FullNode] ConnectTimeout",
                &raw.fullnode.connecttimeout,
            )?,
            node_max_idle: positive(
                "[FullNode] MaxIdleConnections",
                raw.fullnode.maxidleconnections,
            )?,
            repo,
            auth_mode,
            anonymous,
            secret,
            upstream_token,
            verify_cache_ttl: duration("[Auth] VerifyCacheTTL", &raw.auth.verifycachettl)?,
            address_network,
            demo_block_time,
            demo_go_nulls: raw.demo.gonulls,
            extra_methods: extra_methods("[JsonRpc] ExtraMethods", &raw.jsonrpc.extramethods)?,
            max_batch: bounded("[JsonRpc] MaxBatch", raw.jsonrpc.maxbatch, 1, 10_000)?,
            batch_concurrency: bounded(
                "[JsonRpc] BatchConcurrency",
                raw.jsonrpc.batchconcurrency,
                1,
                1_000,
            )?,
            max_sockets: bounded(
                "[JsonRpc] MaxSockets",
                raw.jsonrpc.maxsockets,
                1,
                10_000_000,
            )?,
            max_filters: bounded(
                "[JsonRpc] MaxFiltersPerConnection",
                raw.jsonrpc.maxfiltersperconnection,
                1,
                10_000,
            )?,
            slow_client_timeout: duration_at_least(
                "[JsonRpc] SlowClientTimeout",
                &raw.jsonrpc.slowclienttimeout,
                Duration::from_millis(100),
                "100ms",
            )?,
            max_batch_reply_bytes: bounded(
                "[JsonRpc] MaxBatchResponseBytes",
                raw.jsonrpc.maxbatchresponsebytes,
                1024,
                u64::from(u32::MAX),
            )?,
            streams: crate::streams::StreamSettings {
                heartbeat: {
                    let d = duration("[Streams] Heartbeat", &raw.streams.heartbeat)?;
                    if d < Duration::from_millis(100) {
                        return Err(bad(
                            "[Streams] Heartbeat",
                            &raw.streams.heartbeat,
                            "at least 100ms",
                        ));
                    }
                    d
                },
                buffer: bounded(
                    "[Streams] BufferEvents",
                    raw.streams.bufferevents,
                    1,
                    1_000_000,
                )?,
                client_queue: bounded(
                    "[Streams] ClientQueue",
                    raw.streams.clientqueue,
                    1,
                    1_000_000,
                )?,
                max_streams: bounded(
                    "[Streams] MaxStreams",
                    raw.streams.maxstreams,
                    1,
                    10_000_000,
                )?,
                max_per_client: bounded(
                    "[Streams] MaxPerClient",
                    raw.streams.maxperclient,
                    1,
                    10_000_000,
                )?,
            },
            miner_upstream_token: match auth_mode {
                AuthMode::Passthrough => None,
                AuthMode::Own => miner.as_ref().and_then(|m| m.token.clone()),
            },
            miner,
            miner_source,
            miner_repo,
            miner_secret,
            miner_timeout,
        })
    }
}

/// `[FullNode] ApiInfo` or `FULLNODE_API_INFO`: one entry, or several separated by commas (a pool), in order.
fn parse_pool(value: &str) -> Result<Vec<ApiInfo>, String> {
    let entries: Vec<&str> = value.split(',').map(str::trim).collect();
    let many = entries.len() > 1;
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            if entry.is_empty() {
                return Err(format!("entry {} is empty", i + 1));
            }
            ApiInfo::parse(entry, "/rpc/v1").map_err(|e| {
                if many {
                    format!("entry {}: {e}", i + 1)
                } else {
                    e
                }
            })
        })
        .collect()
}

/// Reads a Lotus repo's `api` (multiaddr) and `token` files; `None` when the repo has no `api` file.
fn read_repo(repo: &Path, default_path: &str) -> Result<Option<ApiInfo>, String> {
    let api_path = repo.join("api");
    let Ok(api) = std::fs::read_to_string(&api_path) else {
        return Ok(None);
    };
    let mut info = ApiInfo::parse(api.trim(), default_path)
        .map_err(|e| format!("invalid {}: {e}", api_path.display()))?;
    info.token = std::fs::read_to_string(repo.join("token"))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    Ok(Some(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            home: Some(PathBuf::from("/nonexistent-home")),
            ..Env::default()
        }
    }

    #[test]
    fn defaults() {
        let s = Settings::load(&Overrides::default(), &env()).unwrap();
        assert_eq!(s.listen.authority(), "127.0.0.1:3453");
        assert!(s.node.is_none());
        assert_eq!(s.auth_mode, AuthMode::Passthrough);
        assert_eq!(s.anonymous, Perm::Read.up_to());
        assert_eq!(s.secret, SecretSource::Upstream);
        assert_eq!(s.node_timeout, Duration::from_secs(30));
        assert_eq!(s.repo, PathBuf::from("/nonexistent-home/.lotus"));
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[API]\nListenAddress = \"/ip4/127.0.0.1/tcp/4000/http\"\n[FullNode]\nApiInfo = \"tok:/ip4/127.0.0.1/tcp/1234/http\"\n[Auth]\nAnonymous = \"none\"\n",
        )
        .unwrap();
        let mut env = env();
        env.fullnode_api_info = Some("/ip4/10.0.0.9/tcp/1234/http".into());
        env.vars = vec![("LOTUS_REST_FULLNODE_TIMEOUT".into(), "2s".into())];
        let mut o = Overrides {
            config_file: Some(file),
            listen: None,
        };
        let s = Settings::load(&o, &env).unwrap();
        assert_eq!(s.listen.port, 4000);
        assert_eq!(
            s.node.as_ref().unwrap().url.as_str(),
            "http://127.0.0.1:1234/rpc/v1"
        );
        assert_eq!(s.node_source, "[FullNode] ApiInfo");
        assert_eq!(s.node_timeout, Duration::from_secs(2));
        assert!(s.anonymous.is_empty());
        o.listen = Some("127.0.0.1:5000".into());
        assert_eq!(Settings::load(&o, &env).unwrap().listen.port, 5000);
    }

    #[test]
    fn fullnode_api_info_then_repo() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("api"), "/ip4/127.0.0.1/tcp/1234/http\n").unwrap();
        std::fs::write(dir.path().join("token"), "repotoken\n").unwrap();
        let mut env = env();
        env.lotus_path = Some(dir.path().display().to_string());
        let s = Settings::load(&Overrides::default(), &env).unwrap();
        assert_eq!(s.node.as_ref().unwrap().token.as_deref(), Some("repotoken"));
        env.fullnode_api_info = Some("envtoken:/ip4/127.0.0.1/tcp/9/http".into());
        let s = Settings::load(&Overrides::default(), &env).unwrap();
        assert_eq!(s.node.as_ref().unwrap().token.as_deref(), Some("envtoken"));
        assert_eq!(s.node_source, "FULLNODE_API_INFO");
    }

    #[test]
    fn a_pool_of_nodes_is_a_list_separated_by_commas() {
        let mut env = env();
        env.fullnode_api_info = Some(
            "tok0:/ip4/127.0.0.1/tcp/1234/http, tok1:/ip4/127.0.0.1/tcp/1235/http,http://127.0.0.1:1236"
                .into(),
        );
        let s = Settings::load(&Overrides::default(), &env).unwrap();
        assert_eq!(s.node.as_ref().unwrap().token.as_deref(), Some("tok0"));
        let more: Vec<(String, Option<String>)> = s
            .more_nodes
            .iter()
            .map(|n| (n.url.to_string(), n.token.clone()))
            .collect();
        assert_eq!(
            more,
            [
                (
                    "http://127.0.0.1:1235/rpc/v1".to_string(),
                    Some("tok1".to_string())
                ),
                ("http://127.0.0.1:1236/rpc/v1".to_string(), None),
            ]
        );
        assert_eq!(s.node_health_interval, Duration::from_secs(5));
        assert_eq!(s.node_max_head_lag, 2);
        // One entry: no pool, as always.
        env.fullnode_api_info = Some("tok:/ip4/127.0.0.1/tcp/1234/http".into());
        assert!(Settings::load(&Overrides::default(), &env)
            .unwrap()
            .more_nodes
            .is_empty());
        // An empty or bad entry says which.
        env.fullnode_api_info = Some("/ip4/127.0.0.1/tcp/1234/http,,".into());
        let e = Settings::load(&Overrides::default(), &env).unwrap_err();
        assert!(e.contains("entry 2 is empty"), "{e}");
        env.fullnode_api_info = Some("/ip4/127.0.0.1/tcp/1234/http,/ip4/nope".into());
        let e = Settings::load(&Overrides::default(), &env).unwrap_err();
        assert!(e.contains("entry 2"), "{e}");
        env.vars = vec![("LOTUS_REST_FULLNODE_HEALTHINTERVAL".into(), "10ms".into())];
        env.fullnode_api_info = None;
        let e = Settings::load(&Overrides::default(), &env).unwrap_err();
        assert!(
            e.contains("HealthInterval") && e.contains("at least 100ms"),
            "{e}"
        );
    }

    #[test]
    fn miner_from_its_setting_its_variable_or_its_repo() {
        let s = Settings::load(&Overrides::default(), &env()).unwrap();
        assert!(s.miner.is_none(), "no miner unless one is configured");
        assert_eq!(s.miner_secret, SecretSource::Upstream);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("api"), "/ip4/127.0.0.1/tcp/2345/http\n").unwrap();
        std::fs::write(dir.path().join("token"), "minertoken\n").unwrap();
        let secret = crate::auth::Secret::generate();
        secret
            .save(&crate::auth::repo_secret_path(dir.path()))
            .unwrap();
        let mut env = env();
        env.lotus_miner_path = Some(dir.path().display().to_string());
        let s = Settings::load(&Overrides::default(), &env).unwrap();
        let miner = s.miner.as_ref().unwrap();
        assert_eq!(miner.url.as_str(), "http://127.0.0.1:2345/rpc/v0");
        assert_eq!(miner.token.as_deref(), Some("minertoken"));
        assert!(s.miner_source.starts_with("the miner repo"));
        assert_eq!(
            s.miner_secret,
            SecretSource::File(crate::auth::repo_secret_path(dir.path()))
        );
        assert!(s.node.is_none(), "the miner is not the node");

        env.miner_api_info = Some("envtoken:/ip4/10.0.0.2/tcp/2345/http".into());
        let s = Settings::load(&Overrides::default(), &env).unwrap();
        assert_eq!(s.miner.as_ref().unwrap().token.as_deref(), Some("envtoken"));
        assert_eq!(s.miner_source, "MINER_API_INFO");

        env.vars = vec![(
            "LOTUS_REST_MINER_APIINFO".into(),
            "/ip4/10.0.0.3/tcp/2345/http".into(),
        )];
        let s = Settings::load(&Overrides::default(), &env).unwrap();
        assert_eq!(
            s.miner.as_ref().unwrap().url.as_str(),
            "http://10.0.0.3:2345/rpc/v0"
        );
        assert_eq!(s.miner_source, "[Miner] ApiInfo");
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_expected() {
        let cases = [
            (
                "LOTUS_REST_API_LISTENADDRESS",
                "/ip4/1.2.3/tcp/1",
                "[API] ListenAddress",
            ),
            ("LOTUS_REST_FULLNODE_TIMEOUT", "soon", "[FullNode] Timeout"),
            ("LOTUS_REST_MINER_TIMEOUT", "0s", "[Miner] Timeout"),
            (
                "LOTUS_REST_API_CLIENTREQUESTTIMEOUT",
                "300ms",
                "[API] ClientRequestTimeout",
            ),
            (
                "LOTUS_REST_MINER_APIINFO",
                "tok:/ip4/x/tcp/1",
                "[Miner] ApiInfo",
            ),
            ("LOTUS_REST_AUTH_MODE", "magic", "[Auth] Mode"),
            ("LOTUS_REST_AUTH_ANONYMOUS", "admin", "[Auth] Anonymous"),
            (
                "LOTUS_REST_CHAIN_ADDRESSNETWORK",
                "x",
                "[Chain] AddressNetwork",
            ),
            (
                "LOTUS_REST_FULLNODE_APIINFO",
                "tok:/ip4/x/tcp/1",
                "[FullNode] ApiInfo",
            ),
            (
                "LOTUS_REST_JSONRPC_EXTRAMETHODS",
                "Filecoin.NewMethod",
                "[JsonRpc] ExtraMethods",
            ),
            (
                "LOTUS_REST_JSONRPC_EXTRAMETHODS",
                "Filecoin.NewMethod:root",
                "[JsonRpc] ExtraMethods",
            ),
            (
                "LOTUS_REST_JSONRPC_EXTRAMETHODS",
                "Filecoin.ChainHead:admin",
                "[JsonRpc] ExtraMethods",
            ),
        ];
        for (key, value, named) in cases {
            let mut env = env();
            env.vars = vec![(key.into(), value.into())];
            let err = Settings::load(&Overrides::default(), &env).unwrap_err();
            assert!(
                err.contains(named) && err.contains("expected"),
                "{key}: {err}"
            );
        }
        let mut env = env();
        env.vars = vec![("LOTUS_REST_API_NOSUCHKEY".into(), "1".into())];
        let err = Settings::load(&Overrides::default(), &env).unwrap_err();
        assert!(err.contains("nosuchkey"), "{err}");
    }
}
