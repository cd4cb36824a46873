//! The test harness: a simulated Lotus node and a gateway in front of it, both on 127.0.0.1:0.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use lotus_rest::auth::{Perm, Secret};
use lotus_rest::settings::{Env, Overrides, Settings};
use lotus_rest::sim::miner::{start_miner, MinerSimConfig, MinerSimHandle};
use lotus_rest::sim::{self, SimHandle};
use serde_json::Value;

/// How long a test waits for something the gateway or the node does in the background. Generous: the suite runs on
/// busy machines, and waiting only costs time when something is wrong.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Options {
    /// `passthrough` or `own`.
    pub mode: &'static str,
    /// Whether the gateway is given the node's JWT secret (passthrough) — otherwise it asks the node.
    pub secret_known: bool,
    pub anonymous: &'static str,
    pub timeout: &'static str,
    pub block_time: Duration,
    /// More settings, as `LOTUS_REST_*` environment variables.
    pub vars: Vec<(&'static str, String)>,
    /// Whether a simulated miner runs too, configured as the gateway's `[Miner]`.
    pub miner: bool,
    /// Whether the gateway is given the miner's JWT secret (passthrough) — otherwise it asks the miner.
    pub miner_secret_known: bool,
    /// More simulated nodes of the same chain, making a pool with the first: the height of each one's head (the
    /// first node's is 200).
    pub more_nodes: Vec<i64>,
    /// The node's JWT secret, when it must be one another harness's node has too (replicas of one cluster, whose
    /// nodes accept the same tokens); a new one otherwise.
    pub secret: Option<Secret>,
    /// When the simulated chain began (ms since the Unix epoch), for harnesses whose nodes must serve the same
    /// chain, block for block; by default the head at start carries the current time.
    pub genesis_ms: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: "passthrough",
            secret_known: true,
            anonymous: "read",
            timeout: "2s",
            block_time: Duration::from_secs(3600),
            vars: Vec::new(),
            miner: false,
            miner_secret_known: true,
            more_nodes: Vec::new(),
            secret: None,
            genesis_ms: None,
        }
    }
}

/// When a simulated chain `history` epochs long, of `block_time` blocks, began if its head is now (ms since 1970):
/// harnesses given the same one serve one chain.
pub fn genesis_now(history: i64, block_time: Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    now - history as u64 * block_time.as_millis() as u64
}

pub struct Harness {
    pub sim: SimHandle,
    /// The other nodes of a pool ([`Options::more_nodes`]), in order after `sim`.
    pub pool: Vec<SimHandle>,
    pub secret: Secret,
    /// The gateway's own secret, in `own` mode.
    pub own_secret: Option<Secret>,
    /// The simulated miner, when [`Options::miner`] asked for one.
    pub miner: Option<MinerSimHandle>,
    /// The miner's JWT secret (made whether or not a miner runs).
    pub miner_secret: Secret,
    pub base: String,
    pub http: reqwest::Client,
    /// The thread whose runtime runs the node, the miner and the gateway; dropping the harness stops them.
    host: Option<Host>,
    _dir: tempfile::TempDir,
}

