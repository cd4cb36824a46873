//! State shared by the replicas of a cluster through Redis (`[Cluster] RedisUrl`): the rate-limit budgets, the
//! streams' recent events (a Redis Stream per kind, so that event ids are the same on every replica), and the node's
//! verdicts on tokens.
//!
//! Redis is never in the way of a request: every operation waits at most [`REDIS_WAIT`], and a failed or slow one
//! makes the caller fall back to the replica's own state, as without Redis, for [`BACKOFF`] before Redis is tried
//! again. The connection is made in the background and made again after it breaks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// What the replicas share while Redis answers, for the log.
const SHARED: &str = "rate limits, stream events and token verdicts are shared";

/// Where a token's verdict is kept (by the token's hash).
fn verdict_key(token_hash: &str) -> String {
    format!("lotus-rest:verdict:{token_hash}")
}

/// The Redis Stream of a stream kind's recent events.
fn stream_key(kind: &str) -> String {
    format!("lotus-rest:stream:{kind}")
}

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

/// Records the events of one notification of the node in a stream kind's Redis Stream, each once however many
/// replicas see it: an event (its name and data) already recorded within the last ARGV[2] seconds keeps the id it was
/// given. Ids are consecutive whole numbers (`N-0` as stream ids), one after the newest recorded.
/// KEYS[1]: the stream; ARGV: the events kept (MAXLEN ~), the window in seconds, then name and data of each event.
/// Returns the ids, in order.
const RECORD: &str = r"
local n = 0
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #newest > 0 then
  n = tonumber(string.match(newest[1][1], '^(%d+)'))
