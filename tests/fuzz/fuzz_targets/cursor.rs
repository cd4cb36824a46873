//! Page cursors: decoding arbitrary text never panics and never yields a cursor of another list; a cursor made
//! for a list decodes to what it was made from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::routes::page::{decode_cursor, encode_cursor, list_fingerprint};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let print = list_fingerprint("Filecoin.StateListActors", &json!(["\u{0}tipset"]));
    if let Ok(input) = std::str::from_utf8(data) {
        if let Ok((key, offset)) = decode_cursor(input, print) {
            // Whatever decodes re-encodes to a cursor that decodes the same, and belongs to this list only.
            let again = encode_cursor(&key, offset, print);
            assert_eq!(decode_cursor(&again, print).unwrap(), (key, offset));
            assert!(decode_cursor(input, print ^ 1).is_err());
        }
    }
    if data.len() >= 8 {
        let offset = u64::from_le_bytes(data[..8].try_into().unwrap()) as usize;
        let key = json!([{"/": "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"}]);
        let text = encode_cursor(&key, offset, print);
        assert_eq!(decode_cursor(&text, print).unwrap(), (key, offset));
    }
});
