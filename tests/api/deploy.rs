//! Deployment: HTTPS with certificate reload, metrics, graceful shutdown, CORS.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use lotus_rest::auth::{Perm, Secret};

use crate::cli::{lotus_rest, Running};
use crate::common::{Harness, Options};

/// A CA and a certificate for localhost and 127.0.0.1 signed by it, as PEM.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki(name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("test CA {name}"));
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn client_trusting(ca_pem: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .tls_backend_rustls()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A simulated node in a thread of its own, for tests that run the gateway as a separate process.
struct SimThread {
    url: String,
    secret: Secret,
    handle: lotus_rest::sim::SimHandle,
}

fn sim_thread() -> SimThread {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let secret = Secret::generate();
            let mut config = lotus_rest::sim::SimConfig::new(secret.clone());
            config.block_time = Duration::from_secs(3600);
            let sim = lotus_rest::sim::start(config, TcpListener::bind("127.0.0.1:0").unwrap())
                .await
                .unwrap();
            tx.send(SimThread {
                url: sim.url(),
                secret,
                handle: sim.clone(),
            })
            .unwrap();
            std::future::pending::<()>().await;
        })
    });
    rx.recv().unwrap()
}

/// `lotus-rest run` over HTTPS in front of `sim`, with `pki`'s certificate and key written to `dir`: the command (to
/// add settings to), its port, and the certificate and key files.
struct HttpsGateway {
    cmd: std::process::Command,
    port: u16,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn https_gateway(sim: &SimThread, dir: &std::path::Path, pki: &Pki) -> HttpsGateway {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &pki.cert_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    let port = free_port();
    let mut cmd = lotus_rest();
    cmd.args([
        "run",
        "--listen",
        &format!("/ip4/127.0.0.1/tcp/{port}/https"),
    ])
    .env("LOTUS_REST_FULLNODE_APIINFO", &sim.url)
    .env("LOTUS_REST_API_TLSCERTFILE", &cert)
    .env("LOTUS_REST_API_TLSKEYFILE", &key);
    HttpsGateway {
        cmd,
        port,
        cert,
        key,
    }
}

/// A stream whose client closes its TLS connection frees its place at once, not at its next heartbeat (an hour
/// here, and the head does not move): the only place is free again for the next client.
#[test]
fn a_closed_https_stream_frees_its_place_at_once() {
    use std::io::Read;
    let sim = sim_thread();
    let dir = tempfile::tempdir().unwrap();
    let pki = pki("streams");
    let HttpsGateway { mut cmd, port, .. } = https_gateway(&sim, dir.path(), &pki);
    cmd.env("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false")
        .env("LOTUS_REST_STREAMS_MAXSTREAMS", "1")
        .env("LOTUS_REST_STREAMS_HEARTBEAT", "1h");
    let gw = Running::start(cmd);
    gw.wait_for("listening on", true);
    let url = format!("https://localhost:{port}/v1/streams/heads");
    let client = || {
        reqwest::blocking::Client::builder()
            .tls_backend_rustls()
            .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()])
            .http1_only()
            .build()
            .unwrap()
    };
    // Each stream on a connection of its own, closed when the stream is dropped; the one that gets the place
    // next is the next round's.
    let mut stream = client().get(&url).send().unwrap();
    assert_eq!(stream.status(), 200);
    for round in 0..3 {
        let mut first = [0u8; 64];
        let n = stream.read(&mut first).unwrap();
        assert!(n > 0, "round {round}: the stream starts");
        let refused = client().get(&url).send().unwrap();
        assert_eq!(
            refused.status(),
            503,
            "round {round}: the one place is taken"
        );
        drop(stream);
        let deadline = Instant::now() + Duration::from_secs(10);
        stream = loop {
            let res = client().get(&url).send().unwrap();
            if res.status() == 200 {
                break res;
            }
            assert_eq!(res.status(), 503);
            assert!(
                Instant::now() < deadline,
                "round {round}: the place is still held 10 s after its client left"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
    }
}

#[test]
fn https_serves_and_reloads_its_certificate_on_sighup() {
    let sim = sim_thread();
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (pki("one"), pki("two"));
    let HttpsGateway {
        cmd,
        port,
        cert,
        key,
    } = https_gateway(&sim, dir.path(), &first);
    let gw = Running::start(cmd);
    gw.wait_for("listening on", true);
    let base = format!("https://localhost:{port}");

    let old = client_trusting(&first.ca_pem);
    let res = old.get(format!("{base}/v1/chain/head")).send().unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.json::<serde_json::Value>().unwrap()["Height"].is_i64());
    let new = client_trusting(&second.ca_pem);
    assert!(
        new.get(format!("{base}/healthz")).send().is_err(),
        "not yet the second certificate"
    );
    // Plain HTTP on the TLS port gets nowhere.
    assert!(
        reqwest::blocking::get(format!("http://127.0.0.1:{port}/healthz"))
            .map(|r| !r.status().is_success())
            .unwrap_or(true)
    );

    std::fs::write(&cert, &second.cert_pem).unwrap();
    std::fs::write(&key, &second.key_pem).unwrap();
    let pid = gw.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    gw.wait_for("reloaded the TLS certificate", true);
    let res = new.get(format!("{base}/healthz")).send().unwrap();
    assert_eq!(res.status(), 200, "new handshakes get the new certificate");
    // The connection opened before the reload is still served.
    let res = old.get(format!("{base}/healthz")).send().unwrap();
    assert_eq!(res.status(), 200);

    // A broken certificate file is refused at reload and the one in use stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    gw.wait_for("kept the TLS certificate in use", true);
    let fresh = client_trusting(&second.ca_pem);
    assert_eq!(
        fresh
            .get(format!("{base}/healthz"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn https_without_certificate_files_is_refused_at_start() {
    let out = lotus_rest()
        .args(["run", "--listen", "/ip4/127.0.0.1/tcp/0/https"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TlsCertFile"), "{err}");
}

#[test]
fn sigterm_lets_a_slow_request_finish_then_exits_zero() {
    let sim = sim_thread();
    let port = free_port();
    let mut cmd = lotus_rest();
    cmd.args(["run", "--listen", &format!("127.0.0.1:{port}")])
        .env("LOTUS_REST_FULLNODE_APIINFO", &sim.url);
    let mut gw = Running::start(cmd);
    gw.wait_for("listening on", true);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        reqwest::blocking::get(format!("{base}/healthz"))
            .unwrap()
            .status(),
        200
    );
    let _ = &sim.secret;

    sim.handle.set_stall(Some(Duration::from_millis(1500)));
    // State at the head is read from the node, so this request takes the stall's 1.5 s.
    let account = sim.handle.accounts()[0].id.clone();
    let slow = std::thread::spawn(move || {
        let started = Instant::now();
        let res = reqwest::blocking::Client::new()
            .get(format!("{base}/v1/actors/{account}"))
            .timeout(Duration::from_secs(20))
            .send()
            .unwrap();
        let status = res.status().as_u16();
        (status, res.text().unwrap(), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(400));
    let start = Instant::now();
    let pid = gw.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (status, body, took) = slow.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        took >= Duration::from_millis(1400),
        "the request was not slow: {took:?}"
    );
    exits_zero_within_15_s(&mut gw, start);
}

#[test]
fn sigterm_closes_websockets_with_a_close_frame_and_exits_zero() {
    use tokio_tungstenite::tungstenite::{self, protocol::frame::coding::CloseCode, Message};
    let sim = sim_thread();
    let port = free_port();
    let mut cmd = lotus_rest();
    cmd.args(["run", "--listen", &format!("127.0.0.1:{port}")])
        .env("LOTUS_REST_FULLNODE_APIINFO", &sim.url);
    let mut gw = Running::start(cmd);
    gw.wait_for("listening on", true);
    let (mut ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/rpc/v1")).unwrap();
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"Filecoin.ChainNotify","params":[],"id":1}"#,
    ))
    .unwrap();
    // The channel opens and its first value (the current head) comes.
    let mut values = 0;
    while values < 1 {
        if let Message::Text(text) = ws.read().unwrap() {
            if text.contains("xrpc.ch.val") {
                values += 1;
            }
        }
    }
    let start = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let frame = loop {
        match ws.read() {
            Ok(Message::Close(frame)) => break frame,
            Ok(_) => {}
            Err(e) => panic!("the socket ended without a close frame: {e}"),
        }
    };
    let frame = frame.expect("a close frame with a reason");
    assert_eq!(frame.code, CloseCode::Away, "{frame:?}");
    assert!(frame.reason.contains("shutting down"), "{frame:?}");
    exits_zero_within_15_s(&mut gw, start);
}

/// Waits for the gateway to exit, at most 15 s after `start`, and checks that it exited with 0.
fn exits_zero_within_15_s(gw: &mut Running, start: Instant) {
    let exit = loop {
        if let Some(status) = gw.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the gateway did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
}

/// The value of one sample line of the Prometheus text, 0 when absent.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[actix_web::test]
async fn metrics_count_exactly_the_requests_sent() {
    let h = Harness::with(Options {
        secret_known: false,
        vars: vec![("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into())],
        ..Options::default()
    })
    .await;
    let before = h.get("/metrics", None).await;
    assert_eq!(before.status, 200);
    assert!(before
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let before = before.text;
    let token = h.token_up_to(Perm::Sign);
    for _ in 0..7 {
        assert_eq!(h.get("/v1/chain/head", Some(&token)).await.status, 200);
    }
    for _ in 0..3 {
        assert_eq!(h.get("/v1/no-such-route", None).await.status, 404);
    }
    // A route with a parameter is labelled with its pattern, not its path.
    for address in ["f01000", "f01001"] {
        h.get(&format!("/v1/actors/{address}"), None).await;
    }
    let after = h.get("/metrics", None).await.text;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    let head = [
        ("route", "/v1/chain/head"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(delta("lotus_rest_http_requests_total", &head), 7.0);
    assert_eq!(
        delta(
            "lotus_rest_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        3.0
    );
    assert_eq!(
        delta(
            "lotus_rest_http_request_duration_seconds_count",
            &[("route", "/v1/chain/head")]
        ),
        7.0
    );
    assert_eq!(
        delta(
            "lotus_rest_http_request_duration_seconds_count",
            &[("route", "/v1/actors/{address}")]
        ),
        2.0
    );
    assert_eq!(
        delta(
            "lotus_rest_upstream_calls_total",
            &[("upstream", "node"), ("method", "Filecoin.ChainHead")]
        ),
        7.0
    );
    assert_eq!(
        delta(
            "lotus_rest_upstream_call_duration_seconds_count",
            &[("method", "Filecoin.ChainHead")]
        ),
        7.0
    );
    assert_eq!(
        delta("lotus_rest_token_verify_cache_total", &[("result", "miss")]),
        1.0
    );
    assert_eq!(
        delta("lotus_rest_token_verify_cache_total", &[("result", "hit")]),
        6.0
    );
    // The scrape itself is the one request in flight.
    assert_eq!(
        sample(&after, "lotus_rest_http_requests_in_flight", &[]),
        1.0
    );

    assert_eq!(h.get("/v1/actors/t0999999", None).await.status, 404);
    let failed = h.get("/metrics", None).await.text;
    assert_eq!(
        sample(
            &failed,
            "lotus_rest_upstream_errors_total",
            &[("method", "Filecoin.StateGetActor"), ("kind", "rpc_error")]
        ),
        1.0
    );
}

#[actix_web::test]
async fn cors_is_off_by_default_and_preflight_never_reaches_the_node() {
    let off = Harness::start().await;
    let res = off
        .http
        .get(format!("{}/v1/chain/head", off.base))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let h = Harness::with(Options {
        vars: vec![(
            "LOTUS_REST_API_CORSALLOWEDORIGINS",
            "https://app.example".into(),
        )],
        ..Options::default()
    })
    .await;
    let res = h
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/chain/head", h.base),
        )
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(h.sim.calls().is_empty(), "a preflight reached the node");
    let res = h
        .http
        .get(format!("{}/v1/chain/head", h.base))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let res = h
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/chain/head", h.base),
        )
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
