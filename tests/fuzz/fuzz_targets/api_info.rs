//! `FULLNODE_API_INFO` values: never a panic; an accepted value is an http(s) URL with a host, and a token taken
//! from it is a non-empty, trimmed piece of the input with no '/'.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::addr::ApiInfo;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(info) = ApiInfo::parse(input, "/rpc/v1") else {
        return;
    };
    assert!(
        matches!(info.url.scheme(), "http" | "https"),
        "{input:?} gave {}",
        info.url
    );
    assert!(info.url.host().is_some(), "{input:?} gave {}", info.url);
    if let Some(token) = &info.token {
        assert!(!token.is_empty() && token.trim() == token, "{input:?}");
        assert!(!token.contains('/') && !token.contains(':'), "{input:?}");
        assert!(input.contains(token.as_str()), "{input:?}");
    }
});
