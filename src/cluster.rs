//! State shared by the replicas of a cluster through Redis (`[Cluster] RedisUrl`): the rate-limit budgets.
//!
//! Redis is never in the way of a request: every operation waits at most [`REDIS_WAIT`], and a failed or slow one
//! makes the caller fall back to the replica's own state, as without Redis, for [`BACKOFF`] before Redis is tried
//! again. The connection is made in the background and made again after it breaks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// The longest a request waits for Redis before it goes on with the replica's own state.
pub const REDIS_WAIT: Duration = Duration::from_millis(100);

/// How long the replica's own state is used after Redis failed, before Redis is tried again.
pub const BACKOFF: Duration = Duration::from_secs(1);

/// A token bucket in Redis, taken from atomically: refilled at `rate` units a second up to `burst`, by Redis's own
/// clock (so that replicas whose clocks differ agree), and forgotten once it would be full again.
/// KEYS[1]: the bucket; ARGV: rate, burst, cost. Returns {1, remaining} or {0, seconds to wait}.
const TAKE: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
if allowed == 1 then
  return {1, tostring(tokens)}
end
return {0, tostring((cost - tokens) / rate)}
";

/// A bucket's answer from Redis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Taken {
    Allowed { remaining: f64 },
    Limited { retry_after_secs: f64 },
}

/// The connection to Redis shared by every worker of a replica.
pub struct Redis {
    client: redis::Client,
    /// The URL without its password, for the log.
    shown: String,
    conn: RwLock<Option<ConnectionManager>>,
    connecting: AtomicBool,
    /// Until when the replica's own state is used, after a failure.
    resting_until: Mutex<Option<Instant>>,
    up: AtomicBool,
    /// Whether a failure was logged since Redis last answered (one warning per outage).
    told: AtomicBool,
    /// Operations that fell back to the replica's own state since start.
    fallbacks: AtomicU64,
    take: redis::Script,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.shown)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Checks the URL (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS); connects later, in the
    /// background.
    pub fn new(url: &str) -> Result<Arc<Redis>, String> {
        let client = redis::Client::open(url).map_err(|e| format!("{e}"))?;
        let mut shown = url::Url::parse(url).map_err(|e| format!("{e}"))?;
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        Ok(Arc::new(Redis {
            client,
            shown: shown.to_string(),
            conn: RwLock::new(None),
            connecting: AtomicBool::new(false),
            resting_until: Mutex::new(None),
            up: AtomicBool::new(false),
            told: AtomicBool::new(false),
            fallbacks: AtomicU64::new(0),
            take: redis::Script::new(TAKE),
        }))
    }

    /// Connects in the background now, so that the first requests find the connection made.
    pub fn start(self: &Arc<Self>) {
        self.connect();
    }

    /// Whether the last operation reached Redis.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Operations that fell back to the replica's own state since start.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// Takes `cost` from the shared bucket `key`; `None` when Redis cannot answer within [`REDIS_WAIT`] (the
    /// caller then uses its own bucket).
    pub async fn take(
        self: &Arc<Self>,
        key: &str,
        rate: f64,
        burst: f64,
        cost: f64,
    ) -> Option<Taken> {
        let mut conn = self.connection()?;
        let call = async {
            self.take
                .key(format!("lotus-rest:rate:{key}"))
                .arg(rate)
                .arg(burst)
                .arg(cost)
                .invoke_async::<(i64, String)>(&mut conn)
                .await
        };
        let answer = match tokio::time::timeout(REDIS_WAIT, call).await {
            Ok(Ok((allowed, number))) => match number.parse::<f64>() {
                Ok(n) if allowed == 1 => Some(Taken::Allowed { remaining: n }),
                Ok(n) => Some(Taken::Limited {
                    retry_after_secs: n,
                }),
                Err(_) => {
                    self.failed(&format!("an answer that is not a number: {number}"));
                    None
                }
            },
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed(&format!("no answer within {} ms", REDIS_WAIT.as_millis()));
                None
            }
        };
        if answer.is_some() && !self.up.swap(true, Ordering::Relaxed) {
            self.told.store(false, Ordering::Relaxed);
            log::info!(
                "Redis at {} answers: the rate limits are shared",
                self.shown
            );
        }
        answer
    }

    /// The connection, when there is one and Redis is not resting after a failure; otherwise `None`, and a
    /// connection is made in the background.
    fn connection(self: &Arc<Self>) -> Option<ConnectionManager> {
        let resting = self
            .resting_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| Instant::now() < until);
        let conn = self.conn.read().unwrap_or_else(|e| e.into_inner()).clone();
        match conn {
            Some(conn) if !resting => Some(conn),
            Some(_) => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                if !resting {
                    self.connect();
                }
                None
            }
        }
    }

    /// Connects in the background, once at a time.
    fn connect(self: &Arc<Self>) {
        if self.connecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let made =
                tokio::time::timeout(Duration::from_secs(5), this.client.get_connection_manager())
                    .await;
            match made {
                Ok(Ok(conn)) => {
                    *this.conn.write().unwrap_or_else(|e| e.into_inner()) = Some(conn);
                    this.up.store(true, Ordering::Relaxed);
                    this.told.store(false, Ordering::Relaxed);
                    log::info!(
                        "connected to Redis at {}: the rate limits are shared",
                        this.shown
                    );
                }
                Ok(Err(e)) => this.failed(&format!("cannot connect: {e}")),
                Err(_) => this.failed("cannot connect within 5 s"),
            }
            this.connecting.store(false, Ordering::Release);
        });
    }

    /// Redis failed: the replica's own state is used for [`BACKOFF`].
    fn failed(&self, why: &str) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        *self.resting_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + BACKOFF);
        self.up.store(false, Ordering::Relaxed);
        if !self.told.swap(true, Ordering::Relaxed) {
            log::warn!(
                "Redis at {} failed ({why}): this replica limits on its own until Redis answers again",
                self.shown
            );
        } else {
            log::debug!("Redis at {} failed: {why}", self.shown);
        }
    }
}
