//! Limits: calls in flight to the node, request body size.

use std::time::{Duration, Instant};

use crate::common::{Harness, Options};

#[actix_web::test]
async fn excess_upstream_calls_wait_then_get_503_with_retry_after() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_FULLNODE_MAXCONCURRENTCALLS", "1".into()),
            ("LOTUS_REST_FULLNODE_QUEUETIMEOUT", "200ms".into()),
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
        ],
        ..Options::default()
    })
    .await;
    let accounts = h.sim.accounts();
    h.sim.set_stall(Some(Duration::from_millis(1000)));
    let start = Instant::now();
    let first = format!("/v1/actors/{}", accounts[0].id);
    let slow = h.get(&first, None);
    let queued = async {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        let r = h.get(&format!("/v1/actors/{}", accounts[1].id), None).await;
        (r, start.elapsed())
    };
    let (slow, (queued, at)) = futures_util::join!(slow, queued);
    assert_eq!(slow.status, 200, "{}", slow.text);
    let p = queued.problem(503, "upstream_unavailable");
    assert_eq!(queued.header("retry-after"), Some("1"));
    assert!(p["detail"].as_str().unwrap().contains("in flight"), "{p}");
    assert!(
        at < Duration::from_millis(900),
        "the queued request waited {at:?}"
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
