//! The `lotus-rest` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lotus_rest::auth::{AuthMode, Perm, Secret};
use lotus_rest::settings::{Env, Overrides, SecretSource, Settings, DEFAULT_CONFIG};

#[derive(Parser)]
#[command(
    name = "lotus-rest",
    version,
    about = "A REST API with an OpenAPI spec in front of a Filecoin Lotus node"
)]
struct Cli {
    /// A TOML configuration file (see `lotus-rest config default`).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API in front of the configured Lotus node.
    Run {
        /// Listen address: a multiaddr such as /ip4/127.0.0.1/tcp/3453/http, or host:port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Serve the REST API in front of a built-in simulated Lotus node (no Lotus needed; the data is simulated).
    Demo {
        /// Listen address: a multiaddr such as /ip4/127.0.0.1/tcp/3453/http, or host:port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Run a simulated Lotus full node alone: Lotus's JSON-RPC at /rpc/v1 and /rpc/v0, over HTTP and WebSocket, with a
    /// made-up chain. For trying a pool of nodes or several gateways without Lotus: nodes started on the same UTC day
    /// with the same block time serve the same chain, block for block.
    Simulate {
        /// Listen address: a multiaddr such as /ip4/127.0.0.1/tcp/1234/http, or host:port.
        #[arg(
            long,
            value_name = "ADDR",
            default_value = "/ip4/127.0.0.1/tcp/1234/http"
        )]
        listen: String,
        /// The node's JWT secret, in Lotus's keystore format: read, or made when the file does not exist. Nodes and
        /// gateways given the same file accept the same tokens. Default: a secret made for this run.
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
        /// The height of the head at start, at least: the chain begins at the start of a UTC day, this many epochs or
        /// more before now, so that its head at start carries the current time.
        #[arg(long, default_value_t = 200)]
        height: i64,
        /// How often a new epoch is made.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        block_time: std::time::Duration,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Check a running gateway: exit 0 when its /readyz answers 200 (for container health checks; no shell or curl
    /// needed).
    Healthcheck {
        /// The URL to check. Default: /readyz on the configured listen address.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Check /healthz (the process is up) instead of /readyz (the node answers).
        #[arg(long)]
        live: bool,
        /// How long to wait for the answer.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Token commands.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum AuthCommand {
    /// Mint a Lotus-compatible token with the secret the gateway verifies with.
    CreateToken {
        /// The permission to grant, with every permission below it: read, write, sign or admin.
        #[arg(long)]
        perm: Perm,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the default configuration file, commented.
    Default,
}

fn settings(cli_config: &Option<PathBuf>, listen: Option<String>) -> Result<Settings, String> {
    Settings::load(
        &Overrides {
            config_file: cli_config.clone(),
            listen,
        },
        &Env::from_process(),
    )
}

fn create_token(settings: &Settings, perm: Perm) -> Result<String, String> {
    let secret = match (&settings.secret, settings.auth_mode) {
        (SecretSource::File(path), AuthMode::Own) => Secret::load_or_create(path)?,
        (SecretSource::File(path), AuthMode::Passthrough) => Secret::load(path)?,
        (SecretSource::Upstream, _) => {
            return Err(format!(
                "no JWT secret to sign with: in passthrough mode tokens are the node's, and its secret ({}) is not \
                 readable here. Make one with `lotus auth create-token --perm {perm}`, or set [Auth] SecretFile",
                lotus_rest::auth::repo_secret_path(&settings.repo).display()
            ))
        }
    };
    Ok(secret.mint(perm.up_to()))
}

async fn run(settings: Settings) -> Result<(), String> {
    let listener = lotus_rest::server::bind(&settings)?;
    serve(settings, listener).await
}

async fn serve(settings: Settings, listener: std::net::TcpListener) -> Result<(), String> {
    let state = lotus_rest::server::state(&settings)?;
    match &settings.node {
        Some(node) if !settings.more_nodes.is_empty() => {
            log::info!(
                "a pool of {} Lotus nodes (from {}): node0 at {} (it holds the keys)",
                settings.more_nodes.len() + 1,
                settings.node_source,
                node.url
            );
            for (i, more) in settings.more_nodes.iter().enumerate() {
                log::info!("node{} at {}", i + 1, more.url);
            }
        }
        Some(node) => log::info!(
            "Lotus node at {} (from {})",
            node.url,
            settings.node_source
        ),
        None => log::warn!(
            "no Lotus node is configured (set [FullNode] ApiInfo, FULLNODE_API_INFO or LOTUS_PATH): every route \
             that needs it answers 503"
        ),
    }
    match &settings.miner {
        Some(miner) => log::info!(
            "Lotus miner at {} (from {})",
            miner.url,
            settings.miner_source
        ),
        None => log::info!(
            "no Lotus miner is configured (set [Miner] ApiInfo, MINER_API_INFO or LOTUS_MINER_PATH): the \
             /v1/miner/ routes answer 503"
        ),
    }
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listen address: {e}"))?;
    log::info!(
        "lotus-rest listening on {} ({local}); API docs at http://{local}/docs/",
        settings.listen_text,
    );
    lotus_rest::server::serve(&settings, state, listener)
        .map_err(|e| format!("cannot start the server: {e}"))?
        .await
        .map_err(|e| format!("the server failed: {e}"))
}

async fn demo(mut settings: Settings) -> Result<(), String> {
    use lotus_rest::sim;
    let secret = Secret::generate();
    let sim_listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot start the simulated node: {e}"))?;
    let mut config = sim::SimConfig::new(secret.clone());
    config.block_time = settings.demo_block_time;
    config.go_nulls = settings.demo_go_nulls;
    let node = sim::start(config, sim_listener)
        .await
        .map_err(|e| format!("cannot start the simulated node: {e}"))?;
    settings.node = Some(
        lotus_rest::addr::ApiInfo::parse(&node.url(), "/rpc/v1")
            .map_err(|e| format!("the simulated node's address: {e}"))?,
    );
    settings.node_source = "the built-in simulated node".into();
    let miner_secret = Secret::generate();
    let miner_listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot start the simulated miner: {e}"))?;
    let mut miner_config = sim::miner::MinerSimConfig::new(miner_secret.clone());
    miner_config.node = Some(node.clone());
    let miner = sim::miner::start_miner(miner_config, miner_listener)
        .await
        .map_err(|e| format!("cannot start the simulated miner: {e}"))?;
    settings.miner = Some(
        lotus_rest::addr::ApiInfo::parse(&miner.url(), "/rpc/v0")
            .map_err(|e| format!("the simulated miner's address: {e}"))?,
    );
    settings.miner_source = "the built-in simulated miner".into();
    settings.miner_upstream_token = None;
    settings.auth_mode = AuthMode::Passthrough;
    let dir = std::env::temp_dir().join(format!("lotus-rest-demo-{}", std::process::id()));
    let secret_path = dir.join("jwt-secret");
    let _ = std::fs::remove_file(&secret_path);
    secret.save(&secret_path)?;
    settings.secret = SecretSource::File(secret_path);
    let miner_secret_path = dir.join("miner-jwt-secret");
    let _ = std::fs::remove_file(&miner_secret_path);
    miner_secret.save(&miner_secret_path)?;
    settings.miner_secret = SecretSource::File(miner_secret_path);
    let listener = lotus_rest::server::bind(&settings)?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listen address: {e}"))?;
    let base = format!("http://{local}");
    println!(
        "lotus-rest demo: serving a SIMULATED Lotus node and miner; their chain, actors, messages and sectors are made up."
    );
    println!();
    println!("  Swagger UI:   {base}/docs/");
    println!("  OpenAPI:      {base}/openapi.json");
    println!("  read token:   {}", node.token(Perm::Read));
    println!("  admin token:  {}", node.token(Perm::Admin));
    println!("  miner read token:   {}", miner.token(Perm::Read));
    println!("  miner admin token:  {}", miner.token(Perm::Admin));
    println!();
    println!("  curl {base}/v1/chain/head");
    println!("  curl -N {base}/v1/streams/heads");
    println!("  curl -H \"Authorization: Bearer $TOKEN\" {base}/v1/node/version");
    println!("  curl -H \"Authorization: Bearer $MINER_TOKEN\" {base}/v1/miner/version");
    println!();
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let result = serve(settings, listener).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Serves a simulated full node until SIGTERM or SIGINT.
async fn simulate(
    listen: &str,
    secret_file: Option<PathBuf>,
    height: i64,
    block_time: std::time::Duration,
) -> Result<(), String> {
    use lotus_rest::sim;
    let at = lotus_rest::addr::parse_host_port(listen).map_err(|e| format!("--listen: {e}"))?;
    if height < 1 {
        return Err(format!("--height: {height} is not a positive height"));
    }
    let secret = match &secret_file {
        Some(path) => Secret::load_or_create(path)?,
        None => Secret::generate(),
    };
    let listener = std::net::TcpListener::bind(at.authority())
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let mut config = sim::SimConfig::new(secret);
    // Genesis at the start of a UTC day: every node started that day with this block time has the same chain.
    const DAY_MS: u64 = 86_400_000;
    let block_ms = (block_time.as_millis() as u64).max(1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?
        .as_millis() as u64;
    let genesis_ms = now_ms.saturating_sub(height as u64 * block_ms) / DAY_MS * DAY_MS;
    config.genesis_ms = Some(genesis_ms);
    config.history = ((now_ms - genesis_ms) / block_ms) as i64;
    config.block_time = block_time;
    let node = sim::start(config, listener)
        .await
        .map_err(|e| format!("cannot start the simulated node: {e}"))?;
    println!("lotus-rest simulate: a SIMULATED Lotus full node; its chain, actors and messages are made up.");
    println!();
    println!("  JSON-RPC:     {}", node.url());
    println!("  read token:   {}", node.token(Perm::Read));
    println!("  admin token:  {}", node.token(Perm::Admin));
    println!();
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot wait for SIGTERM: {e}"))?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    node.stop().await;
    Ok(())
}

async fn healthcheck(
    config: &Option<PathBuf>,
    url: Option<String>,
    live: bool,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let url = match url {
        Some(url) => url,
        None => {
            let settings = settings(config, None)?;
            let mut target = settings.listen.clone();
            // A wildcard listen address is checked through loopback.
            if let lotus_rest::addr::Host::Ip(ip) = target.host {
                if ip.is_unspecified() {
                    target.host = lotus_rest::addr::Host::Ip(if ip.is_ipv4() {
                        std::net::Ipv4Addr::LOCALHOST.into()
                    } else {
                        std::net::Ipv6Addr::LOCALHOST.into()
                    });
                }
            }
            let path = if live { "/healthz" } else { "/readyz" };
            format!("{}{path}", target.base_url())
        }
    };
    // The gateway checking itself over loopback need not trust its own (possibly self-signed) certificate.
    let loopback = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(loopback)
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let res = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    if status.is_success() {
        println!("{url}: {status}");
        Ok(())
    } else {
        Err(format!("{url}: {status} {body}"))
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    lotus_rest::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate {
            listen,
            secret_file,
            height,
            block_time,
        } => simulate(&listen, secret_file, height, block_time).await,
        Command::Openapi => {
            print!(
                "{}",
                lotus_rest::openapi::to_pretty_json(&lotus_rest::openapi())
            );
            Ok(())
        }
        Command::Healthcheck { url, live, timeout } => {
            healthcheck(&cli.config, url, live, timeout).await
        }
        Command::Config {
            command: ConfigCommand::Default,
        } => {
            print!("{DEFAULT_CONFIG}");
            Ok(())
        }
        Command::Auth {
            command: AuthCommand::CreateToken { perm },
        } => settings(&cli.config, None)
            .and_then(|s| create_token(&s, perm))
            .map(|token| println!("{token}")),
        Command::Run { listen } => match settings(&cli.config, listen) {
            Ok(s) => run(s).await,
            Err(e) => Err(e),
        },
        Command::Demo { listen } => match settings(&cli.config, listen) {
            Ok(s) => demo(s).await,
            Err(e) => Err(e),
        },
    };
    lotus_rest::logging::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
