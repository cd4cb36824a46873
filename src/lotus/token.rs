//! Lotus's API tokens: HS256 JWTs whose payload is `{"Allow": ["read", ...]}`, signed with the secret Lotus keeps
//! in its keystore.

use std::fmt;
use std::path::Path;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};

use super::perm::PermSet;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lotus::Perm;

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
