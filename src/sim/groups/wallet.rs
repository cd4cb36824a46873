//! Simulated wallet methods: the node's keys, its default address, signing and verification.
//!
//! The wallet starts with the keys of the first six accounts of the chain (t0100–t0105), the first of them as
//! default. Keys are 32 random-looking bytes; an address is derived from its key. Signatures are not real
//! secp256k1 or BLS ones but a keyed hash of the key and the data, of the right type and size (65 bytes of type 1
//! for secp256k1, 96 bytes of type 2 for BLS); verification recomputes it.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::chain::NETWORK;
use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::{lock, to_json};
use crate::lotus::address::Address;
use crate::lotus::types::{Message, Signature, SignedMessage};

/// How many of the chain's accounts the wallet holds keys for at start.
const SEEDED_KEYS: usize = 6;

/// A private key as Lotus exports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KeyInfo {
    /// `secp256k1` or `bls`.
    pub r#type: String,
    /// base64
    pub private_key: String,
}

/// What this group keeps between calls.
#[derive(Default)]
pub(crate) struct State {
    seeded: bool,
    /// The keys the wallet holds, by address.
    keys: BTreeMap<String, KeyInfo>,
    /// Every key the node has known, by address: what verification uses, since a real signature is checked
    /// against the address alone.
    known: HashMap<String, KeyInfo>,
    default: Option<String>,
    /// How many keys `WalletNew` has made.
    created: i64,
}

fn hash(parts: &[&[u8]], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter = 0u64;
    while out.len() < len {
        let mut state = blake2b_simd::Params::new().hash_length(64).to_state();
        for part in parts {
            state.update(&(part.len() as u64).to_le_bytes());
            state.update(part);
        }
        state.update(&counter.to_le_bytes());
        out.extend_from_slice(state.finalize().as_bytes());
        counter += 1;
    }
    out.truncate(len);
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("illegal base64 data: {e}"))
}

/// The address of a key: protocol 1 (20-byte payload) for secp256k1, 3 (48 bytes) for BLS.
fn address_of(key: &KeyInfo) -> Result<String, String> {
    let private = unb64(&key.private_key)?;
    let (protocol, len) = match key.r#type.as_str() {
        "secp256k1" => (1, 20),
        "bls" => (3, 48),
        other => return Err(format!("unsupported key type: {other}")),
    };
    Ok(Address::new_hash(
        NETWORK,
        protocol,
        hash(&[b"public key", key.r#type.as_bytes(), &private], len),
    )
    .to_string())
}

/// The simulated signature of `data` with `key`.
fn sign_with(key: &KeyInfo, data: &[u8]) -> Result<Signature, String> {
    let private = unb64(&key.private_key)?;
    let (r#type, len) = match key.r#type.as_str() {
        "secp256k1" => (1, 65),
        _ => (2, 96),
    };
    Ok(Signature {
        r#type,
        data: b64(&hash(&[b"signature", &private, data], len)),
    })
}

impl State {
    /// Fills the wallet with the keys of the chain's first accounts, once.
    fn seed(&mut self, shared: &Shared) {
        if self.seeded {
            return;
        }
        self.seeded = true;
        let accounts = shared.chain().accounts();
        for account in accounts
            .into_iter()
            .filter(|a| a.kind != super::super::SimActorKind::Miner)
            .take(SEEDED_KEYS)
        {
            let r#type = match account.kind {
                super::super::SimActorKind::SecpAccount => "secp256k1",
                _ => "bls",
            };
            let key = KeyInfo {
                r#type: r#type.into(),
                private_key: b64(&hash(&[b"account key", account.robust.as_bytes()], 32)),
            };
            if self.default.is_none() {
                self.default = Some(account.robust.clone());
            }
            self.known.insert(account.robust.clone(), key.clone());
            self.keys.insert(account.robust, key);
        }
    }

    /// The address a key has: a key the node knew keeps its address.
    fn address_for(&self, key: &KeyInfo) -> Result<String, String> {
        if let Some((addr, _)) = self.known.iter().find(|(_, k)| *k == key) {
            return Ok(addr.clone());
        }
        address_of(key)
    }
}

/// The key address an address stands for: an ID address of an account resolves to its key address.
fn key_address(shared: &Shared, addr: &Address) -> Result<String, String> {
    if addr.protocol == 0 {
        shared.chain().account_key(addr, &[])
    } else {
        Ok(addr.to_string())
    }
}

/// Signs `data` with the wallet's key for `addr`, failing as Lotus does when the wallet has no such key.
pub(super) fn sign(shared: &Shared, addr: &Address, data: &[u8]) -> Result<Signature, String> {
    let key_addr = key_address(shared, addr)?;
    let mut state = lock(&shared.groups.wallet);
    state.seed(shared);
    let key = state
        .keys
        .get(&key_addr)
        .ok_or_else(|| format!("signing using key '{key_addr}': key info not found"))?;
    sign_with(key, data)
}

