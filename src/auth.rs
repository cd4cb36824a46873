//! Lotus-compatible authentication: HS256 JWTs whose payload is `{"Allow": ["read", ...]}`.
//!
//! Lotus checks a permission by membership (`--perm sign` writes `["read","write","sign"]` into the token), so a
//! [`PermSet`] is a set, not a level. The [`Authorized`] extractor makes the permission a route needs part of the
//! handler's type: a handler cannot be written without naming one.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub use crate::lotus::perm::{Perm, PermSet};
pub use crate::lotus::token::{precheck, Claims, Secret, TokenError, LOTUS_JWT_KEY_FILE};
pub use crate::upstream::Caller;

/// How the gateway authenticates callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Verify the caller's Lotus token and forward it, so the node checks it again.
    Passthrough,
    /// Verify tokens with the gateway's own secret and call the node with the configured upstream token.
    Own,
}

/// How a caller's token is checked.
pub enum Verifier {
    /// With the secret at hand (the node's in passthrough mode, the gateway's own in own mode).
    Local(Secret),
    /// By asking the node (`Filecoin.AuthVerify`), with answers kept for a while.
    Upstream(VerifyCache),
}

/// Remembers what the node said about tokens, for a bounded time and number of tokens. Accepted and refused
/// tokens are kept apart, each bounded and least recently used out first: a flood of forged tokens only pushes
/// out other refusals, never a good verdict.
pub struct VerifyCache {
    ttl: Duration,
    /// Redis, where the replicas of a cluster share verdicts, and whose verdicts these are ("node", "miner").
    shared: Option<(std::sync::Arc<crate::cluster::Redis>, &'static str)>,
    accepted: quick_cache::sync::Cache<[u8; 32], (Instant, PermSet)>,
    refused: quick_cache::sync::Cache<[u8; 32], (Instant, TokenError)>,
}

impl VerifyCache {
    /// Keeps up to `capacity` accepted tokens, and a tenth as many refused ones.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        VerifyCache {
            ttl,
            shared: None,
            accepted: quick_cache::sync::Cache::new(capacity.max(1)),
            refused: quick_cache::sync::Cache::new((capacity / 10).max(1)),
        }
    }

    /// Shares the verdicts of `upstream` ("node", "miner") with the other replicas of a cluster through Redis.
    pub fn shared(
        mut self,
        redis: Option<std::sync::Arc<crate::cluster::Redis>>,
        upstream: &'static str,
    ) -> Self {
        self.shared = redis.map(|r| (r, upstream));
        self
    }

    /// A verdict another replica kept in Redis, copied here; `None` without Redis, or when it has none (or cannot
    /// answer in time).
    pub async fn get_shared(&self, token: &str) -> Option<Result<PermSet, TokenError>> {
        let (redis, upstream) = self.shared.as_ref()?;
        let kept = redis.verdict(&shared_key(upstream, token)).await??;
        let result = match kept.strip_prefix("ok:") {
            Some(names) => Ok(names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(|n| n.parse::<Perm>().ok())
                .collect::<Option<PermSet>>()?),
            None if kept == "refused" => Err(TokenError::RejectedUpstream),
            None => return None,
        };
        self.put(token, result.clone());
        Some(result)
    }

    /// Keeps the node's verdict on a token here and, in a cluster, in Redis for the other replicas, as long as here.
    pub async fn put_shared(&self, token: &str, result: Result<PermSet, TokenError>) {
        self.put(token, result.clone());
        let Some((redis, upstream)) = &self.shared else {
            return;
        };
        if self.ttl.is_zero() {
            return;
        }
        let verdict = match &result {
            Ok(perms) => format!("ok:{}", perms.names().join(",")),
            Err(TokenError::RejectedUpstream) => "refused".to_string(),
            // Refusals made here (a malformed token) cost nothing to make again.
            Err(_) => return,
        };
        redis
            .put_verdict(&shared_key(upstream, token), &verdict, self.ttl)
            .await;
    }

    /// Tokens are kept by their hash, never in clear.
    pub fn key(token: &str) -> [u8; 32] {
        let hash = blake2b_simd::Params::new()
            .hash_length(32)
            .hash(token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(hash.as_bytes());
        key
    }

    pub fn get(&self, token: &str) -> Option<Result<PermSet, TokenError>> {
        let key = Self::key(token);
        if let Some((at, perms)) = self.accepted.get(&key) {
            if at.elapsed() < self.ttl {
                return Some(Ok(perms));
            }
            self.accepted.remove(&key);
        }
        if let Some((at, e)) = self.refused.get(&key) {
            if at.elapsed() < self.ttl {
                return Some(Err(e));
            }
            self.refused.remove(&key);
        }
        None
    }

    pub fn put(&self, token: &str, result: Result<PermSet, TokenError>) {
        if self.ttl.is_zero() {
            return;
        }
        let key = Self::key(token);
        match result {
            Ok(perms) => self.accepted.insert(key, (Instant::now(), perms)),
            Err(e) => self.refused.insert(key, (Instant::now(), e)),
        }
    }

    /// How many verdicts are kept: accepted, refused.
    pub fn sizes(&self) -> (usize, usize) {
        (self.accepted.len(), self.refused.len())
    }
}

