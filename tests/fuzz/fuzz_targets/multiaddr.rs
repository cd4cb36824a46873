//! `parse_host_port` and `upstream_url` on arbitrary text: no panic, and what is accepted means what it says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::addr::{parse_host_port, upstream_url, Host};

/// A host name as DNS writes it: dot-separated labels of letters, digits and inner hyphens.
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(hp) = parse_host_port(input) {
        // The authority of an IP address or a well-formed DNS name parses back as host:port to the same place.
        let well_formed = match &hp.host {
            Host::Ip(_) => true,
            Host::Dns(name) => is_dns_name(name),
        };
        if well_formed {
            let again = parse_host_port(&hp.authority()).unwrap_or_else(|e| {
                panic!("{input:?} gave {}, which is refused: {e}", hp.authority())
            });
            assert_eq!(again.host, hp.host, "{input:?}");
            assert_eq!(again.port, hp.port, "{input:?}");
        }
    }
    if let Ok(url) = upstream_url(input, "/rpc/v1") {
        assert!(
            matches!(url.scheme(), "http" | "https"),
            "{input:?} gave {url}"
        );
        assert!(url.host().is_some(), "{input:?} gave {url}");
    }
});
