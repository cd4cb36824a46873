//! Upstream faults map to the right status, quickly.

use std::time::{Duration, Instant};

use crate::common::{Harness, Options};

#[actix_web::test]
async fn a_stopped_node_is_502_without_waiting_for_the_timeout() {
    // A call timeout far longer than a refused connection takes, even on a busy machine: an answer well before it
    // shows that the gateway did not wait for it.
    let h = Harness::with(Options {
        timeout: "60s",
        ..Options::default()
    })
    .await;
    // A read of state at the head always asks the node (the head itself may come from the stream).
    let path = format!("/v1/actors/{}", h.sim.accounts()[0].id);
    assert_eq!(h.get(&path, None).await.status, 200);
    h.sim.stop().await;
    let start = Instant::now();
    let r = h.get(&path, None).await;
    let elapsed = start.elapsed();
    let p = r.problem(502, "upstream_unreachable");
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    assert!(
        p["detail"].as_str().unwrap().contains("cannot reach"),
        "{p}"
    );
    // The node's address is the operator's business, never the client's.
    let node = h.sim.url();
    let port = node.rsplit(':').next().unwrap().trim_end_matches("/rpc/v1");
    assert!(
        !p.to_string().contains(port) && !p.to_string().contains("http://"),
        "{p} shows the node's address {node}"
    );
}