/// The thread that runs a harness's servers, and how to tell it to stop them.
struct Host {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Drop for Harness {
    /// Stops the gateway, the miner and the node, and ends their runtime: every server thread, connection and
    /// background task of this harness is gone once the drop returns, so tests that make many harnesses (and the
    /// suite as a whole) do not pile them up.
    fn drop(&mut self) {
        if let Some(host) = self.host.take() {
            let _ = host.stop.send(());
            if host.thread.join().is_err() && !std::thread::panicking() {
                panic!("the harness thread panicked while stopping");
            }
        }
    }
}

/// What the harness thread started.
struct Running {
    sim: SimHandle,
    pool: Vec<SimHandle>,
    miner: Option<MinerSimHandle>,
    own_secret: Option<Secret>,
    base: String,
    gateway: actix_web::dev::ServerHandle,
}

/// What stops the servers of a [`Running`].
struct Stoppable {
    sim: SimHandle,
    pool: Vec<SimHandle>,
    miner: Option<MinerSimHandle>,
    gateway: actix_web::dev::ServerHandle,
}

impl Running {
    fn stoppable(&self) -> Stoppable {
        Stoppable {
            sim: self.sim.clone(),
            pool: self.pool.clone(),
            miner: self.miner.clone(),
            gateway: self.gateway.clone(),
        }
    }
}

impl Stoppable {
    /// Stops the gateway first (so that it does not see its upstreams vanish), then the miner and the node. Bounded:
    /// whatever has not stopped after a while goes when the runtime ends.
    async fn stop(self) {
        let all = async {
            self.gateway.stop(false).await;
            if let Some(miner) = &self.miner {
                miner.stop().await;
            }
            self.sim.stop().await;
            for node in &self.pool {
                node.stop().await;
            }
        };
        let _ = actix_web::rt::time::timeout(Duration::from_secs(10), all).await;
    }
}

/// Starts the simulated node, the miner if asked for, and the gateway, on the current (harness thread's) runtime.
async fn run(
    opts: Options,
    secret: Secret,
    miner_secret: Secret,
    dir: &std::path::Path,
) -> Running {
    let mut config = sim::SimConfig::new(secret.clone());
    config.block_time = opts.block_time;
    // One worker thread per server is plenty for a test's requests (their handlers never block), and keeps the
    // threads of two tests running side by side few.
    config.workers = 1;
    // The nodes of a pool serve one chain, block for block.
    config.genesis_ms = Some(
        opts.genesis_ms
            .unwrap_or_else(|| genesis_now(config.history, config.block_time)),
    );
    let sim = sim::start(config.clone(), TcpListener::bind("127.0.0.1:0").unwrap())
        .await
        .expect("the simulated node starts");
    let mut pool = Vec::new();
    for height in &opts.more_nodes {
        let mut config = config.clone();
        config.history = *height;
        pool.push(
            sim::start(config, TcpListener::bind("127.0.0.1:0").unwrap())
                .await
                .expect("a simulated node of the pool starts"),
        );
    }
    let miner = if opts.miner {
        let mut config = MinerSimConfig::new(miner_secret.clone());
        config.node = Some(sim.clone());
        Some(
            start_miner(config, TcpListener::bind("127.0.0.1:0").unwrap())
                .await
                .expect("the simulated miner starts"),
        )
    } else {
        None
    };
    let mut vars = vec![
        ("LOTUS_REST_AUTH_MODE".to_string(), opts.mode.to_string()),
        (
            "LOTUS_REST_AUTH_ANONYMOUS".to_string(),
            opts.anonymous.to_string(),
        ),
        (
            "LOTUS_REST_FULLNODE_TIMEOUT".to_string(),
            opts.timeout.to_string(),
        ),
    ];
    vars.extend(opts.vars.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let mut own_secret = None;
    match opts.mode {
        "own" => {
            let path = dir.join("own-secret");
            let own = Secret::generate();
            own.save(&path).unwrap();
            own_secret = Some(own);
            vars.push((
                "LOTUS_REST_AUTH_SECRETFILE".into(),
                path.display().to_string(),
            ));
            // The gateway calls the node with an admin token of the node's.
            let entries: Vec<String> = std::iter::once(&sim)
                .chain(&pool)
                .map(|node| format!("{}:{}", node.token(Perm::Admin), node.url()))
                .collect();
            vars.push(("LOTUS_REST_FULLNODE_APIINFO".into(), entries.join(",")));
            if let Some(m) = &miner {
                vars.push((
                    "LOTUS_REST_MINER_APIINFO".into(),
                    format!("{}:{}", m.token(Perm::Admin), m.url()),
                ));
            }
        }
        _ => {
            if opts.secret_known {
                let path = dir.join("node-secret");
                secret.save(&path).unwrap();
                vars.push((
                    "LOTUS_REST_AUTH_SECRETFILE".into(),
                    path.display().to_string(),
                ));
            }
            let entries: Vec<String> = std::iter::once(&sim)
                .chain(&pool)
                .map(|node| node.url())
                .collect();
            vars.push(("LOTUS_REST_FULLNODE_APIINFO".into(), entries.join(",")));
            if let Some(m) = &miner {
                if opts.miner_secret_known {
                    let path = dir.join("miner-secret");
                    miner_secret.save(&path).unwrap();
                    vars.push((
                        "LOTUS_REST_MINER_SECRETFILE".into(),
                        path.display().to_string(),
                    ));
                }
                vars.push(("LOTUS_REST_MINER_APIINFO".into(), m.url()));
            }
        }
    }
    let env = Env {
        fullnode_api_info: None,
        lotus_path: Some(dir.join("no-repo").display().to_string()),
        miner_api_info: None,
        lotus_miner_path: Some(dir.join("no-miner-repo").display().to_string()),
        home: Some(dir.to_path_buf()),
        vars,
    };
    let settings = Settings::load(
        &Overrides {
            config_file: None,
            listen: Some("127.0.0.1:0".into()),
        },
        &env,
    )
    .expect("settings load");
    let listener = lotus_rest::server::bind(&settings).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = lotus_rest::server::state(&settings).expect("state builds");
    let server =
        lotus_rest::server::serve_with_workers(&settings, state, listener, Some(1)).unwrap();
    let gateway = server.handle();
    actix_web::rt::spawn(server);
    Running {
        sim,
        pool,
        miner,
        own_secret,
        base,
        gateway,
    }
}

impl Harness {
    pub async fn start() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(opts: Options) -> Self {
        let secret = opts.secret.clone().unwrap_or_else(Secret::generate);
        let miner_secret = Secret::generate();
        let dir = tempfile::tempdir().unwrap();
        let streams = !opts
            .vars
            .iter()
            .any(|(k, v)| *k == "LOTUS_REST_FULLNODE_HEADFROMSTREAM" && v == "false");
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = {
            let secret = secret.clone();
            let miner_secret = miner_secret.clone();
            let dir = dir.path().to_path_buf();
            std::thread::Builder::new()
                .name("harness".into())
                .spawn(move || {
                    actix_web::rt::System::new().block_on(async move {
                        let running = run(opts, secret, miner_secret, &dir).await;
                        let stoppable = running.stoppable();
                        if ready_tx.send(running).is_err() {
                            stoppable.stop().await;
                            return;
                        }
                        // Until the harness is dropped (or the test's runtime is gone).
                        let _ = stop_rx.await;
                        stoppable.stop().await;
                    })
                })
                .expect("the harness thread starts")
        };
        let running = match ready_rx.await {
            Ok(running) => running,
            // The thread panicked while starting: the test fails with its panic.
            Err(_) => match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => panic!("the harness thread ended without starting"),
            },
        };
        let h = Harness {
            sim: running.sim,
            pool: running.pool,
            secret,
            own_secret: running.own_secret,
            miner: running.miner,
            miner_secret,
            base: running.base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            host: Some(Host {
                stop: stop_tx,
                thread,
            }),
            _dir: dir,
        };
        // The gateway asks the node for its network at start; tests count calls from a clean log.
        h.wait_network_learned().await;
        if streams {
            // The gateway opens the node's ChainNotify stream at start.
            let deadline = Instant::now() + PATIENCE;
            while h.sim.subscribers() < 1 && Instant::now() < deadline {
                actix_web::rt::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(h.sim.subscribers(), 1, "the gateway follows the head");
        }
        h.sim.reset_calls();
        h
    }

    /// A token as `lotus auth create-token --perm P` makes it.
    pub fn token_up_to(&self, perm: Perm) -> String {
        self.secret.mint(perm.up_to())
    }

    /// A miner token as `lotus-miner auth create-token --perm P` makes it.
    #[allow(dead_code)]
    pub fn miner_token_up_to(&self, perm: Perm) -> String {
        self.miner_secret.mint(perm.up_to())
    }

    /// The gateway's metrics, in Prometheus's text format.
    pub async fn metrics_text(&self) -> String {
        self.get("/metrics", None).await.text
    }

    /// The value of one series of `/metrics`, named as it is written there (`lotus_rest_streams{what="open"}`);
    /// `None` when it is not exported.
    pub async fn gauge(&self, series: &str) -> Option<i64> {
        self.metrics_text().await.lines().find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(reqwest::Method::GET, path, token).await
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> Reply {
        self.send_json(method, path, token, None).await
    }

    /// Sends a request with an optional JSON body.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        Reply::from(req.send().await.expect("the gateway answers")).await
    }

    /// Sends a sample request as the table gives it.
    pub async fn send_sample(
        &self,
        sample: &crate::table::SampleRequest,
        token: Option<&str>,
    ) -> Reply {
        self.send_json(
            sample.method.clone(),
            &sample.path,
            token,
            sample.body.as_ref(),
        )
        .await
    }

    /// Waits until the gateway has asked the node for its network (see [`wait_network_asked`]).
    pub async fn wait_network_learned(&self) {
        wait_network_asked(&self.sim).await;
    }

    /// Values the simulated node holds: a non-null tipset below the head whose blocks carry messages, one of
    /// its blocks, one of its messages and an account.
    pub async fn sample(&self) -> Sample {
        let admin = self.token_up_to(Perm::Admin);
        let head = self.sim.head().height;
        for height in (1..head).rev() {
            let Some(ts) = self.sim.tipset_at(height) else {
                continue;
            };
            for cid in &ts.cids {
                let r = self
                    .get(&format!("/v1/blocks/{}/messages", cid.root), Some(&admin))
                    .await;
                assert_eq!(r.status, 200, "{}", r.text);
                let messages = r.json();
                if let Some(first) = messages["Cids"].as_array().and_then(|c| c.first()) {
                    let sample = Sample {
                        height,
                        key: ts
                            .cids
                            .iter()
                            .map(|c| c.root.clone())
                            .collect::<Vec<_>>()
                            .join(","),
                        block: cid.root.clone(),
                        message: first["/"].as_str().unwrap().to_string(),
                        block_messages: messages,
                        tipset: serde_json::to_value(&ts).unwrap(),
                        account: self.sim.accounts().into_iter().next().unwrap(),
                    };
                    self.sim.reset_calls();
                    return sample;
                }
            }
        }
        panic!("the simulated chain has no messages below the head");
    }
}

pub struct Sample {
    pub height: i64,
    /// The tipset key, as comma-separated CIDs.
    pub key: String,
    pub tipset: Value,
    pub block: String,
    pub block_messages: Value,
    pub message: String,
    pub account: lotus_rest::sim::SimAccount,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub async fn from(res: reqwest::Response) -> Self {
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            text: res.text().await.unwrap(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem document with this status and code, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status, "{body}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert!(
            body["detail"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert!(
            body["type"].as_str().is_some_and(|t| t.ends_with(code)),
            "{body}"
        );
        body
    }
}

/// The shared Lotus API data, when it is beside the project.
pub fn shared_api_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/lotus-api");
    dir.is_dir().then_some(dir)
}

/// Waits until a gateway has asked `sim` for its network (it does so in the background at start), so that tests
/// count calls from a clean log.
pub async fn wait_network_asked(sim: &SimHandle) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if sim.calls().iter().any(|c| c == "Filecoin.StateNetworkName") {
            // The answer is on its way back; let the gateway take it in.
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the gateway never asked the node's network");
}
