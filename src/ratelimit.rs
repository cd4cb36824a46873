//! Rate limits per token and per client IP: token buckets whose cost per request is the weight of the Lotus
//! methods the route calls (as the Lotus Gateway weighs them: chain 2, state 3, others 1).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A bucket's state.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Allowed { remaining: f64 },
    Limited { retry_after_secs: f64 },
}

/// Token buckets refilled at `rate` units per second, holding at most `burst` units, one per key.
pub struct Buckets {
    pub rate: f64,
    pub burst: f64,
    /// The buckets of the keys seen most recently, at most [`MAX_KEYS`]: a key not seen for long is forgotten,
    /// in constant time, and comes back with a full bucket (which it would have by then anyway, or nearly).
    buckets: Mutex<quick_cache::unsync::Cache<String, Bucket>>,
    /// Requests and calls refused, since start.
    refused: AtomicU64,
    /// The keys refused most recently, and when, at most [`MAX_REFUSED_KEYS`]: who is being limited.
    refused_keys: Mutex<quick_cache::unsync::Cache<String, Instant>>,
    /// The cluster's buckets in Redis, shared by every replica, when `[Cluster] RedisUrl` is set; these buckets
    /// stand in while Redis cannot answer.
    shared: Option<Arc<crate::cluster::Redis>>,
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buckets")
            .field("rate", &self.rate)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

/// Keys kept at most.
const MAX_KEYS: usize = 100_000;

/// Refused keys remembered at most, for [`Buckets::callers_refused_within`].
pub const MAX_REFUSED_KEYS: usize = 10_000;

impl Buckets {
    pub fn new(rate: f64, burst: f64) -> Self {
        Buckets {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(quick_cache::unsync::Cache::new(MAX_KEYS)),
            refused: AtomicU64::new(0),
            refused_keys: Mutex::new(quick_cache::unsync::Cache::new(MAX_REFUSED_KEYS)),
            shared: None,
        }
    }

    /// Keeps the buckets in Redis, one budget for every replica; these stand in while Redis cannot answer.
    pub fn shared(mut self, redis: Option<Arc<crate::cluster::Redis>>) -> Self {
        self.shared = redis;
        self
    }

    /// Takes `cost` units from `key`'s bucket, if it holds them: the cluster's bucket in Redis when there is one
    /// and it answers in time, this replica's own otherwise.
    pub async fn take(&self, key: &str, cost: f64) -> Verdict {
        let Some(redis) = &self.shared else {
            return self.take_here(key, cost);
        };
        match redis.take(key, self.rate, self.burst, cost).await {
            Some(crate::cluster::Taken::Allowed { remaining }) => Verdict::Allowed { remaining },
            Some(crate::cluster::Taken::Limited { retry_after_secs }) => {
                self.refusal(key, Instant::now());
                Verdict::Limited { retry_after_secs }
            }
            None => self.take_here(key, cost),
        }
    }

    fn refusal(&self, key: &str, now: Instant) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.refused_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), now);
    }

    /// Requests and calls refused by these buckets since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// How many keys (client addresses, tokens) were refused within the last `window`; at most
    /// [`MAX_REFUSED_KEYS`].
    pub fn callers_refused_within(&self, window: Duration) -> usize {
        let now = Instant::now();
        let keys = self.refused_keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter(|(_, at)| now.duration_since(**at) <= window)
            .count()
    }

    /// Takes `cost` units from this replica's own bucket of `key`, if it holds them.
    pub fn take_here(&self, key: &str, cost: f64) -> Verdict {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = Bucket {
            tokens: self.burst,
            updated: now,
        };
        let verdict = match buckets.get_mut_or_insert_with(key, || Ok::<_, ()>(fresh)) {
            Ok(Some(mut bucket)) => Self::judge(&mut bucket, now, self.rate, self.burst, cost),
            // Not admitted (which cannot happen at one item a key): judged on a fresh bucket.
            _ => Self::judge(&mut fresh.clone(), now, self.rate, self.burst, cost),
        };
        drop(buckets);
        if let Verdict::Limited { .. } = verdict {
            self.refusal(key, now);
        }
        verdict
    }

    fn judge(bucket: &mut Bucket, now: Instant, rate: f64, burst: f64, cost: f64) -> Verdict {
        let refill = now.duration_since(bucket.updated).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.updated = now;
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Verdict::Allowed {
                remaining: bucket.tokens,
            }
        } else {
            Verdict::Limited {
                retry_after_secs: (cost - bucket.tokens) / rate,
            }
        }
    }
}

