//! Pagination of lists that Lotus returns whole.
//!
//! A paged route reads the list once, at a concrete tipset (the head is pinned to its key on the first page), and
//! keeps it in a small cache keyed by the method and its parameters; every later page names that tipset in its
//! opaque cursor, so paging never re-fetches the list and never mixes two states. A cursor is bound to the list it
//! came from: given to another route, or with other parameters, it is refused. A cursor is signed (a keyed hash
//! with a key made at start, or `[API] CursorSecret` shared by replicas): one altered by a client, to read another
//! tipset or another list, is refused with 400 before anything is asked of the node.

use std::sync::Arc;

use actix_web::HttpResponse;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::params::{AtTipset, HeightOnly};
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest page size.
pub const MAX_LIMIT: usize = 1000;

/// Which page of a list to return.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// How many entries to return: 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    pub limit: Option<String>,
    /// Where to continue: the `next_cursor` of the previous page, as it was given.
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]+$", example = "eyJrIjpbXSwibyI6MTAwfQ")]
    pub cursor: Option<String>,
}

/// A page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PageOf<T> {
    /// The entries of this page, in the order Lotus gives them.
    pub items: Vec<T>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many entries the whole list has.
    pub total: usize,
    /// The tipset the list was read at: its block CIDs.
    #[schema(value_type = Vec<crate::lotus::types::Cid>)]
    pub tipset: Value,
}

/// What a cursor carries: the tipset, the offset, and a fingerprint of the list it belongs to.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    /// The tipset key the list was read at.
    k: Value,
    /// The offset of the next entry.
    o: usize,
    /// A fingerprint of the method and its other parameters.
    f: u64,
}

/// How a list's entries come out of Lotus's reply.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A JSON array (or `null`, an empty list).
    Array,
    /// A JSON object keyed by name (an address, a peer ID); each entry becomes the value with the key added under
    /// this field name, as a string (values that are not objects become `{"<field>": key, "Value": value}`).
    Map(&'static str),
    /// A JSON object keyed by numeric ID (a deal, an allocation, a claim): as [`Shape::Map`], the key added as a
    /// number. A key that is not a number is the node's error, never served in the numeric field.
    Ids(&'static str),
}

fn fingerprint(text: &str) -> u64 {
    let hash = blake2b_simd::Params::new()
        .hash_length(8)
        .hash(text.as_bytes());
    u64::from_le_bytes(hash.as_bytes().try_into().expect("8 bytes"))
}

/// The key cursors are signed with: `[API] CursorSecret`, or random, made once per process.
static CURSOR_KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

/// Sets the key cursors are signed with from a configured secret; without one, a random key is made at first use.
/// The first key set holds for the life of the process.
pub fn init_cursor_key(secret: Option<&str>) {
    if let Some(secret) = secret {
        let key = blake2b_simd::Params::new()
            .hash_length(32)
            .personal(b"lotus-rest-cur")
            .hash(secret.as_bytes());
        let key: [u8; 32] = key.as_bytes().try_into().expect("32 bytes");
        if *CURSOR_KEY.get_or_init(|| key) != key {
            log::warn!("cursors are already signed with another key in this process; [API] CursorSecret is not used");
        }
    }
}

fn cursor_key() -> &'static [u8; 32] {
    CURSOR_KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut key)
            .expect("the operating system's random number generator works");
        key
    })
}

fn cursor_mac(payload: &[u8]) -> blake2b_simd::Hash {
    blake2b_simd::Params::new()
        .hash_length(16)
        .key(cursor_key())
        .hash(payload)
}

/// A cursor as given to clients: its payload and the payload's signature.
fn seal(payload: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}",
        b64.encode(payload),
        b64.encode(cursor_mac(payload).as_bytes())
    )
}

/// The payload of a cursor this gateway signed; an altered or foreign one is refused.
fn open(text: &str) -> Result<Vec<u8>, ApiError> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (payload, mac) = text
        .trim()
        .split_once('.')
        .ok_or_else(|| bad_cursor("not a cursor this gateway issued"))?;
    let payload = b64
        .decode(payload)
        .map_err(|_| bad_cursor("not a cursor this gateway issued"))?;
    let mac = b64
        .decode(mac)
        .map_err(|_| bad_cursor("not a cursor this gateway issued"))?;
    // blake2b_simd compares hashes in constant time.
    if cursor_mac(&payload) != *mac.as_slice() {
        return Err(bad_cursor(
            "its signature does not match: it was altered, or issued by another gateway",
        ));
    }
    Ok(payload)
}

fn bad_cursor(detail: &str) -> ApiError {
    ApiError::invalid_parameter(format!(
        "invalid cursor: {detail}; give the next_cursor of the previous page unchanged, with the same other parameters"
    ))
}

impl Page {
    /// The page size asked for.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match &self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| {
                    (1..=MAX_LIMIT).contains(n) && text.trim().bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "invalid limit \"{text}\": expected an integer from 1 to {MAX_LIMIT}"
                    ))
                }),
        }
    }
}

