//! Tipset keys: never a panic; an accepted key is one `{"/": cid}` per comma-separated CID, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::lotus::address::parse_cid;
use lotus_rest::routes::params;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = params::tipset_key("tipset", input) else {
        return;
    };
    let parts: Vec<&str> = input.split(',').collect();
    let expected: Vec<Value> = parts
        .iter()
        .map(|p| json!({ "/": parse_cid(p.trim()).unwrap() }))
        .collect();
    assert_eq!(key, Value::Array(expected), "{input:?}");
    // The canonical CIDs, joined again, give the same key.
    let canonical: Vec<String> = parts.iter().map(|p| parse_cid(p.trim()).unwrap()).collect();
    assert_eq!(
        params::tipset_key("tipset", &canonical.join(",")).unwrap(),
        key
    );
});
