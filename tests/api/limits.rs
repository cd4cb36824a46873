//! Limits: calls in flight to the node, request body size.

use std::time::{Duration, Instant};

use crate::common::{Harness, Options};

#[actix_web::test]
async fn excess_upstream_calls_wait_then_get_503_with_retry_after() {
    let h = Harness::with(Options {
        // Longer than the node's stall below, so that the first call succeeds.
        timeout: "10s",
        vars: vec![
            ("LOTUS_REST_FULLNODE_MAXCONCURRENTCALLS", "1".into()),
            ("LOTUS_REST_FULLNODE_QUEUETIMEOUT", "200ms".into()),
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
        ],
        ..Options::default()
    })
    .await;
    let accounts = h.sim.accounts();
    h.sim.set_stall(Some(Duration::from_millis(3000)));
    let start = Instant::now();
    let first = format!("/v1/actors/{}", accounts[0].id);
    let slow = async {
        let r = h.get(&first, None).await;
        (r, start.elapsed())
    };
    let queued = async {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        let r = h.get(&format!("/v1/actors/{}", accounts[1].id), None).await;
        (r, start.elapsed())
    };
    let ((slow, slow_at), (queued, at)) = futures_util::join!(slow, queued);
    assert_eq!(slow.status, 200, "{}", slow.text);
    let p = queued.problem(503, "upstream_unavailable");
    assert_eq!(queued.header("retry-after"), Some("1"));
    assert!(p["detail"].as_str().unwrap().contains("in flight"), "{p}");
    // It was answered while the first call was still in flight (held up by the node's stall), not after it.
    assert!(
        at < slow_at && slow_at >= Duration::from_millis(3000),
        "the queued request waited {at:?}, the first took {slow_at:?}"
    );
    // Health stays up, and the gateway recovers when the node does.
    h.sim.set_stall(None);
    assert_eq!(h.get("/healthz", None).await.status, 200);
    assert_eq!(
        h.get(&format!("/v1/actors/{}", accounts[1].id), None)
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn rate_limit_per_client_address_weighs_state_reads() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_RATELIMIT_PERIP", "3".into()),
            ("LOTUS_REST_RATELIMIT_BURSTSECONDS", "2".into()),
        ],
        ..Options::default()
    })
    .await;
    let path = format!("/v1/actors/{}", h.sim.accounts()[0].id);
    // The harness spent part of the bucket at start; wait for it to fill again.
    actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
    // A state read costs 3 of the 6 the bucket holds.
    for expected_remaining in ["3", "0"] {
        let r = h.get(&path, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("ratelimit-limit"), Some("6"));
        assert_eq!(r.header("ratelimit-remaining"), Some(expected_remaining));
    }
    h.sim.reset_calls();
    let r = h.get(&path, None).await;
    let p = r.problem(429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("1"), "{p}");
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-reset"), Some("1"));
    assert!(
        h.sim.calls().is_empty(),
        "a limited request reached the node"
    );
    // Health and metrics are not limited.
    for _ in 0..10 {
        assert_eq!(h.get("/healthz", None).await.status, 200);
    }
    // A second later the bucket holds 3 units again.
    actix_web::rt::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(h.get(&path, None).await.status, 200);
}

#[actix_web::test]
async fn rate_limit_per_token_is_per_token() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_RATELIMIT_PERTOKEN", "2".into()),
            ("LOTUS_REST_RATELIMIT_BURSTSECONDS", "2".into()),
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
        ],
        ..Options::default()
    })
    .await;
    let a = h.token_up_to(lotus_rest::auth::Perm::Write);
    let b = h.token_up_to(lotus_rest::auth::Perm::Sign);
    // The head costs 2 (a Chain method) of the token's 4.
    for _ in 0..2 {
        assert_eq!(h.get("/v1/chain/head", Some(&a)).await.status, 200);
    }
    h.get("/v1/chain/head", Some(&a))
        .await
        .problem(429, "rate_limited");
    assert_eq!(
        h.get("/v1/chain/head", Some(&b)).await.status,
        200,
        "another token has its own bucket"
    );
    assert_eq!(
        h.get("/v1/chain/head", None).await.status,
        200,
        "no token, no token bucket"
    );
}

