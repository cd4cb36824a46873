//! Replicas sharing state through a real Redis (`[Cluster] RedisUrl`): one rate-limit budget for all of them, one
//! numbering of stream events (a stream resumed on another replica), the node's verdicts on tokens, and no request
//! failing when Redis dies or stalls. Needs `redis-server` (Debian's `redis-server` package, which
//! `.ci/run` installs); without it these tests say so and pass on a developer's machine, and fail under CI.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Harness, Options};
use crate::streams::Reader;

/// A `redis-server` on a free loopback port, killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one, or `None` (with the reason printed) when `redis-server` is not installed outside CI.
    fn start() -> Option<RedisServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED: redis-server cannot be started ({e}); install Debian's redis-server package");
                return None;
            }
            Err(e) => panic!("redis-server cannot be started ({e}); .ci/run installs it"),
        };
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A replica: a gateway (with a simulated node of its own, as each replica of a real cluster has its nodes) whose
/// rate limits are kept in `redis`.
async fn replica(redis: &str, vars: &[(&'static str, &str)]) -> Harness {
    replica_with(
        redis,
        Options {
            vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            ..Options::default()
        },
    )
    .await
}

/// A replica made with `opts`, its state shared in `redis`.
async fn replica_with(redis: &str, mut opts: Options) -> Harness {
    opts.vars
        .insert(0, ("LOTUS_REST_CLUSTER_REDISURL", redis.to_string()));
    Harness::with(opts).await
}

/// Waits until the replica has connected to Redis (it connects in the background as it starts).
async fn connected(h: &Harness) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.gauge("lotus_rest_cluster_redis_up").await != Some(1) {
        assert!(
            Instant::now() < deadline,
            "the replica did not connect to Redis"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn two_replicas_spend_one_rate_limit() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // 0.1 units a second with the smallest burst, 3: a state read (cost 3) empties the budget for 30 s.
    let limits = [
        ("LOTUS_REST_RATELIMIT_PERIP", "0.1"),
        ("LOTUS_REST_RATELIMIT_BURSTSECONDS", "1"),
    ];
    let a = replica(&redis.url(), &limits).await;
    let b = replica(&redis.url(), &limits).await;
    connected(&a).await;
    connected(&b).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let h = if i % 2 == 0 { &a } else { &b };
        let r = h.get("/v1/actors/t01000", None).await;
        if r.status == 429 {
            assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
            assert_eq!(r.headers["ratelimit-remaining"], "0");
        }
        statuses.push(r.status);
    }
    assert_eq!(
        statuses,
        [200, 429, 429, 429, 429, 429],
        "one budget for both replicas (each alone would allow one read)"
    );
    assert_eq!(a.gauge("lotus_rest_cluster_redis_up").await, Some(1));

    // Without Redis each replica has a budget of its own: the same requests pass twice.
    let alone = || {
        Harness::with(Options {
            vars: limits.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            ..Options::default()
        })
    };
    let (c, d) = (alone().await, alone().await);
    let mut alone = Vec::new();
    for i in 0..4 {
        let h = if i % 2 == 0 { &c } else { &d };
        alone.push(h.get("/v1/actors/t01000", None).await.status);
    }
    assert_eq!(alone, [200, 200, 429, 429]);
}

#[actix_web::test]
async fn redis_stalling_or_dying_fails_no_request() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let limits = [("LOTUS_REST_RATELIMIT_PERIP", "100000")];
    let a = replica(&redis.url(), &limits).await;
    let b = replica(&redis.url(), &limits).await;
    connected(&a).await;
    connected(&b).await;
    // Steady reads on both replicas while Redis stalls (SIGSTOP), comes back, then dies.
    let (a, b) = (&a, &b);
    let reads = |n: usize| async move {
        let mut slowest = Duration::ZERO;
        for i in 0..n {
            let h = if i % 2 == 0 { &a } else { &b };
            let start = Instant::now();
            let r = h.get("/v1/actors/t01000", None).await;
            slowest = slowest.max(start.elapsed());
            assert_eq!(r.status, 200, "read {i}: {}", r.text);
        }
        slowest
    };
    reads(10).await;
    assert_eq!(a.gauge("lotus_rest_cluster_redis_up").await, Some(1));

    redis.signal("STOP");
    let stalled = reads(20).await;
    assert!(
        stalled < Duration::from_secs(2),
        "a stalled Redis held a request for {stalled:?}"
    );
    assert_eq!(a.gauge("lotus_rest_cluster_redis_up").await, Some(0));
    let fallbacks = a
        .gauge("lotus_rest_cluster_redis_fallbacks_total")
        .await
        .unwrap();
    assert!(fallbacks > 0);

    redis.signal("CONT");
    // After its rest, the replica uses Redis again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        reads(2).await;
        if a.gauge("lotus_rest_cluster_redis_up").await == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis was not used again after it came back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }

    redis.signal("KILL");
    let dead = reads(20).await;
    assert!(
        dead < Duration::from_secs(2),
        "a dead Redis held a request for {dead:?}"
    );
    assert_eq!(b.gauge("lotus_rest_cluster_redis_up").await, Some(0));
}

/// Produces the next head on both replicas' nodes (one chain, at one height: they see the same changes), past null
/// rounds; its height.
fn advance(a: &Harness, b: &Harness) -> i64 {
    let before = a.sim.head().height;
    loop {
        a.sim.advance();
        b.sim.advance();
        if a.sim.head().height != before {
            assert_eq!(a.sim.head().height, b.sim.head().height);
            return a.sim.head().height;
        }
    }
}