/// The weight of the route a request is on, left by the rate-limit middleware (which charges the client address
/// before anything else) for the charge to the token, made once the token is verified.
#[derive(Debug, Clone, Copy)]
pub struct RouteWeight(pub u32);

/// What the token's bucket said, for the `RateLimit-*` headers of the answer.
#[derive(Debug, Clone, Copy)]
pub struct TokenBudget {
    pub limit: f64,
    pub remaining: f64,
    /// Seconds until the bucket holds enough again, when it did not.
    pub reset: Option<u64>,
}

/// The bucket key of a verified token: a hash of it, never the token.
pub fn token_key(token: &str) -> String {
    let hash = blake2b_simd::Params::new()
        .hash_length(16)
        .hash(token.as_bytes());
    format!("token:{}", hash.to_hex())
}

/// Charges a REST request's weight (see [`RouteWeight`]) to the verified token's bucket.
pub async fn charge_token(
    buckets: Option<&Buckets>,
    req: &actix_web::HttpRequest,
    key: &str,
) -> Result<(), crate::error::ApiError> {
    use actix_web::HttpMessage;
    let weight = req.extensions().get::<RouteWeight>().copied();
    let (Some(buckets), Some(RouteWeight(weight))) = (buckets, weight) else {
        return Ok(());
    };
    match buckets.take(key, f64::from(weight)).await {
        Verdict::Allowed { remaining } => {
            req.extensions_mut().insert(TokenBudget {
                limit: buckets.burst,
                remaining,
                reset: None,
            });
            Ok(())
        }
        Verdict::Limited { retry_after_secs } => {
            let wait = retry_after_secs.ceil().max(1.0) as u64;
            req.extensions_mut().insert(TokenBudget {
                limit: buckets.burst,
                remaining: 0.0,
                reset: Some(wait),
            });
            let mut err = crate::error::ApiError::new(
                crate::error::Code::RateLimited,
                format!(
                    "rate limit of this token reached ({} units a second, this operation costs {weight}); retry in \
                     {wait} s",
                    buckets.rate
                ),
            );
            err.retry_after = Some(wait);
            Err(err)
        }
    }
}

/// The weight of a Lotus method for rate limiting.
pub fn method_weight(method: &str) -> u32 {
    let name = method.strip_prefix("Filecoin.").unwrap_or(method);
    if name.starts_with("State") {
        3
    } else if name.starts_with("Chain") {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_and_refuse() {
        let b = Buckets::new(10.0, 5.0);
        for _ in 0..5 {
            assert!(matches!(b.take_here("a", 1.0), Verdict::Allowed { .. }));
        }
        match b.take_here("a", 1.0) {
            Verdict::Limited { retry_after_secs } => {
                assert!(retry_after_secs > 0.0 && retry_after_secs <= 0.1)
            }
            other => panic!("{other:?}"),
        }
        // Another key has its own bucket.
        assert!(
            matches!(b.take_here("b", 3.0), Verdict::Allowed { remaining } if remaining == 2.0)
        );
        std::thread::sleep(std::time::Duration::from_millis(150));
        assert!(matches!(b.take_here("a", 1.0), Verdict::Allowed { .. }));
    }

    #[test]
    fn refusals_are_counted_with_the_callers_refused() {
        let b = Buckets::new(1.0, 1.0);
        assert_eq!(
            (
                b.refused(),
                b.callers_refused_within(Duration::from_secs(60))
            ),
            (0, 0)
        );
        for key in ["a", "a", "a", "b", "b", "c"] {
            b.take_here(key, 1.0);
        }
        // "a" was refused twice and "b" once; "c" was served.
        assert_eq!(b.refused(), 3);
        assert_eq!(b.callers_refused_within(Duration::from_secs(60)), 2);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(b.callers_refused_within(Duration::from_millis(10)), 0);
    }

    #[test]
    fn keys_beyond_the_bound_are_forgotten_in_constant_time() {
        let b = Buckets::new(1.0, 1.0);
        assert!(matches!(b.take_here("a", 1.0), Verdict::Allowed { .. }));
        assert!(matches!(b.take_here("a", 1.0), Verdict::Limited { .. }));
        // A flood of other keys does not grow the map past its bound.
        for i in 0..(MAX_KEYS + 10_000) {
            b.take_here(&format!("k{i}"), 1.0);
        }
        assert!(b.buckets.lock().unwrap().len() <= MAX_KEYS);
    }

    #[test]
    fn weights() {
        assert_eq!(method_weight("Filecoin.StateGetActor"), 3);
        assert_eq!(method_weight("Filecoin.ChainHead"), 2);
        assert_eq!(method_weight("Filecoin.Version"), 1);
    }
}
