//! Caching of what never changes, ETags and 304s, and coalescing of identical reads.

use std::time::{Duration, Instant};

use crate::common::{Harness, Options, PATIENCE};

fn calls_of(h: &Harness, method: &str) -> usize {
    h.sim.calls().iter().filter(|c| *c == method).count()
}

#[actix_web::test]
async fn immutable_reads_are_cached_with_etags() {
    let h = Harness::start().await;
    let sample = h.sample().await;
    let path = format!("/v1/blocks/{}", sample.block);
    let first = h.get(&path, None).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let etag = first.header("etag").expect("an ETag").to_string();
    let second = h.get(&path, None).await;
    assert_eq!(second.text, first.text);
    assert_eq!(second.header("etag"), Some(etag.as_str()));
    assert_eq!(
        calls_of(&h, "Filecoin.ChainGetBlock"),
        1,
        "the second read is served from the cache"
    );

    let res = h
        .http
        .get(format!("{}{path}", h.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"], etag.as_str());
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(res.bytes().await.unwrap().is_empty());
    let res = h
        .http
        .get(format!("{}{path}", h.base))
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // State at an explicit tipset key never changes either.
    let account = &sample.account.id;
    for _ in 0..3 {
        let r = h
            .get(&format!("/v1/actors/{account}?tipset={}", sample.key), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
    }
    assert_eq!(calls_of(&h, "Filecoin.StateGetActor"), 1);
}

#[actix_web::test]
async fn mutable_reads_are_never_cached() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into())],
        ..Options::default()
    })
    .await;
    let account = h.sim.accounts()[0].id.clone();
    for path in [
        "/v1/chain/head".to_string(),
        format!("/v1/actors/{account}"),
    ] {
        h.sim.reset_calls();
        let first = h.get(&path, None).await;
        assert_eq!(first.status, 200);
        assert_eq!(first.header("cache-control"), Some("no-cache"), "{path}");
        let etag = first.header("etag").unwrap().to_string();
        let res = h
            .http
            .get(format!("{}{path}", h.base))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304, "{path}: unchanged, so not modified");
        assert_eq!(h.sim.calls().len(), 2, "{path}: every read asks the node");
    }
    // After a new epoch the head's ETag no longer matches.
    let before = h.get("/v1/chain/head", None).await;
    h.sim.advance();
    let after = h.get("/v1/chain/head", None).await;
    assert_ne!(after.header("etag"), before.header("etag"));
}

#[actix_web::test]
async fn the_cache_holds_at_most_its_configured_size() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_CACHE_ENTRIES", "3".into())],
        ..Options::default()
    })
    .await;
    let head = h.sim.head().height;
    let blocks: Vec<String> = (1..head)
        .rev()
        .filter_map(|x| h.sim.tipset_at(x))
        .flat_map(|ts| ts.cids.into_iter().map(|c| c.root))
        .take(8)
        .collect();
    for b in &blocks {
        assert_eq!(h.get(&format!("/v1/blocks/{b}"), None).await.status, 200);
    }
    let metrics = h.get("/metrics", None).await.text;
    let entries: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lotus_rest_cache_entries "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(entries <= 3.0, "the cache holds {entries} entries");
    h.sim.reset_calls();
    for b in &blocks {
        assert_eq!(h.get(&format!("/v1/blocks/{b}"), None).await.status, 200);
    }
    let refetched = calls_of(&h, "Filecoin.ChainGetBlock");
    assert!(
        refetched >= blocks.len() - 3,
        "evicted blocks are fetched again: {refetched}"
    );
}

#[actix_web::test]
async fn identical_concurrent_reads_share_one_upstream_call() {
    let h = Harness::start().await;
    let path = format!("/v1/actors/{}", h.sim.accounts()[0].id);
    h.sim.set_stall(Some(Duration::from_millis(300)));
    let requests = (0..64).map(|_| h.get(&path, None));
    let replies = futures_util::future::join_all(requests).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert!(replies.windows(2).all(|w| w[0].text == w[1].text));
    assert_eq!(
        calls_of(&h, "Filecoin.StateGetActor"),
        1,
        "{:?}",
        h.sim.calls()
    );
    h.sim.set_stall(None);
    // Once answered, the next read asks again: state at the head is not cached.
    assert_eq!(h.get(&path, None).await.status, 200);
    assert_eq!(calls_of(&h, "Filecoin.StateGetActor"), 2);
}

#[actix_web::test]
async fn the_head_comes_from_the_stream_with_no_upstream_call() {
    let h = Harness::start().await;
    // The harness waits for the gateway's subscription to be open, not for its first value (the current head) to
    // have arrived; until it has, a read of the head is a `ChainHead` call.
    let deadline = Instant::now() + PATIENCE;
    loop {
        h.sim.reset_calls();
        assert_eq!(h.get("/v1/chain/head", None).await.status, 200);
        if calls_of(&h, "Filecoin.ChainHead") == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the head never came from the stream"
        );
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let requests = (0..256).map(|_| h.get("/v1/chain/head", None));
    let replies = futures_util::future::join_all(requests).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(
        replies[0].json(),
        serde_json::to_value(h.sim.head()).unwrap()
    );
    assert_eq!(calls_of(&h, "Filecoin.ChainHead"), 0, "{:?}", h.sim.calls());

    // A new epoch reaches readers through the stream.
    let before = h.sim.head().height;
    h.sim.advance();
    let mut seen = before;
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        seen = h.get("/v1/chain/head", None).await.json()["Height"]
            .as_i64()
            .unwrap();
        if seen > before {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen > before, "the new head never arrived");
    assert_eq!(calls_of(&h, "Filecoin.ChainHead"), 0);

    // When the stream drops, reads fall back to ChainHead, and the stream is reopened.
    h.sim.drop_websockets().await;
    assert_eq!(h.get("/v1/chain/head", None).await.status, 200);
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if h.sim.subscribers() == 1 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(h.sim.subscribers(), 1, "the gateway resubscribed");
    // Once the reopened stream has delivered the current head, reads stop reaching the node.
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        h.sim.reset_calls();
        assert_eq!(h.get("/v1/chain/head", None).await.status, 200);
        if calls_of(&h, "Filecoin.ChainHead") == 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    h.sim.reset_calls();
    for _ in 0..10 {
        assert_eq!(h.get("/v1/chain/head", None).await.status, 200);
    }
    assert_eq!(calls_of(&h, "Filecoin.ChainHead"), 0);
}

#[actix_web::test]
async fn a_cache_hit_still_needs_the_permission() {
    let h = Harness::with(Options {
        anonymous: "none",
        ..Options::default()
    })
    .await;
    let sample = h.sample().await;
    let token = h.token_up_to(lotus_rest::auth::Perm::Read);
    let path = format!("/v1/blocks/{}", sample.block);
    assert_eq!(h.get(&path, Some(&token)).await.status, 200);
    h.get(&path, None).await.problem(401, "unauthorized");
    h.get(
        &path,
        Some(&h.secret.mint(lotus_rest::auth::PermSet::EMPTY)),
    )
    .await
    .problem(403, "insufficient_permission");
}
