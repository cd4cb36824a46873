//! The `lotus-rest` command as a user runs it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lotus_rest::auth::{Perm, Secret};

pub fn lotus_rest() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lotus-rest"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LOTUS_REST_") || k == "FULLNODE_API_INFO" || k == "LOTUS_PATH" {
            cmd.env_remove(k);
        }
    }
    cmd
}

pub struct Running {
    pub child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lotus-rest starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        for (pipe, buf) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
                stdout.clone(),
            ),
            (
                Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
                stderr.clone(),
            ),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut b = buf.lock().unwrap();
                    b.push_str(&line);
                    b.push('\n');
                }
            });
        }
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn wait_for(&self, what: &str, in_stderr: bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = if in_stderr {
                &self.stderr
            } else {
                &self.stdout
            }
            .lock()
            .unwrap()
            .clone();
            if text.contains(what) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what:?}; stdout: {}; stderr: {}",
                self.stdout.lock().unwrap(),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn value_after<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in {text}"))
        .trim()
}

#[test]
fn demo_serves_with_tokens_logs_and_no_token_in_logs() {
    let mut cmd = lotus_rest();
    cmd.args(["demo", "--listen", "/ip4/127.0.0.1/tcp/0/http"])
        .env("RUST_LOG", "info");
    let demo = Running::start(cmd);
    let out = demo.wait_for("miner admin token:", false);
    assert!(out.contains("SIMULATED"), "{out}");
    let docs = value_after(&out, "Swagger UI:");
    let base = docs.trim_end_matches("/docs/").to_string();
    let read = value_after(&out, "read token:").to_string();
    let admin = value_after(&out, "admin token:").to_string();
    demo.wait_for("listening on", true);

    let client = reqwest::blocking::Client::new();
    let res = client
        .get(format!("{base}/v1/chain/head"))
        .bearer_auth(&read)
        .header("X-Request-Id", "cli-test-1")
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let head: serde_json::Value = res.json().unwrap();
    assert!(head["Height"].as_i64().unwrap() > 0);
    let res = client
        .get(format!("{base}/v1/node/version"))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    // The demo serves a miner too, with tokens of its own.
    let miner_read = value_after(&out, "miner read token:").to_string();
    let res = client
        .get(format!("{base}/v1/miner/version"))
        .bearer_auth(&miner_read)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(format!("{base}/v1/miner/version"))
        .bearer_auth(&read)
        .send()
        .unwrap();
    assert_eq!(res.status(), 401, "a node token is not a miner token");
    let res = client.get(format!("{base}/docs/")).send().unwrap();
    assert_eq!(res.status(), 200);

    // The container health check.
    let out = lotus_rest()
        .args(["healthcheck", "--url", &format!("{base}/readyz")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = lotus_rest()
        .args([
            "healthcheck",
            "--timeout",
            "2s",
            "--url",
            &format!("http://{closed}/readyz"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let logs = demo.wait_for("id=cli-test-1", true);
    let line = logs.lines().find(|l| l.contains("id=cli-test-1")).unwrap();
    assert!(line.contains("GET /v1/chain/head 200"), "{line}");
    assert!(line.contains("us id="), "latency in the line: {line}");
    assert!(
        !logs.contains(&read) && !logs.contains(&admin),
        "a token appeared in the logs"
    );
}

#[test]
fn plain_http_on_a_public_address_is_refused_unless_allowed() {
    let out = lotus_rest()
        .args(["demo", "--listen", "/ip4/0.0.0.0/tcp/0/http"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve plain HTTP") && err.contains("in clear"),
        "{err}"
    );
    assert!(err.contains("AllowInsecureHttp"), "{err}");

    let mut cmd = lotus_rest();
    cmd.args(["demo", "--listen", "/ip4/0.0.0.0/tcp/0/http"])
        .env("LOTUS_REST_API_ALLOWINSECUREHTTP", "true");
    let demo = Running::start(cmd);
    let logs = demo.wait_for("reachable from the network", true);
    assert!(logs.contains("WARN"), "{logs}");
}

#[test]
fn bad_configuration_exits_non_zero_naming_the_key() {
    for (key, value, named) in [
        (
            "LOTUS_REST_API_LISTENADDRESS",
            "/ip4/1.2.3/tcp/1",
            "[API] ListenAddress",
        ),
        (
            "LOTUS_REST_FULLNODE_TIMEOUT",
            "forever",
            "[FullNode] Timeout",
        ),
        ("LOTUS_REST_AUTH_MODE", "trust-me", "[Auth] Mode"),
    ] {
        let out = lotus_rest().args(["run"]).env(key, value).output().unwrap();
        assert!(!out.status.success(), "{key}={value} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named) && err.contains(value), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = lotus_rest()
        .args(["run", "--listen", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    let out = lotus_rest()
        .args(["run", "--config", "/nonexistent/config.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/config.toml"));
}

#[test]
fn config_default_is_the_configuration_that_loads() {
    let out = lotus_rest().args(["config", "default"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ListenAddress = \"/ip4/127.0.0.1/tcp/3453/http\""),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    // The printed file, used as the config file, is accepted as it is.
    let out = lotus_rest()
        .args([
            "--config",
            path.to_str().unwrap(),
            "auth",
            "create-token",
            "--perm",
            "read",
        ])
        .env("HOME", dir.path())
        .env("LOTUS_REST_AUTH_MODE", "own")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openapi_prints_the_committed_document() {
    let out = lotus_rest().arg("openapi").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        lotus_rest::openapi::to_pretty_json(&lotus_rest::openapi())
    );
}

#[test]
fn create_token_with_the_lotus_repo_secret_matches_lotus() {
    let repo = tempfile::tempdir().unwrap();
    let keystore = repo.path().join("keystore");
    Secret::new(vec![0; 32])
        .save(&keystore.join(lotus_rest::auth::LOTUS_JWT_KEY_FILE))
        .unwrap();
    let out = lotus_rest()
        .args(["auth", "create-token", "--perm", "write"])
        .env("LOTUS_PATH", repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The token `lotus auth create-token --perm write` makes with a zero secret.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIiwid3JpdGUiXX0.sf1-1TUFfSyRrCjYNcXwsNzuHDQPpeRYyVo2r6YO4J4"
    );
}

#[test]
fn create_token_in_own_mode_creates_a_private_secret() {
    let home = tempfile::tempdir().unwrap();
    let out = lotus_rest()
        .args(["auth", "create-token", "--perm", "sign"])
        .env("HOME", home.path())
        .env("LOTUS_REST_AUTH_MODE", "own")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let path = home.path().join(".lotus-rest/jwt-secret");
    let secret = Secret::load(&path).unwrap();
    assert_eq!(secret.verify(token.trim()).unwrap(), Perm::Sign.up_to());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = lotus_rest()
        .args(["auth", "create-token", "--perm", "root"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn create_token_without_a_secret_says_where_tokens_come_from() {
    let home = tempfile::tempdir().unwrap();
    let out = lotus_rest()
        .args(["auth", "create-token", "--perm", "read"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lotus auth create-token"), "{err}");
}

/// Swagger UI, served from the binary, renders every route in a real browser with no network.
/// Needs Chromium (`apt-get install chromium`, as the CI script does); says so and passes when it is absent.
#[test]
fn swagger_ui_lists_every_route_in_a_browser() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let mut cmd = lotus_rest();
    cmd.args(["demo", "--listen", "127.0.0.1:0"]);
    let demo = Running::start(cmd);
    let out = demo.wait_for("admin token:", false);
    let docs = value_after(&out, "Swagger UI:").to_string();
    demo.wait_for("listening on", true);
    let profile = tempfile::tempdir().unwrap();
    let dom = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&docs)
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&dom.stdout);
    let spec = serde_json::to_value(lotus_rest::openapi()).unwrap();
    for path in spec["paths"].as_object().unwrap().keys() {
        assert!(
            html.contains(&format!("data-path=\"{path}\"")),
            "Swagger UI does not show {path}; the page was: {}",
            &html[..html.len().min(2000)]
        );
    }
}

#[test]
fn simulated_nodes_started_apart_serve_one_chain() {
    // Two nodes, as a cluster starts them: one after the other, each on its own port.
    let start = |pause: Duration| {
        std::thread::sleep(pause);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = lotus_rest();
        cmd.args([
            "simulate",
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{port}/http"),
            "--block-time",
            "30s",
        ]);
        let node = Running::start(cmd);
        let out = node.wait_for("read token:", false);
        (node, value_after(&out, "JSON-RPC:").to_string())
    };
    let (_a, a) = start(Duration::ZERO);
    // A second apart: their start times differ, their chains must not.
    let (_b, b) = start(Duration::from_millis(1100));
    let client = reqwest::blocking::Client::new();
    let tipset = |url: &str, height: i64| -> serde_json::Value {
        let res: serde_json::Value = client
            .post(url)
            .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1,
                "method": "Filecoin.ChainGetTipSetByHeight", "params": [height, []]}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        res["result"].clone()
    };
    let head: serde_json::Value = client
        .post(&a)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "Filecoin.ChainHead", "params": []}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let height = head["result"]["Height"].as_i64().unwrap();
    assert!(height >= 200, "{head}");
    for h in [1, 150, height - 1] {
        let (x, y) = (tipset(&a, h), tipset(&b, h));
        assert!(x["Cids"].is_array(), "{x}");
        assert_eq!(x["Cids"], y["Cids"], "height {h}");
    }
}
