//! Replicas sharing state through a real Redis (`[Cluster] RedisUrl`): one rate-limit budget for all of them, and
//! no request failing when Redis dies or stalls. Needs `redis-server` (Debian's `redis-server` package, which
//! `.ci/run` installs); without it these tests say so and pass on a developer's machine, and fail under CI.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Harness, Options};

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
    let mut all = vec![("LOTUS_REST_CLUSTER_REDISURL", redis.to_string())];
    all.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
    Harness::with(Options {
        vars: all,
        ..Options::default()
    })
    .await
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
