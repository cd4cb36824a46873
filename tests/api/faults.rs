//! Upstream faults map to the right status, quickly.

use std::time::{Duration, Instant};

use crate::common::{Harness, Options};

#[actix_web::test]
async fn a_stopped_node_is_502_within_a_second() {
    let h = Harness::start().await;
    // A read of state at the head always asks the node (the head itself may come from the stream).
    let path = format!("/v1/actors/{}", h.sim.accounts()[0].id);
    assert_eq!(h.get(&path, None).await.status, 200);
    h.sim.stop().await;
    let start = Instant::now();
    let r = h.get(&path, None).await;
    let elapsed = start.elapsed();
    let p = r.problem(502, "upstream_unreachable");
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert!(
        p["detail"].as_str().unwrap().contains("cannot reach"),
        "{p}"
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
    h.sim.set_stall(Some(Duration::from_secs(5)));
    let start = Instant::now();
    let r = h.get("/v1/chain/head", None).await;
    let elapsed = start.elapsed();
    r.problem(504, "upstream_timeout");
    assert!(
        elapsed >= Duration::from_millis(450) && elapsed < Duration::from_millis(2500),
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
