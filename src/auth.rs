//! Lotus-compatible authentication: HS256 JWTs whose payload is `{"Allow": ["read", ...]}`.
//!
//! Lotus checks a permission by membership (`--perm sign` writes `["read","write","sign"]` into the token), so a
//! [`PermSet`] is a set, not a level. The [`Authorized`] extractor makes the permission a route needs part of the
//! handler's type: a handler cannot be written without naming one.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A Lotus API permission. Ordered as Lotus orders them: read < write < sign < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Perm {
    Read,
    Write,
    Sign,
    Admin,
}

impl Perm {
    pub const ALL: [Perm; 4] = [Perm::Read, Perm::Write, Perm::Sign, Perm::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Perm::Read => "read",
            Perm::Write => "write",
            Perm::Sign => "sign",
            Perm::Admin => "admin",
        }
    }

    /// What `lotus auth create-token --perm P` grants: P and every permission below it.
    pub fn up_to(self) -> PermSet {
        Perm::ALL.into_iter().filter(|p| *p <= self).collect()
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Perm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Perm::Read),
            "write" => Ok(Perm::Write),
            "sign" => Ok(Perm::Sign),
            "admin" => Ok(Perm::Admin),
            other => Err(format!(
                "unknown permission \"{other}\": expected one of read, write, sign, admin"
            )),
        }
    }
}

/// The set of permissions a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PermSet(u8);

impl PermSet {
    pub const EMPTY: PermSet = PermSet(0);

    pub fn contains(self, p: Perm) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn insert(&mut self, p: Perm) {
        self.0 |= p.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Perm> {
        Perm::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// The permission names in Lotus's order, as they appear in a token's `Allow` list.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Perm::as_str).collect()
    }
}

impl FromIterator<Perm> for PermSet {
    fn from_iter<I: IntoIterator<Item = Perm>>(iter: I) -> Self {
        let mut set = PermSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// The JWT payload Lotus writes and reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "Allow")]
    pub allow: Vec<String>,
}

/// Permission names Lotus does not know are ignored, as Lotus ignores them.
fn perms_from_names<S: AsRef<str>>(names: &[S]) -> PermSet {
    names
        .iter()
        .filter_map(|n| n.as_ref().parse().ok())
        .collect()
}

/// An HMAC secret that signs and verifies Lotus tokens.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The keystore entry Lotus keeps its JWT secret in.
#[derive(Serialize, Deserialize)]
struct KeyInfo {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "PrivateKey")]
    private_key: String,
}

/// The file name Lotus gives its JWT secret in `<repo>/keystore`: base32 of `auth-jwt-private`.
pub const LOTUS_JWT_KEY_FILE: &str = "MF2XI2BNNJ3XILLQOJUXMYLUMU";

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    pub fn generate() -> Self {
        use rand::TryRng;
        let mut bytes = vec![0u8; 32];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator is available");
        Secret(bytes)
    }

    /// Reads a secret in Lotus's keystore format (`{"Type":"jwt-hmac-secret","PrivateKey":"<base64>"}`).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read JWT secret file {}: {e}", path.display()))?;
        let info: KeyInfo = serde_json::from_str(&text).map_err(|e| {
            format!(
                "JWT secret file {} is not a Lotus keystore entry ({{\"Type\":\"jwt-hmac-secret\",\"PrivateKey\":\"<base64>\"}}): {e}",
                path.display()
            )
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(info.private_key.trim())
            .map_err(|e| {
                format!(
                    "JWT secret file {}: PrivateKey is not base64: {e}",
                    path.display()
                )
            })?;
        if bytes.is_empty() {
            return Err(format!(
                "JWT secret file {}: PrivateKey is empty",
                path.display()
            ));
        }
        Ok(Secret(bytes))
    }

    /// Loads the secret at `path`, creating it (mode 0600) with 32 random bytes when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        if path.exists() {
            return Self::load(path);
        }
        let secret = Self::generate();
        secret.save(path)?;
        log::info!("created a new JWT secret at {}", path.display());
        Ok(secret)
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
        }
        let info = KeyInfo {
            kind: "jwt-hmac-secret".into(),
            private_key: base64::engine::general_purpose::STANDARD.encode(&self.0),
        };
        let text = serde_json::to_string(&info).expect("key info serializes");
        write_private(path, text.as_bytes())
            .map_err(|e| format!("cannot write JWT secret file {}: {e}", path.display()))
    }

    /// Signs a token granting exactly `perms`, as Lotus's `AuthNew` does.
    pub fn mint(&self, perms: PermSet) -> String {
        // Lotus writes the header as {"alg","typ"}; encoding it by hand keeps tokens byte-identical to Lotus's.
        let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = Claims {
            allow: perms.names().into_iter().map(String::from).collect(),
        };
        let header = b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64.encode(serde_json::to_vec(&claims).expect("claims serialize"));
        let message = format!("{header}.{payload}");
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(&self.0).expect("an HMAC key of any length is valid"),
            Algorithm::HS256,
        )
        .expect("HS256 signing cannot fail");
        format!("{message}.{signature}")
    }

    /// Verifies a token's signature and algorithm and returns what it allows.
    pub fn verify(&self, token: &str) -> Result<PermSet, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Lotus tokens carry no expiry or other registered claims.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let key = DecodingKey::from_secret(&self.0).map_err(|e| TokenError::from_jwt(&e))?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| TokenError::from_jwt(&e))?;
        Ok(perms_from_names(&data.claims.allow))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Why a token was refused. The message never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not HS256")]
    WrongAlgorithm,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token was rejected by the Lotus node")]
    RejectedUpstream,
}