#[actix_web::test]
async fn a_stalled_node_is_504_at_the_timeout() {
    let h = Harness::with(Options {
        timeout: "500ms",
        // The head would otherwise come from the stream, which a stalled node does not hold up.
        vars: vec![("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into())],
        ..Options::default()
    })
    .await;
    // A stall far longer than the timeout: an answer well before the stall ends comes from the timeout.
    h.sim.set_stall(Some(Duration::from_secs(60)));
    let start = Instant::now();
    let r = h.get("/v1/chain/head", None).await;
    let elapsed = start.elapsed();
    r.problem(504, "upstream_timeout");
    assert!(
        elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(15),
        "took {elapsed:?}"
    );
    // The gateway recovers by itself when the node does.
    h.sim.set_stall(None);
    assert_eq!(h.get("/v1/chain/head", None).await.status, 200);
}

#[actix_web::test]
async fn no_node_configured_is_503_saying_how_to_configure_one() {
    let settings = lotus_rest::settings::Settings::load(
        &lotus_rest::settings::Overrides {
            config_file: None,
            listen: Some("127.0.0.1:0".into()),
        },
        &lotus_rest::settings::Env {
            home: Some("/nonexistent".into()),
            lotus_path: Some("/nonexistent/lotus".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let listener = lotus_rest::server::bind(&settings).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = lotus_rest::server::state(&settings).unwrap();
    let server = lotus_rest::server::serve(&settings, state, listener).unwrap();
    actix_web::rt::spawn(server);
    let res = reqwest::get(format!("{base}/v1/chain/head")).await.unwrap();
    let r = crate::common::Reply::from(res).await;
    let p = r.problem(503, "upstream_unavailable");
    assert!(
        p["detail"].as_str().unwrap().contains("FULLNODE_API_INFO"),
        "{p}"
    );
}

/// Every way the node's reply can go wrong gives its status quickly, health stays up, and the gateway recovers
/// by itself when the node does.
#[actix_web::test]
async fn each_upstream_fault_has_its_status_and_the_gateway_recovers() {
    use lotus_rest::sim::Fault;
    // A call timeout far longer than any of these faults takes to show: an answer well before it did not wait.
    let h = Harness::with(Options {
        timeout: "60s",
        vars: vec![
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
            ("LOTUS_REST_FULLNODE_MAXRESPONSEBYTES", "65536".into()),
            ("LOTUS_REST_CACHE_ENTRIES", "0".into()),
        ],
        ..Options::default()
    })
    .await;
    let cases = [
        (Fault::Status(500), 502, "upstream_bad_response", "500"),
        (Fault::Status(503), 503, "upstream_unavailable", "503"),
        (Fault::Status(429), 503, "upstream_unavailable", "429"),
        (Fault::Status(401), 502, "upstream_auth_failed", "401"),
        (
            Fault::NotJson,
            502,
            "upstream_bad_response",
            "not a JSON-RPC response",
        ),
        (
            Fault::WrongId,
            502,
            "upstream_bad_response",
            "does not match",
        ),
        (
            Fault::ResetMidBody,
            502,
            "upstream_unreachable",
            "cannot reach",
        ),
        (
            Fault::Oversized(200_000),
            502,
            "upstream_bad_response",
            "MaxResponseBytes",
        ),
    ];
    for (fault, status, code, words) in cases {
        h.sim.set_fault(Some(fault));
        let start = Instant::now();
        let r = h.get("/v1/chain/head", None).await;
        let p = r.problem(status, code);
        assert!(
            p["detail"].as_str().unwrap().contains(words),
            "{fault:?}: {p}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{fault:?} took {:?}",
            start.elapsed()
        );
        assert_eq!(h.get("/healthz", None).await.status, 200, "{fault:?}");
        h.sim.set_fault(None);
        let r = h.get("/v1/chain/head", None).await;
        assert_eq!(r.status, 200, "{fault:?}: no recovery: {}", r.text);
    }
}

/// The resident memory of this process, in KiB (Linux), for a rough check that load leaves nothing behind.
/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A few thousand requests at high concurrency, with the node misbehaving in turns: every request gets exactly one
/// well-formed answer, and memory comes back down. The gateway runs as a process of its own (the `lotus-rest`
/// binary), so its memory is measured apart from the tests running beside this one.
#[actix_web::test]
async fn load_with_faults_loses_nothing() {
    use lotus_rest::sim::Fault;
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = crate::cli::lotus_rest();
    cmd.args([
        "run",
        "--listen",
        &format!("/ip4/127.0.0.1/tcp/{port}/http"),
    ])
    .env("LOTUS_REST_FULLNODE_APIINFO", h.sim.url())
    .env("LOTUS_REST_FULLNODE_TIMEOUT", "1s")
    .env("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false")
    .env("LOTUS_REST_FULLNODE_MAXCONCURRENTCALLS", "64")
    .env("LOTUS_REST_FULLNODE_MAXRESPONSEBYTES", "65536")
    .env("LOTUS_PATH", dir.path().join("no-repo"))
    .env("LOTUS_MINER_PATH", dir.path().join("no-miner-repo"))
    .env("HOME", dir.path());
    let gateway = crate::cli::Running::start(cmd);
    let pid = gateway.child.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let started = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway never answered"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let accounts = h.sim.accounts();
    let round = |fault: Option<Fault>| {
        h.sim.set_fault(fault);
        let paths: Vec<String> = (0..300)
            .map(|i| match i % 3 {
                0 => "/v1/chain/head".to_string(),
                1 => format!("/v1/actors/{}", accounts[i % accounts.len()].id),
                _ => "/healthz".to_string(),
            })
            .collect();
        let http = http.clone();
        let base = base.clone();
        async move {
            let replies = futures_util::future::join_all(paths.iter().map(|p| {
                let req = http.get(format!("{base}{p}"));
                async move {
                    let r = req.send().await.expect("every request is answered");
                    let status = r.status().as_u16();
                    (status, r.text().await.expect("every answer is whole"))
                }
            }))
            .await;
            paths.into_iter().zip(replies).collect::<Vec<_>>()
        }
    };
    // A first round warms the gateway's pools and caches up; memory is measured from there.
    for (path, (status, text)) in round(None).await {
        assert_eq!(status, 200, "{path}: {text}");
    }
    let before = rss_kib(pid);
    let faults = [
        None,
        Some(Fault::Status(500)),
        None,
        Some(Fault::NotJson),
        None,
        Some(Fault::WrongId),
        None,
        Some(Fault::ResetMidBody),
        None,
        Some(Fault::Oversized(100_000)),
    ];
    let mut answered = 0;
    for (n, fault) in faults.iter().enumerate() {
        for (path, (status, text)) in round(*fault).await {
            let ok = match fault {
                None => status == 200,
                Some(_) if path == "/healthz" => status == 200,
                Some(_) => [502, 503].contains(&status),
            };
            assert!(ok, "round {n} ({fault:?}) {path}: {status} {text}");
            let body: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("round {n} {path}: not JSON ({e}): {text}"));
            if status != 200 {
                assert!(body["code"].is_string(), "{body}");
            }
            answered += 1;
        }
    }
    assert_eq!(answered, 3000);
    h.sim.set_fault(None);
    let r = http
        .get(format!("{base}/v1/chain/head"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the gateway recovers by itself");
    let (before, after) = (
        before.expect("the gateway's memory is readable"),
        rss_kib(pid).expect("the gateway's memory is readable"),
    );
    assert!(
        after < before + 32 * 1024,
        "the gateway's memory grew from {before} KiB to {after} KiB"
    );
}
