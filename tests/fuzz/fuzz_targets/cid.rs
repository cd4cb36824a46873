//! CIDs: parsing arbitrary text never panics and its canonical form is a fixed point; a CID made from any
//! digest parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::lotus::address::{cid_from_digest, parse_cid};
use lotus_rest::routes::params;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        if let Ok(canonical) = parse_cid(input) {
            assert_eq!(parse_cid(&canonical).as_ref(), Ok(&canonical), "{input:?}");
        }
        if let Ok(value) = params::cid("cid", input) {
            assert_eq!(value, json!({ "/": parse_cid(input.trim()).unwrap() }));
        }
    }
    if let Some(digest) = data.get(..32) {
        let cid = cid_from_digest(digest.try_into().unwrap());
        assert_eq!(parse_cid(&cid).as_ref(), Ok(&cid));
    }
});
