//! Live streams: SSE and NDJSON fan-out of one upstream subscription, replay with Last-Event-ID, reconnection,
//! cancellation when the last client leaves, and slow clients cut off.

use std::time::{Duration, Instant};

use lotus_rest::auth::Perm;
use serde_json::Value;

use crate::common::{Harness, Options, PATIENCE};

/// One event as a client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub id: Option<u64>,
    pub event: String,
    pub data: Value,
}

/// Reads a stream's events, SSE or NDJSON.
pub struct Reader {
    res: reqwest::Response,
    buf: String,
    ndjson: bool,
}

impl Reader {
    pub async fn open(h: &Harness, path: &str, ndjson: bool, last: Option<u64>) -> Reader {
        // A client of its own: the harness's has an overall timeout, which a long stream outlives.
        let mut req = reqwest::Client::new()
            .get(format!("{}{path}", h.base))
            .bearer_auth(h.token_up_to(Perm::Read));
        if ndjson {
            req = req.header("Accept", "application/x-ndjson");
        }
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.expect("the stream opens");
        assert_eq!(res.status(), 200);
        let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(
            ctype,
            if ndjson {
                "application/x-ndjson"
            } else {
                "text/event-stream"
            }
        );
        Reader {
            res,
            buf: String::new(),
            ndjson,
        }
    }

    /// The next event (heartbeats skipped), or `None` when the stream ends.
    pub async fn next(&mut self) -> Option<Seen> {
        loop {
            if let Some(seen) = self.take() {
                return Some(seen);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.res.chunk())
                .await
                .expect("an event within 10 s");
            match chunk {
                Ok(Some(bytes)) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                _ => return None,
            }
        }
    }

    fn take(&mut self) -> Option<Seen> {
        loop {
            let sep = if self.ndjson { "\n" } else { "\n\n" };
            let end = self.buf.find(sep)?;
            let frame: String = self.buf.drain(..end + sep.len()).collect();
            let frame = frame.trim_end_matches('\n');
            if self.ndjson {
                if frame.trim().is_empty() {
                    continue; // heartbeat
                }
                let v: Value = serde_json::from_str(frame).unwrap();
                return Some(Seen {
                    id: v.get("id").and_then(Value::as_u64),
                    event: v["event"].as_str().unwrap().to_string(),
                    data: v["data"].clone(),
                });
            }
            let (mut id, mut event, mut data) = (None, None, None);
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.parse().unwrap());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(v).unwrap());
                }
            }
            if let (Some(event), Some(data)) = (event, data) {
                return Some(Seen { id, event, data });
            }
            // A comment (heartbeat) or the retry line.
        }
    }
}