/// Whether the wallet holds the key of `addr` (an ID address of an account counts as its key address).
pub(super) fn holds(shared: &Shared, addr: &str) -> Result<(), String> {
    let parsed = Address::parse(addr).map_err(|e| format!("invalid address: {e}"))?;
    let key_addr = key_address(shared, &parsed)?;
    let mut state = lock(&shared.groups.wallet);
    state.seed(shared);
    if state.keys.contains_key(&key_addr) {
        Ok(())
    } else {
        Err(format!(
            "failed to sign message: signing using key '{key_addr}': key info not found"
        ))
    }
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "WalletList" => (|| {
            p.expect(0)?;
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            Ok(to_json(state.keys.keys().collect::<Vec<_>>()))
        })(),
        "WalletHas" => (|| {
            p.expect(1)?;
            let addr = p.address(0)?;
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            Ok(Value::Bool(state.keys.contains_key(&addr.to_string())))
        })(),
        "WalletDefaultAddress" => (|| {
            p.expect(0)?;
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            // Lotus answers the undefined address when no default is set.
            Ok(to_json(state.default.as_deref().unwrap_or("<empty>")))
        })(),
        "WalletSetDefault" => (|| {
            p.expect(1)?;
            let addr = p.address(0)?.to_string();
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            if !state.keys.contains_key(&addr) {
                return Err(Failure::method(format!(
                    "failed to set default address {addr}: key info not found"
                )));
            }
            state.default = Some(addr);
            Ok(Value::Null)
        })(),
        "WalletNew" => (|| {
            p.expect(1)?;
            let r#type: String = p.decode(0, "types.KeyType")?;
            if r#type != "secp256k1" && r#type != "bls" {
                return Err(Failure::method(format!("unsupported key type: {type}")));
            }
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            state.created += 1;
            let n = state.created;
            let key = KeyInfo {
                private_key: b64(&hash(&[b"new key", &n.to_le_bytes()], 32)),
                r#type,
            };
            let addr = address_of(&key).map_err(Failure::method)?;
            state.known.insert(addr.clone(), key.clone());
            state.keys.insert(addr.clone(), key);
            if state.default.is_none() {
                state.default = Some(addr.clone());
            }
            Ok(to_json(addr))
        })(),
        "WalletImport" => (|| {
            p.expect(1)?;
            let key: KeyInfo = p.decode(0, "*types.KeyInfo")?;
            let private = unb64(&key.private_key).map_err(|e| p.bad("*types.KeyInfo", e))?;
            if private.len() != 32 {
                return Err(Failure::method(format!(
                    "importing key: invalid private key length {} (expected 32 bytes)",
                    private.len()
                )));
            }
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            let addr = state.address_for(&key).map_err(Failure::method)?;
            state.known.insert(addr.clone(), key.clone());
            state.keys.insert(addr.clone(), key);
            Ok(to_json(addr))
        })(),
        "WalletExport" => {
            (|| {
                p.expect(1)?;
                let addr = p.address(0)?.to_string();
                let mut state = lock(&shared.groups.wallet);
                state.seed(shared);
                state.keys.get(&addr).map(to_json).ok_or_else(|| {
                    Failure::method(format!("exporting key {addr}: key info not found"))
                })
            })()
        }
        "WalletDelete" => (|| {
            p.expect(1)?;
            let addr = p.address(0)?.to_string();
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            if state.keys.remove(&addr).is_none() {
                return Err(Failure::method(format!(
                    "failed to delete key {addr}: key info not found"
                )));
            }
            if state.default.as_deref() == Some(addr.as_str()) {
                state.default = None;
            }
            Ok(Value::Null)
        })(),
        "WalletSign" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let data: String = p.decode(1, "[]uint8")?;
            let data = unb64(&data).map_err(|e| p.bad("[]uint8", e))?;
            sign(shared, &addr, &data)
                .map(to_json)
                .map_err(Failure::method)
        })(),
        "WalletSignMessage" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let mut message: Message = p.decode(1, "*types.Message")?;
            let cid = shared.chain().message_cid(&message);
            let signature = sign(shared, &addr, cid.root.as_bytes()).map_err(Failure::method)?;
            message.cid = Some(cid);
            let mut signed = SignedMessage {
                message,
                signature,
                cid: None,
            };
            signed.cid = Some(shared.chain().signed_cid(&signed));
            Ok(to_json(signed))
        })(),
        "WalletVerify" => (|| {
            p.expect(3)?;
            let addr = p.address(0)?;
            let data: String = p.decode(1, "[]uint8")?;
            let data = unb64(&data).map_err(|e| p.bad("[]uint8", e))?;
            let signature: Signature = p.decode(2, "*crypto.Signature")?;
            let key_addr = key_address(shared, &addr).map_err(Failure::method)?;
            let mut state = lock(&shared.groups.wallet);
            state.seed(shared);
            let valid = match state.known.get(&key_addr) {
                Some(key) => sign_with(key, &data).map_err(Failure::method)? == signature,
                None => false,
            };
            Ok(Value::Bool(valid))
        })(),
        "WalletValidateAddress" => (|| {
            p.expect(1)?;
            let text: String = p.decode(0, "string")?;
            Address::parse(&text)
                .map(|a| to_json(a.to_string()))
                .map_err(Failure::method)
        })(),
        _ => return None,
    };
    Some(result)
}