#[actix_web::test]
async fn a_stream_resumed_on_the_other_replica_loses_nothing() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // Replicas whose nodes serve one chain, block for block (as one node would, or a pool's).
    // A harness's first node has its head at 200.
    let genesis_ms = crate::common::genesis_now(200, Options::default().block_time);
    let url = redis.url();
    let replica = || {
        replica_with(
            &url,
            Options {
                genesis_ms: Some(genesis_ms),
                ..Options::default()
            },
        )
    };
    let (a, b) = (replica().await, replica().await);
    connected(&a).await;
    connected(&b).await;
    const HEADS: &str = "/v1/streams/heads";
    // A client of replica a, and another that stays on a throughout, as a record of every event.
    let mut keeper = Reader::open(&a, HEADS, true, None).await;
    let current = keeper.next().await.unwrap();
    assert_eq!(current.event, "current");
    let mut client = Reader::open(&a, HEADS, false, None).await;
    assert_eq!(client.next().await.unwrap(), current);
    // Replica b numbers the same change as a did: its client's `current` is a's, id and all.
    let mut on_b = Reader::open(&b, HEADS, false, None).await;
    assert_eq!(
        on_b.next().await.unwrap(),
        current,
        "one id on every replica"
    );
    // Replica b stops following the heads once its client has left.
    drop(on_b);
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.sim.channels() > 1 {
        assert!(Instant::now() < deadline, "replica b kept its subscription");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }

    let height = advance(&a, &b);
    let seen = keeper.next().await.unwrap();
    assert_eq!(
        (seen.event.as_str(), seen.data["Height"].as_i64()),
        ("apply", Some(height))
    );
    assert_eq!(client.next().await.unwrap(), seen);
    // The client goes away; three heads come meanwhile.
    drop(client);
    let mut missed = Vec::new();
    for _ in 0..3 {
        let height = advance(&a, &b);
        let e = keeper.next().await.unwrap();
        assert_eq!(e.data["Height"].as_i64(), Some(height), "{e:?}");
        missed.push(e);
    }
    // It reconnects to the other replica, which was not following the heads meanwhile: every event it missed comes,
    // with the ids and data replica a gave them.
    let mut resumed = Reader::open(&b, HEADS, false, seen.id).await;
    for want in &missed {
        assert_eq!(&resumed.next().await.unwrap(), want);
    }
    // Then replica b's own subscription starts, with the head, and the next change has one id on both replicas.
    let e = resumed.next().await.unwrap();
    assert_eq!(
        (e.event.as_str(), e.data["Height"].as_i64()),
        ("current", missed[2].data["Height"].as_i64())
    );
    let height = advance(&a, &b);
    let on_a = keeper.next().await.unwrap();
    assert_eq!(on_a.data["Height"].as_i64(), Some(height));
    assert_eq!(resumed.next().await.unwrap(), on_a);
    assert!(on_a.id > missed[2].id);

    // Without Redis both replicas go on numbering on their own: no event is lost, and an id replica b never gave
    // is said to be missed rather than replayed wrongly.
    drop(redis);
    let height = advance(&a, &b);
    let (x, y) = (keeper.next().await.unwrap(), resumed.next().await.unwrap());
    assert_eq!(
        (x.data["Height"].as_i64(), y.data["Height"].as_i64()),
        (Some(height), Some(height))
    );
    assert_ne!(x.id, y.id);
    let mut lost = Reader::open(&b, HEADS, false, x.id).await;
    assert_eq!(lost.next().await.unwrap().event, "missed");
}

#[actix_web::test]
async fn token_verdicts_are_shared() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // Replicas that ask their nodes (one JWT secret, as a cluster's nodes share) what a token may do.
    let secret = lotus_rest::lotus::token::Secret::generate();
    let url = redis.url();
    let asking = || {
        replica_with(
            &url,
            Options {
                secret_known: false,
                secret: Some(secret.clone()),
                ..Options::default()
            },
        )
    };
    let (a, b) = (asking().await, asking().await);
    connected(&a).await;
    connected(&b).await;
    let verifications = |h: &Harness| {
        h.sim
            .calls()
            .iter()
            .filter(|m| m.as_str() == "Filecoin.AuthVerify")
            .count()
    };
    let token = a.token_up_to(lotus_rest::auth::Perm::Read);
    assert_eq!(a.get("/v1/actors/t01000", Some(&token)).await.status, 200);
    assert_eq!(verifications(&a), 1);
    // Replica b takes a's verdict from Redis: its node is not asked.
    assert_eq!(b.get("/v1/actors/t01000", Some(&token)).await.status, 200);
    assert_eq!(verifications(&b), 0, "{:?}", b.sim.calls());
    // A token the node refused is refused on every replica, asked once.
    let forged =
        lotus_rest::lotus::token::Secret::generate().mint(lotus_rest::auth::Perm::Read.up_to());
    assert_eq!(a.get("/v1/actors/t01000", Some(&forged)).await.status, 401);
    assert_eq!(b.get("/v1/actors/t01000", Some(&forged)).await.status, 401);
    assert_eq!((verifications(&a), verifications(&b)), (2, 0));
    // Redis gone: a new token is verified by the replica's own node, and nothing fails.
    drop(redis);
    let admin = a.token_up_to(lotus_rest::auth::Perm::Admin);
    assert_eq!(b.get("/v1/actors/t01000", Some(&admin)).await.status, 200);
    assert_eq!(verifications(&b), 1);
}