/// A keyset cursor: the last key of the previous page and the fingerprint of its list. A page that starts after
/// a key stays right when entries come or go between requests (for lists not read at a tipset, such as the miner's).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct After<K> {
    /// The last key of the previous page.
    a: K,
    /// The fingerprint of the list and its filter.
    f: u64,
}

/// Makes the keyset cursor of a page that ended with `key`.
pub fn encode_after<K: Serialize>(key: &K, print: u64) -> String {
    seal(&serde_json::to_vec(&After { a: key, f: print }).expect("cursors serialize"))
}

/// The key a keyset cursor continues after, when it was issued for the list `print` stands for.
pub fn decode_after<K: DeserializeOwned>(text: &str, print: u64) -> Result<K, ApiError> {
    let raw = open(text)?;
    let after: After<K> =
        serde_json::from_slice(&raw).map_err(|_| bad_cursor("not a cursor this gateway issued"))?;
    if after.f != print {
        return Err(bad_cursor("it belongs to another list"));
    }
    Ok(after.a)
}

/// The fingerprint a cursor of `method` with these parameters carries (the tipset left out).
pub fn list_fingerprint(method: &str, identity: &Value) -> u64 {
    fingerprint(&format!("{method}\u{0}{identity}"))
}

/// Makes the opaque cursor of the entry at `offset` of the list read at `key`.
pub fn encode_cursor(key: &Value, offset: usize, print: u64) -> String {
    let cursor = Cursor {
        k: key.clone(),
        o: offset,
        f: print,
    };
    seal(&serde_json::to_vec(&cursor).expect("cursors serialize"))
}

/// Reads a cursor back: the tipset key and the offset, if it was made for the list with fingerprint `print`.
pub fn decode_cursor(text: &str, print: u64) -> Result<(Value, usize), ApiError> {
    let raw = open(text)?;
    let cursor: Cursor =
        serde_json::from_slice(&raw).map_err(|_| bad_cursor("not a cursor this gateway issued"))?;
    if cursor.f != print {
        return Err(bad_cursor("it belongs to another list"));
    }
    let key_ok = cursor.k.as_array().is_some_and(|cids| {
        !cids.is_empty()
            && cids.iter().all(|c| {
                c["/"]
                    .as_str()
                    .is_some_and(|s| crate::lotus::address::parse_cid(s).is_ok())
            })
    });
    if !key_ok {
        return Err(bad_cursor("not a cursor this gateway issued"));
    }
    Ok((cursor.k, cursor.o))
}

/// Reads the head's tipset key, to pin a list to it.
async fn head_key(state: &AppState, caller: &Caller) -> Result<Value, ApiError> {
    // The head the gateway serves, read once per head, when its stream has it; the caller may still not call
    // ChainHead (the permission is checked as if it were called).
    if let Some((key, _)) = state.streamed_head_key() {
        state.node.guard(caller, "Filecoin.ChainHead")?;
        return Ok(Value::clone(&key));
    }
    #[derive(Deserialize)]
    struct KeyOnly {
        #[serde(rename = "Cids")]
        cids: Value,
    }
    let head = state
        .node
        .call_read(caller, "Filecoin.ChainHead", json!([]), false)
        .await?;
    let key: KeyOnly = super::decode("Filecoin.ChainHead", &head)?;
    if let Ok(h) = serde_json::from_str::<HeightOnly>(&head) {
        state.head.observe(h.height);
    }
    Ok(key.cids)
}

/// Answers one page of the list `method` returns. `params` builds the method's parameters for a tipset key; the
/// key is the cursor's, else the one `at` selects, else the head's.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    method: &str,
    params: impl Fn(Value) -> Value,
    shape: Shape,
    at: &AtTipset,
    page: &Page,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let print = list_fingerprint(method, &params(json!("\u{0}tipset")));
    let (key, offset) = match &page.cursor {
        Some(text) => {
            let (key, offset) = decode_cursor(text, print)?;
            if at.height.is_some() || at.tipset.is_some() {
                let asked = at.key(state, caller).await?.key;
                if asked != key {
                    return Err(bad_cursor(
                        "it was issued for another tipset than the one selected",
                    ));
                }
            }
            (key, offset)
        }
        None => {
            let resolved = at.key(state, caller).await?;
            let key = match resolved.key.as_array() {
                Some(cids) if cids.is_empty() => head_key(state, caller).await?,
                _ => resolved.key,
            };
            (key, 0)
        }
    };
    let call_params = params(key.clone());
    let cache_key = format!("{method}\u{0}{call_params}");
    let items = match state.lists.get(&cache_key) {
        Some(items) => {
            state.node.guard(caller, method)?;
            items
        }
        None => {
            state.node.guard(caller, method)?;
            let raw = state
                .node
                .request_shared(caller.upstream_token.as_deref(), method, call_params)
                .await?;
            let items = Arc::new(entries(method, &raw, shape)?);
            state.lists.insert(cache_key, items.clone());
            items
        }
    };
    let total = items.len();
    if offset > total {
        return Err(bad_cursor("its position is beyond the end of the list"));
    }
    let end = (offset + limit).min(total);
    let next_cursor = (end < total).then(|| encode_cursor(&key, end, print));
    #[derive(Serialize)]
    struct Out<'a> {
        items: &'a [Box<RawValue>],
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
        total: usize,
        tipset: &'a Value,
    }
    // The list is pinned to a tipset, so a page never changes; clients may still revalidate with the ETag.
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, super::MUTABLE))
        .json(Out {
            items: &items[offset..end],
            next_cursor,
            total,
            tipset: &key,
        }))
}