fn options(vars: Vec<(&'static str, String)>) -> Options {
    // A short heartbeat keeps idle streams talking, as a client behind a proxy would need.
    let mut all = vec![
        ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".to_string()),
        ("LOTUS_REST_STREAMS_HEARTBEAT", "200ms".to_string()),
    ];
    all.extend(vars);
    Options {
        vars: all,
        ..Default::default()
    }
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[actix_web::test]
async fn clients_share_one_subscription_see_the_same_events_and_survive_a_dropped_websocket() {
    let h = Harness::with(options(vec![])).await;
    let mut a = Reader::open(&h, "/v1/streams/heads", false, None).await;
    let first = a.next().await.unwrap();
    assert_eq!(first.event, "current");
    assert_eq!(first.data["Height"], h.sim.head().height);
    let mut b = Reader::open(&h, "/v1/streams/heads", false, None).await;
    let mut c = Reader::open(&h, "/v1/streams/heads", true, None).await;
    // Late joiners start from the current head too, with the same id.
    assert_eq!(b.next().await.unwrap(), first);
    assert_eq!(c.next().await.unwrap(), first);
    assert_eq!(
        h.sim.channels(),
        1,
        "one upstream subscription for all clients"
    );

    let mut expected = Vec::new();
    while expected.len() < 3 {
        let before = h.sim.head().height;
        h.sim.advance();
        if h.sim.head().height != before {
            expected.push(h.sim.head().height);
        }
    }
    let mut seen = [Vec::new(), Vec::new(), Vec::new()];
    for (i, reader) in [&mut a, &mut b, &mut c].into_iter().enumerate() {
        for _ in 0..3 {
            seen[i].push(reader.next().await.unwrap());
        }
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2], "NDJSON carries the same events");
    let heights: Vec<i64> = seen[0]
        .iter()
        .map(|s| s.data["Height"].as_i64().unwrap())
        .collect();
    assert_eq!(heights, expected);
    assert!(seen[0].iter().all(|s| s.event == "apply"));
    let ids: Vec<u64> = seen[0].iter().map(|s| s.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");

    // The node's WebSocket side goes away: the clients are told, the subscription comes back, heads go on.
    h.sim.drop_websockets().await;
    for reader in [&mut a, &mut b, &mut c] {
        assert_eq!(reader.next().await.unwrap().event, "upstream_lost");
        assert_eq!(reader.next().await.unwrap().event, "upstream_restored");
        let current = reader.next().await.unwrap();
        assert_eq!(current.event, "current");
        assert_eq!(current.data["Height"], h.sim.head().height);
    }
    loop {
        let before = h.sim.head().height;
        h.sim.advance();
        if h.sim.head().height != before {
            break;
        }
    }
    for reader in [&mut a, &mut b, &mut c] {
        let next = reader.next().await.unwrap();
        assert_eq!(next.event, "apply");
        assert_eq!(next.data["Height"], h.sim.head().height);
    }
    assert_eq!(h.sim.channels(), 1);

    // The last client to leave cancels the upstream subscription.
    drop(a);
    drop(b);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.sim.channels(), 1, "a client is still there");
    drop(c);
    let mut open = String::new();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let metrics = h.get("/metrics", None).await.text;
        open = metrics
            .lines()
            .find(|l| l.starts_with("lotus_rest_streams{what=\"open\"}"))
            .unwrap_or_default()
            .to_string();
        if open.ends_with(" 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        open.ends_with(" 0"),
        "the gateway saw the clients go: {open}"
    );
    wait_for("the gateway to send xrpc.cancel", || {
        h.sim.calls().iter().any(|m| m == "xrpc.cancel")
    })
    .await;
    wait_for("the upstream subscription to end", || h.sim.channels() == 0).await;
}

#[actix_web::test]
async fn a_reconnecting_client_gets_what_it_missed() {
    let h = Harness::with(options(vec![])).await;
    let mut a = Reader::open(&h, "/v1/streams/heads", false, None).await;
    let first = a.next().await.unwrap();
    // Another client keeps the subscription open while the first is away.
    let mut keeper = Reader::open(&h, "/v1/streams/heads", true, None).await;
    keeper.next().await.unwrap();
    drop(a);
    let mut missed = Vec::new();
    while missed.len() < 2 {
        let before = h.sim.head().height;
        h.sim.advance();
        if h.sim.head().height != before {
            missed.push(h.sim.head().height);
            keeper.next().await.unwrap();
        }
    }
    let mut a = Reader::open(&h, "/v1/streams/heads", false, first.id).await;
    for height in missed {
        let e = a.next().await.unwrap();
        assert_eq!(
            (e.event.as_str(), e.data["Height"].as_i64()),
            ("apply", Some(height))
        );
    }
    // An id the gateway no longer holds (or never gave) is said so, then the current head follows.
    let mut b = Reader::open(&h, "/v1/streams/heads", false, Some(999_999)).await;
    let e = b.next().await.unwrap();
    assert_eq!(e.event, "missed", "{e:?}");
    let r = h
        .http
        .get(format!("{}/v1/streams/heads", h.base))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[actix_web::test]
async fn a_slow_client_is_cut_off_and_memory_stays_bounded() {
    let h = Harness::with(options(vec![
        ("LOTUS_REST_STREAMS_CLIENTQUEUE", "8".into()),
        ("LOTUS_REST_STREAMS_BUFFEREVENTS", "8".into()),
    ]))
    .await;
    let mut slow = Reader::open(&h, "/v1/streams/heads", false, None).await;
    slow.next().await.unwrap();
    let mut fast = Reader::open(&h, "/v1/streams/heads", true, None).await;
    fast.next().await.unwrap();
    // The slow client reads nothing while thousands of heads go by; the fast one keeps up.
    let mut produced = 0;
    while produced < 2000 {
        let before = h.sim.head().height;
        h.sim.advance();
        if h.sim.head().height != before {
            produced += 1;
            let e = fast.next().await.unwrap();
            assert_eq!(e.event, "apply");
            if produced % 500 == 0 {
                let queued = h
                    .gauge("lotus_rest_streams{what=\"queued_events\"}")
                    .await
                    .expect("the queued events gauge");
                assert!(
                    queued <= 2 * (8 + 8 + 2),
                    "events queued for clients: {queued}"
                );
            }
        }
    }
    // What the slow client gets: what was in flight, then the error event, then the end.
    let mut got = 0;
    let last = loop {
        match slow.next().await {
            Some(e) if e.event == "apply" => got += 1,
            Some(e) => break e,
            None => panic!("the stream ended without an error event"),
        }
    };
    assert_eq!(last.event, "error", "{last:?}");
    assert!(last.data["detail"]
        .as_str()
        .unwrap()
        .contains("fell more than 8 events behind"));
    assert!(
        slow.next().await.is_none(),
        "the stream ends after the error"
    );
    assert!(
        got < 2000,
        "the slow client was cut off, not buffered: it got {got}"
    );
    let metrics = h.get("/metrics", None).await.text;
    assert!(
        metrics.contains("lotus_rest_streams{what=\"open\"} 1"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn mpool_and_block_streams() {
    let h = Harness::with(options(vec![])).await;
    let mut pool = Reader::open(&h, "/v1/streams/mpool", true, None).await;
    let mut blocks = Reader::open(&h, "/v1/streams/blocks", false, None).await;
    wait_for("both subscriptions", || h.sim.channels() == 2).await;
    let accounts = h.sim.accounts();
    let signed = h
        .sim
        .push_message(&accounts[0].id, &accounts[1].id, 1000)
        .unwrap();
    let added = pool.next().await.unwrap();
    assert_eq!(added.event, "mpool");
    assert_eq!(added.data["Type"], 0);
    assert_eq!(
        added.data["Message"]["CID"],
        serde_json::to_value(&signed.cid).unwrap()
    );
    loop {
        let before = h.sim.head().height;
        h.sim.advance();
        if h.sim.head().height != before {
            break;
        }
    }
    let removed = pool.next().await.unwrap();
    assert_eq!(removed.data["Type"], 1, "mined messages leave the pool");
    let head = h.sim.head();
    for block in &head.blocks {
        let e = blocks.next().await.unwrap();
        assert_eq!(e.event, "block");
        assert_eq!(e.data, serde_json::to_value(block).unwrap());
    }
}

#[actix_web::test]
async fn streams_need_read_and_are_limited() {
    let h = Harness::with(Options {
        anonymous: "none",
        vars: vec![
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
            ("LOTUS_REST_STREAMS_HEARTBEAT", "200ms".into()),
            ("LOTUS_REST_STREAMS_MAXSTREAMS", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let r = h.get("/v1/streams/heads", None).await;
    r.problem(401, "unauthorized");
    let r = h
        .get(
            "/v1/streams/heads",
            Some(&h.secret.mint(lotus_rest::auth::PermSet::EMPTY)),
        )
        .await;
    r.problem(403, "insufficient_permission");
    assert_eq!(h.sim.channels(), 0);
    let mut one = Reader::open(&h, "/v1/streams/heads", false, None).await;
    one.next().await.unwrap();
    let r = h
        .get("/v1/streams/blocks", Some(&h.token_up_to(Perm::Read)))
        .await;
    let p = r.problem(503, "upstream_unavailable");
    assert!(p["detail"].as_str().unwrap().contains("MaxStreams"), "{p}");
    assert!(r.header("retry-after").is_some());
    drop(one);
    wait_for("the stream to close", || h.sim.channels() == 0).await;
    // A place is free again.
    let _again = Reader::open(&h, "/v1/streams/blocks", false, None).await;
}

/// A client that closes its connection frees its stream's place at once, not at the next heartbeat or event
/// (neither comes within the test: a heartbeat an hour, the head still): SSE and NDJSON, the open-streams gauge
/// back to 0 and the node's subscription cancelled.
#[actix_web::test]
async fn a_stream_frees_its_place_as_soon_as_its_client_leaves() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
            ("LOTUS_REST_STREAMS_HEARTBEAT", "1h".into()),
            ("LOTUS_REST_STREAMS_MAXSTREAMS", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    for ndjson in [false, true, false] {
        let mut one = Reader::open(&h, "/v1/streams/heads", ndjson, None).await;
        assert_eq!(one.next().await.unwrap().event, "current");
        let open = r#"lotus_rest_streams{what="open"}"#;
        assert_eq!(h.gauge(open).await, Some(1));
        let r = h
            .get("/v1/streams/heads", Some(&h.token_up_to(Perm::Read)))
            .await;
        r.problem(503, "upstream_unavailable");
        drop(one);
        let deadline = Instant::now() + PATIENCE;
        while h.gauge(open).await != Some(0) {
            assert!(
                Instant::now() < deadline,
                "the stream still open after its client left"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        wait_for("the node's subscription to end", || h.sim.channels() == 0).await;
    }
}

/// Two replicas number their events from starts of their own: a `Last-Event-ID` one gave is answered by the other
/// with `missed` and the current head, never with a replay of its own events after that number.
#[actix_web::test]
async fn an_event_id_from_another_replica_is_not_replayed() {
    let (one, other) = (
        Harness::with(options(vec![])).await,
        Harness::with(options(vec![])).await,
    );
    // The other replica holds events to replay.
    let mut keeper = Reader::open(&other, "/v1/streams/heads", true, None).await;
    keeper.next().await.unwrap();
    let mut applied = 0;
    while applied < 2 {
        let before = other.sim.head().height;
        other.sim.advance();
        if other.sim.head().height != before {
            applied += 1;
            keeper.next().await.unwrap();
        }
    }
    let mut first = Reader::open(&one, "/v1/streams/heads", false, None).await;
    let given = first.next().await.unwrap();
    assert!(given.id.is_some(), "{given:?}");
    let mut moved = Reader::open(&other, "/v1/streams/heads", false, given.id).await;
    let e = moved.next().await.unwrap();
    assert_eq!(e.event, "missed", "{e:?}");
    let e = moved.next().await.unwrap();
    assert_eq!(e.event, "current", "{e:?}");
}