/// Everything the [`Authorized`] extractor needs, kept in the application state.
pub struct AuthConfig {
    pub mode: AuthMode,
    pub verifier: Verifier,
    /// What a request without a token may do: `read` by default, as in Lotus.
    pub anonymous: PermSet,
    /// The token the gateway sends upstream in `own` mode.
    pub upstream_token: Option<String>,
}

/// A permission level that a route can require, as a type.
pub trait Permission {
    const PERM: Perm;
}

macro_rules! permission_types {
    ($($name:ident => $perm:expr),* $(,)?) => {$(
        #[doc = concat!("The `", stringify!($name), "` permission, as a type for [`Authorized`].")]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Permission for $name {
            const PERM: Perm = $perm;
        }
    )*};
}

permission_types!(Read => Perm::Read, Write => Perm::Write, Sign => Perm::Sign, Admin => Perm::Admin);

/// A request whose caller holds permission `P`. Extracting it fails with 401 for a bad token and 403 for a
/// token without `P`, before the handler (and so any upstream call) runs.
pub struct Authorized<P: Permission, U: Target = Node> {
    pub caller: Caller,
    _perm: PhantomData<(P, U)>,
}

/// The upstream a route calls, whose tokens it accepts: the full node, or the miner.
pub trait Target {
    const UPSTREAM: Upstream;
}

/// Which upstream a route calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Node,
    Miner,
}

/// Routes of the full node: tokens of the node (or the gateway's own).
pub struct Node;
/// Routes of the miner (`/v1/miner/...`): tokens of the miner (or the gateway's own).
pub struct Miner;

impl Target for Node {
    const UPSTREAM: Upstream = Upstream::Node;
}

impl Target for Miner {
    const UPSTREAM: Upstream = Upstream::Miner;
}

/// A request to a miner route whose caller holds permission `P` for the miner.
pub type MinerAuthorized<P> = Authorized<P, Miner>;

impl<P: Permission, U: Target> Authorized<P, U> {
    /// A caller found to hold `P`: only the request extractor ([`crate::extract`]) makes one, once it has checked.
    pub(crate) fn checked(caller: Caller) -> Self {
        Authorized {
            caller,
            _perm: PhantomData,
        }
    }

    pub fn perm(&self) -> Perm {
        P::PERM
    }
}

/// Reads the bearer token of a request, if any. A malformed header is an error, never silently anonymous.
pub fn bearer_token(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
    let mut parts = value.splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::unauthorized(
            "the Authorization header must be \"Bearer <token>\" with a Lotus API token",
        ));
    }
    Ok(Some(token.to_string()))
}

impl AuthConfig {
    /// Authenticates a request: returns what the caller may do and the token to use upstream.
    pub async fn authenticate(
        &self,
        token: Option<String>,
        node: &crate::upstream::Client,
        metrics: &crate::metrics::Metrics,
    ) -> Result<Caller, ApiError> {
        let Some(token) = token else {
            return Ok(Caller {
                perms: self.anonymous,
                upstream_token: self.upstream_token_for(None),
            });
        };
        let perms = match &self.verifier {
            Verifier::Local(secret) => secret.verify(&token),
            Verifier::Upstream(cache) => match cache.get(&token) {
                Some(result) => {
                    metrics.token_cache(true);
                    result
                }
                None => match precheck(&token) {
                    Err(e) => {
                        metrics.token_cache(false);
                        cache.put(&token, Err(e.clone()));
                        Err(e)
                    }
                    Ok(()) => match cache.get_shared(&token).await {
                        Some(result) => {
                            metrics.token_cache(true);
                            result
                        }
                        None => {
                            metrics.token_cache(false);
                            let result = node.auth_verify(&token).await?;
                            cache.put_shared(&token, result.clone()).await;
                            result
                        }
                    },
                },
            },
        }
        .map_err(|e| ApiError::unauthorized(e.to_string()))?;
        Ok(Caller {
            perms,
            upstream_token: self.upstream_token_for(Some(token)),
        })
    }

    fn upstream_token_for(&self, caller_token: Option<String>) -> Option<String> {
        match self.mode {
            AuthMode::Passthrough => caller_token,
            AuthMode::Own => self.upstream_token.clone(),
        }
    }
}

/// A token's key in Redis: the upstream whose verdict it is, and the token's hash in hex.
fn shared_key(upstream: &str, token: &str) -> String {
    let hex: String = VerifyCache::key(token)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{upstream}:{hex}")
}

/// Where Lotus keeps a repo's JWT secret.
pub fn repo_secret_path(repo: &Path) -> PathBuf {
    repo.join("keystore").join(LOTUS_JWT_KEY_FILE)
}