/// Splits a reply into its entries.
fn entries(method: &str, raw: &str, shape: Shape) -> Result<Vec<Box<RawValue>>, ApiError> {
    let bad = |e: String| {
        ApiError::new(
            Code::UpstreamBadResponse,
            format!("the Lotus node's reply to {method} is not the expected list: {e}"),
        )
    };
    match shape {
        Shape::Array => {
            let list: Option<Vec<Box<RawValue>>> =
                serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
            Ok(list.unwrap_or_default())
        }
        Shape::Map(field) | Shape::Ids(field) => {
            let numeric = matches!(shape, Shape::Ids(_));
            let map: Option<serde_json::Map<String, Value>> =
                serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
            let mut pairs: Vec<(String, Value)> = map.unwrap_or_default().into_iter().collect();
            // IDs sort as numbers: deal 10 comes after deal 9.
            // (A total order: numeric keys first, by value, then the others as text.)
            pairs.sort_by_cached_key(|(k, _)| {
                let n = k.parse::<u64>();
                (n.is_err(), n.unwrap_or(0), k.clone())
            });
            let mut out = Vec::with_capacity(pairs.len());
            for (k, v) in pairs {
                let id = if numeric {
                    k.parse::<u64>().map(Value::from).map_err(|_| {
                        bad(format!(
                            "the key \"{k}\" is not a {field} (a non-negative integer)"
                        ))
                    })?
                } else {
                    Value::String(k)
                };
                let entry = match v {
                    Value::Object(mut fields) => {
                        let mut obj = serde_json::Map::new();
                        obj.insert(field.to_owned(), id);
                        obj.append(&mut fields);
                        Value::Object(obj)
                    }
                    other => json!({ field: id, "Value": other }),
                };
                out.push(serde_json::value::to_raw_value(&entry).map_err(|e| bad(e.to_string()))?);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_stay_with_their_list() {
        let key = json!([{"/": "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"}]);
        let print = list_fingerprint("Filecoin.StateListActors", &json!(["\u{0}tipset"]));
        let other = list_fingerprint("Filecoin.StateListMiners", &json!(["\u{0}tipset"]));
        let text = encode_cursor(&key, 300, print);
        assert_eq!(decode_cursor(&text, print).unwrap(), (key.clone(), 300));
        assert!(decode_cursor(&text, other)
            .unwrap_err()
            .detail
            .contains("another list"));
        for bad in ["", "!!", "e30", "bm90IGpzb24"] {
            assert!(decode_cursor(bad, print).is_err(), "{bad}");
        }
        // A cursor whose tipset is not a list of CIDs is not one of ours.
        let forged = encode_cursor(&json!([{"/": "nope"}]), 1, print);
        assert!(decode_cursor(&forged, print).is_err());
    }

    #[test]
    fn maps_become_entries_in_id_order() {
        let raw = r#"{"10": {"State": 1}, "9": {"State": 2}}"#;
        let items = entries("M", raw, Shape::Ids("DealID")).unwrap();
        let items: Vec<String> = items.iter().map(|i| i.get().to_string()).collect();
        assert_eq!(
            items,
            vec![r#"{"DealID":9,"State":2}"#, r#"{"DealID":10,"State":1}"#]
        );
        // A key that is not an ID never lands in the numeric field.
        let e = entries("M", r#"{"t026363": {"State": 1}}"#, Shape::Ids("DealID")).unwrap_err();
        assert!(e.to_string().contains("t026363"), "{e}");
        // Names stay names, even when they look like numbers.
        let items = entries("M", r#"{"f0100": 5, "12": 6}"#, Shape::Map("Address")).unwrap();
        let items: Vec<String> = items.iter().map(|i| i.get().to_string()).collect();
        assert_eq!(
            items,
            vec![
                r#"{"Address":"12","Value":6}"#,
                r#"{"Address":"f0100","Value":5}"#
            ]
        );
        assert!(entries("M", "null", Shape::Array).unwrap().is_empty());
        assert!(entries("M", "{}", Shape::Array).is_err());
    }

    #[test]
    fn limits_are_checked() {
        let page = |l: &str| Page {
            limit: Some(l.into()),
            cursor: None,
        };
        assert_eq!(page("1").limit().unwrap(), 1);
        assert_eq!(page("1000").limit().unwrap(), 1000);
        for bad in ["0", "1001", "-1", "+5", "ten", ""] {
            assert!(page(bad).limit().is_err(), "{bad}");
        }
        assert_eq!(Page::default().limit().unwrap(), DEFAULT_LIMIT);
    }
}