end
local ids = {}
for i = 3, #ARGV, 2 do
  local seen = KEYS[1] .. ':seen:' .. redis.sha1hex(ARGV[i] .. '\n' .. ARGV[i + 1])
  local id = redis.call('GET', seen)
  if not id then
    n = n + 1
    id = string.format('%d', n)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], id .. '-0', 'event', ARGV[i], 'data', ARGV[i + 1])
    redis.call('SET', seen, id, 'EX', ARGV[2])
  end
  ids[#ids + 1] = id
end
return ids
";

/// What a stream kind's Redis Stream holds after an id: the oldest and newest ids it holds, then id, name and data of
/// the newest ARGV[2] events after ARGV[1] (given as `N-0`, the first id wanted), oldest first. Empty when the stream
/// holds nothing. KEYS[1]: the stream.
const AFTER: &str = r"
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #oldest == 0 then
  return {}
end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local out = {oldest[1][1], newest[1][1]}
local after = redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', ARGV[2])
for i = #after, 1, -1 do
  local fields = after[i][2]
  local event, data = '', ''
  for f = 1, #fields, 2 do
    if fields[f] == 'event' then event = fields[f + 1] end
    if fields[f] == 'data' then data = fields[f + 1] end
  end
  out[#out + 1] = after[i][1]
  out[#out + 1] = event
  out[#out + 1] = data
end
return out
";

/// How long an event recorded by one replica is recognised when another replica sees it too. The same change seen
/// again after this is a new event.
pub const SAME_EVENT_WINDOW: Duration = Duration::from_secs(60);

/// What a stream kind's Redis Stream holds after a client's last event.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The oldest and newest ids held.
    pub oldest: u64,
    pub newest: u64,
    /// The events after the client's (at most as many as asked, the newest): id, name, data.
    pub events: Vec<(u64, String, String)>,
}

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
    record: redis::Script,
    after: redis::Script,
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
            record: redis::Script::new(RECORD),
            after: redis::Script::new(AFTER),
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
        let key = format!("lotus-rest:rate:{key}");
        let (allowed, number) = self
            .run(|mut conn| async move {
                self.take
                    .key(key)
                    .arg(rate)
                    .arg(burst)
                    .arg(cost)
                    .invoke_async::<(i64, String)>(&mut conn)
                    .await
            })
            .await?;
        match number.parse::<f64>() {
            Ok(n) if allowed == 1 => Some(Taken::Allowed { remaining: n }),
            Ok(n) => Some(Taken::Limited {
                retry_after_secs: n,
            }),
            Err(_) => {
                self.failed(&format!("an answer that is not a number: {number}"));
                None
            }
        }
    }

    /// Records the events of one notification of stream kind `kind` (name and data of each), keeping about `keep`
    /// events; their ids, the same on every replica that records the same events, or `None` when Redis cannot
    /// answer (the caller then gives ids of its own).
    pub async fn record(
        self: &Arc<Self>,
        kind: &str,
        events: &[(&str, &str)],
        keep: usize,
    ) -> Option<Vec<u64>> {
        let key = stream_key(kind);
        let ids = self
            .run(|mut conn| async move {
                let mut call = self.record.key(key);
                call.arg(keep.max(1)).arg(SAME_EVENT_WINDOW.as_secs());
                for (name, data) in events {
                    call.arg(*name).arg(*data);
                }
                call.invoke_async::<Vec<String>>(&mut conn).await
            })
            .await?;
        let ids: Option<Vec<u64>> = ids.iter().map(|id| id.parse().ok()).collect();
        if ids.as_ref().map(Vec::len) != Some(events.len()) {
            self.failed("an answer to recording events that is not their ids");
            return None;
        }
        ids
    }

    /// The events of stream kind `kind` recorded after id `after` (at most `count`, the newest), with the oldest
    /// and newest ids held; `Some(None)` when nothing is recorded, `None` when Redis cannot answer.
    pub async fn recorded_after(
        self: &Arc<Self>,
        kind: &str,
        after: u64,
        count: usize,
    ) -> Option<Option<Recorded>> {
        let key = stream_key(kind);
        let out = self
            .run(|mut conn| async move {
                self.after
                    .key(key)
                    .arg(format!("{}-0", after.saturating_add(1)))
                    .arg(count.max(1))
                    .invoke_async::<Vec<String>>(&mut conn)
                    .await
            })
            .await?;
        if out.is_empty() {
            return Some(None);
        }
        let id = |s: &str| s.split('-').next().and_then(|n| n.parse::<u64>().ok());
        let parsed = (|| {
            let (oldest, newest) = (id(out.first()?)?, id(out.get(1)?)?);
            let mut events = Vec::new();
            for e in out[2..].chunks(3) {
                let [n, event, data] = e else { return None };
                events.push((id(n)?, event.clone(), data.clone()));
            }
            Some(Recorded {
                oldest,
                newest,
                events,
            })
        })();
        if parsed.is_none() {
            self.failed("an answer to reading events that is not a stream's events");
            return None;
        }
        Some(parsed)
    }

    /// The verdict kept for a token (by its hash, never in clear), as [`Redis::put_verdict`] kept it; `Some(None)`
    /// when none is kept, `None` when Redis cannot answer.
    pub async fn verdict(self: &Arc<Self>, token_hash: &str) -> Option<Option<String>> {
        let key = verdict_key(token_hash);
        self.run(|mut conn| async move {
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<String>>(&mut conn)
                .await
        })
        .await
    }

    /// Keeps a token's verdict (by its hash) for every replica, for `ttl`.
    pub async fn put_verdict(self: &Arc<Self>, token_hash: &str, verdict: &str, ttl: Duration) {
        let key = verdict_key(token_hash);
        let millis = ttl.as_millis().max(1) as u64;
        self.run(|mut conn| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(verdict)
                .arg("PX")
                .arg(millis)
                .query_async::<()>(&mut conn)
                .await
        })
        .await;
    }

    /// Runs one operation on Redis, waiting at most [`REDIS_WAIT`]; `None` (and the replica's own state for
    /// [`BACKOFF`]) when it fails or is slow, or while Redis rests after a failure.
    async fn run<T, F, Fut>(self: &Arc<Self>, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection()?;
        let answer = match tokio::time::timeout(REDIS_WAIT, op(conn)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                return None;
            }
            Err(_) => {
                self.failed(&format!("no answer within {} ms", REDIS_WAIT.as_millis()));
                return None;
            }
        };
        if !self.up.swap(true, Ordering::Relaxed) {
            self.told.store(false, Ordering::Relaxed);
            log::info!("Redis at {} answers: {SHARED}", self.shown);
        }
        Some(answer)
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
                    log::info!("connected to Redis at {}: {SHARED}", this.shown);
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
                "Redis at {} failed ({why}): this replica limits, numbers stream events and checks tokens on its own \
                 until Redis answers again",
                self.shown
            );
        } else {
            log::debug!("Redis at {} failed: {why}", self.shown);
        }
    }
}