impl TokenError {
    fn from_jwt(e: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature => TokenError::BadSignature,
            K::InvalidAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => {
                TokenError::WrongAlgorithm
            }
            _ => TokenError::Malformed,
        }
    }
}

/// Checks the parts of a token that need no secret: three base64url parts and an HS256 header.
/// Used before asking the upstream, so that `alg: none` and garbage never leave the gateway.
pub fn precheck(token: &str) -> Result<(), TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError::from_jwt(&e))?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::WrongAlgorithm);
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts[2].is_empty() {
        return Err(TokenError::Malformed);
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice::<Claims>(&payload).map_err(|_| TokenError::Malformed)?;
    Ok(())
}

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

/// When the node answered about a token, and what.
type Verdict = (Instant, Result<PermSet, TokenError>);

/// Remembers what the node said about tokens, for a bounded time and number of tokens.
pub struct VerifyCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Verdict>>,
}

impl VerifyCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        VerifyCache {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
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
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&key) {
            Some((at, result)) if at.elapsed() < self.ttl => Some(result.clone()),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, token: &str, result: Result<PermSet, TokenError>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(Self::key(token), (Instant::now(), result));
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

/// The identity of a caller after authentication.
#[derive(Clone)]
pub struct Caller {
    pub perms: PermSet,
    /// The token to send upstream: the caller's own in passthrough mode, the gateway's in own mode.
    pub upstream_token: Option<String>,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("perms", &self.perms.names())
            .finish_non_exhaustive()
    }
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
    /// How tokens for this upstream are checked, and the client that can verify them by asking.
    fn parts(state: &crate::AppState) -> (&AuthConfig, &crate::upstream::Client);
}

/// Routes of the full node: tokens of the node (or the gateway's own).
pub struct Node;
/// Routes of the miner (`/v1/miner/...`): tokens of the miner (or the gateway's own).
pub struct Miner;

impl Target for Node {
    fn parts(state: &crate::AppState) -> (&AuthConfig, &crate::upstream::Client) {
        (&state.auth, &state.node)
    }
}

impl Target for Miner {
    fn parts(state: &crate::AppState) -> (&AuthConfig, &crate::upstream::Client) {
        (&state.miner_auth, &state.miner)
    }
}

/// A request to a miner route whose caller holds permission `P` for the miner.
pub type MinerAuthorized<P> = Authorized<P, Miner>;

impl<P: Permission, U: Target> Authorized<P, U> {
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
                None => {
                    metrics.token_cache(false);
                    let result = match precheck(&token) {
                        Err(e) => Err(e),
                        Ok(()) => node.auth_verify(&token).await?,
                    };
                    cache.put(&token, result.clone());
                    result
                }
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

impl<P: Permission + 'static, U: Target + 'static> FromRequest for Authorized<P, U> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<crate::AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state is missing"))?;
            if state.limits.public && P::PERM > Perm::Read {
                return Err(ApiError::new(
                    crate::error::Code::OperationDisabled,
                    format!(
                        "this operation needs the '{}' permission and is disabled here: this gateway is public and serves read operations only",
                        P::PERM
                    ),
                ));
            }
            let token = token?;
            let anonymous = token.is_none();
            let (auth, upstream) = U::parts(&state);
            let caller = auth.authenticate(token, upstream, &state.metrics).await?;
            if anonymous && !caller.perms.contains(P::PERM) {
                return Err(ApiError::unauthorized(format!(
                    "this operation needs the '{}' permission and anonymous access does not grant it: send a Lotus token as \"Authorization: Bearer <token>\"",
                    P::PERM
                )));
            }
            if !caller.perms.contains(P::PERM) {
                return Err(ApiError::forbidden(P::PERM, caller.perms));
            }
            Ok(Authorized {
                caller,
                _perm: PhantomData,
            })
        })
    }
}

/// Where Lotus keeps a repo's JWT secret.
pub fn repo_secret_path(repo: &Path) -> PathBuf {
    repo.join("keystore").join(LOTUS_JWT_KEY_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector from Lotus: a secret of 32 zero bytes and `["read","write"]`.
    const VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIiwid3JpdGUiXX0.sf1-1TUFfSyRrCjYNcXwsNzuHDQPpeRYyVo2r6YO4J4";

    #[test]
    fn mints_exactly_what_lotus_mints() {
        let secret = Secret::new(vec![0; 32]);
        assert_eq!(secret.mint(Perm::Write.up_to()), VECTOR);
        assert_eq!(
            secret.verify(VECTOR).unwrap(),
            [Perm::Read, Perm::Write].into_iter().collect()
        );
    }

    #[test]
    fn refuses_other_secrets_algorithms_and_garbage() {
        let other = Secret::new(vec![1; 32]);
        assert_eq!(other.verify(VECTOR), Err(TokenError::BadSignature));
        let none = format!(
            "{}.{}.",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(r#"{"alg":"none","typ":"JWT"}"#),
            VECTOR.split('.').nth(1).unwrap()
        );
        assert!(Secret::new(vec![0; 32]).verify(&none).is_err());
        assert!(precheck(&none).is_err());
        assert_eq!(
            Secret::new(vec![0; 32]).verify("not-a-token"),
            Err(TokenError::Malformed)
        );
        assert!(precheck(VECTOR).is_ok());
    }

    #[test]
    fn up_to_grants_everything_below() {
        assert_eq!(Perm::Sign.up_to().names(), vec!["read", "write", "sign"]);
        assert!(!Perm::Read.up_to().contains(Perm::Write));
    }

    #[test]
    fn keystore_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keystore").join(LOTUS_JWT_KEY_FILE);
        let created = Secret::load_or_create(&path).unwrap();
        let loaded = Secret::load(&path).unwrap();
        assert_eq!(created.0, loaded.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