#[actix_web::test]
async fn the_lookback_cap_refuses_old_reads() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_CHAIN_MAXLOOKBACK", "10".into())],
        ..Options::default()
    })
    .await;
    let head = h.sim.head().height;
    let old = (1..head - 20)
        .rev()
        .find(|x| h.sim.tipset_at(*x).is_some())
        .unwrap();
    let recent = (head - 9..head)
        .rev()
        .find(|x| h.sim.tipset_at(*x).is_some())
        .unwrap();
    let p = h
        .get(&format!("/v1/tipsets/{old}"), None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("MaxLookback"), "{p}");
    assert_eq!(
        h.get(&format!("/v1/tipsets/{recent}"), None).await.status,
        200
    );
    let account = &h.sim.accounts()[0].id;
    h.get(&format!("/v1/actors/{account}?height={old}"), None)
        .await
        .problem(400, "invalid_parameter");
    let old_key: Vec<String> = h
        .sim
        .tipset_at(old)
        .unwrap()
        .cids
        .into_iter()
        .map(|c| c.root)
        .collect();
    h.get(
        &format!("/v1/actors/{account}?tipset={}", old_key.join(",")),
        None,
    )
    .await
    .problem(400, "invalid_parameter");
    assert_eq!(
        h.get(&format!("/v1/actors/{account}?height={recent}"), None)
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn public_mode_reads_anonymously_with_limits_on() {
    let h = Harness::with(Options {
        anonymous: "none",
        vars: vec![("LOTUS_REST_API_PUBLIC", "true".into())],
        ..Options::default()
    })
    .await;
    // Anonymous read is on whatever [Auth] Anonymous says, and rate limits per address apply.
    let r = h.get("/v1/chain/head", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("ratelimit-limit"), Some("60"));
    let spec = h.get("/openapi.json", None).await.json();
    assert_eq!(
        spec["paths"]["/v1/chain/head"]["get"]["security"][1],
        serde_json::json!({})
    );
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_API_MAXREQUESTBODYBYTES", "1024".into())],
        ..Options::default()
    })
    .await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"Filecoin.ChainHead","params":["{}"],"id":1}}"#,
        "x".repeat(4096)
    );
    let res = h
        .http
        .post(format!("{}/rpc/v1", h.base))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    crate::common::Reply::from(res)
        .await
        .problem(413, "payload_too_large");
    assert!(h.sim.calls().is_empty());
}

#[actix_web::test]
async fn a_client_that_sends_its_headers_too_slowly_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_API_CLIENTREQUESTTIMEOUT", "1s".into())],
        ..Options::default()
    })
    .await;
    let addr = h.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "the connection was held open");
    // Cut off at the configured 1 s, not at the default of 5 s.
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "cut off after {:?}",
        start.elapsed()
    );
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // Everyone else is still served.
    assert_eq!(h.get("/healthz", None).await.status, 200);
}

#[actix_web::test]
async fn headers_over_the_limit_are_431() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_API_MAXHEADERBYTES", "4096".into())],
        ..Options::default()
    })
    .await;
    let res = h
        .http
        .get(format!("{}/v1/chain/head", h.base))
        .header("X-Padding", "x".repeat(8000))
        .send()
        .await
        .unwrap();
    let p = crate::common::Reply::from(res)
        .await
        .problem(431, "headers_too_large");
    assert!(p["detail"].as_str().unwrap().contains("4096"), "{p}");
    assert!(h.sim.calls().is_empty());
    assert_eq!(h.get("/v1/chain/head", None).await.status, 200);
}
