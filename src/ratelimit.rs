//! Rate limits per token and per client IP: token buckets whose cost per request is the weight of the Lotus
//! methods the route calls (as the Lotus Gateway weighs them: chain 2, state 3, others 1).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

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
#[derive(Debug)]
pub struct Buckets {
    pub rate: f64,
    pub burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Keys kept at most before full (idle) buckets are forgotten; a full bucket is the same as a new one.
const MAX_KEYS: usize = 100_000;

impl Buckets {
    pub fn new(rate: f64, burst: f64) -> Self {
        Buckets {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` units from `key`'s bucket, if it holds them.
    pub fn take(&self, key: &str, cost: f64) -> Verdict {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Verdict::Allowed {
                remaining: bucket.tokens,
            }
        } else {
            Verdict::Limited {
                retry_after_secs: (cost - bucket.tokens) / self.rate,
            }
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
            assert!(matches!(b.take("a", 1.0), Verdict::Allowed { .. }));
        }
        match b.take("a", 1.0) {
            Verdict::Limited { retry_after_secs } => {
                assert!(retry_after_secs > 0.0 && retry_after_secs <= 0.1)
            }
            other => panic!("{other:?}"),
        }
        // Another key has its own bucket.
        assert!(matches!(b.take("b", 3.0), Verdict::Allowed { remaining } if remaining == 2.0));
        std::thread::sleep(std::time::Duration::from_millis(150));
        assert!(matches!(b.take("a", 1.0), Verdict::Allowed { .. }));
    }

    #[test]
    fn weights() {
        assert_eq!(method_weight("Filecoin.StateGetActor"), 3);
        assert_eq!(method_weight("Filecoin.ChainHead"), 2);
        assert_eq!(method_weight("Filecoin.Version"), 1);
    }
}
