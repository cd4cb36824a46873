//! Properties of the parsers of untrusted input: addresses, CIDs, tokens and path/query parameters.
//!
//! They never panic, whatever the input; what they print they parse back to the same value; and they reject
//! what must be rejected (a typo in a checksummed address, a token with another secret, signature or algorithm).

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;
use lotus_rest::addr::{parse_host_port, upstream_url, ApiInfo, Scheme};
use lotus_rest::auth::{precheck, Perm, PermSet, Secret};
use lotus_rest::lotus::address::{cid_from_digest, parse_cid, Address};
use lotus_rest::routes::params;
use proptest::prelude::*;
use serde_json::{json, Value};

const PATH: &str = "/rpc/v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Failures are reported with the shrunk input; no regression files are written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Arbitrary text: any Unicode string, or arbitrary bytes read as UTF-8 (lossily).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..128)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Text shaped like a multiaddr, to reach past the first `/`.
fn multiaddr_like() -> impl Strategy<Value = String> {
    "(/(ip4|ip6|dns|dns4|dns6|tcp|udp|http|https|tls|ws|wss|p2p|ip6zone|unix)(/[0-9a-f.:@#?% -]{0,16})?){0,6}"
}

/// Text shaped like a Filecoin address, to reach the checksum.
fn address_like() -> impl Strategy<Value = String> {
    "[ft][0-4]([0-9]{0,4}f)?[a-z2-7]{0,100}"
}

fn network() -> impl Strategy<Value = char> {
    prop_oneof![Just('f'), Just('t')]
}

fn other_network(n: char) -> char {
    if n == 'f' {
        't'
    } else {
        'f'
    }
}

/// Any valid address of any protocol: ID, secp256k1 and actor (20 bytes), BLS (48 bytes), and delegated
/// (namespace 10, a 20-byte Ethereum subaddress).
fn valid_address() -> impl Strategy<Value = Address> {
    prop_oneof![
        (network(), any::<u64>()).prop_map(|(n, id)| Address::new_id(n, id)),
        (
            network(),
            1u8..=2,
            proptest::collection::vec(any::<u8>(), 20)
        )
            .prop_map(|(n, p, payload)| Address::new_hash(n, p, payload)),
        (network(), proptest::collection::vec(any::<u8>(), 48))
            .prop_map(|(n, payload)| Address::new_hash(n, 3, payload)),
        (network(), proptest::collection::vec(any::<u8>(), 20)).prop_map(|(n, payload)| {
            Address {
                network: n,
                protocol: 4,
                id: Some(10),
                payload,
            }
        }),
    ]
}

/// Checksummed addresses only (protocols 1 to 4).
fn checksummed_address() -> impl Strategy<Value = Address> {
    valid_address().prop_filter("checksummed", |a| a.protocol != 0)
}

fn perm_set() -> impl Strategy<Value = PermSet> {
    (0u8..16).prop_map(|bits| {
        Perm::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, p)| p)
            .collect()
    })
}

fn secret_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..=64)
}

fn digest() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_parser_panics_on_arbitrary_text(s in text()) {
        let _ = parse_host_port(&s);
        let _ = upstream_url(&s, PATH);
        let _ = ApiInfo::parse(&s, PATH);
        let _ = Address::parse(&s);
        let _ = Address::parse_for(&s, Some('f'));
        let _ = Address::parse_for(&s, Some('t'));
        let _ = parse_cid(&s);
        let _ = precheck(&s);
        let _ = Secret::new(vec![0; 32]).verify(&s);
        let _ = params::tipset_key("tipset", &s);
        let _ = params::height("height", &s);
        let _ = params::cid("cid", &s);
    }

    #[test]
    fn network_address_parsers_do_not_panic_on_multiaddr_like_text(s in multiaddr_like(), token in "[a-zA-Z0-9.]{0,8}") {
        let _ = parse_host_port(&s);
        let _ = upstream_url(&s, PATH);
        let _ = ApiInfo::parse(&s, PATH);
        let _ = ApiInfo::parse(&format!("{token}:{s}"), PATH);
    }

    #[test]
    fn address_parser_does_not_panic_on_address_like_text(s in address_like()) {
        if let Ok(a) = Address::parse(&s) {
            // Whatever is accepted prints as something that parses back to the same address.
            prop_assert_eq!(Address::parse(&a.to_string()), Ok(a));
        }
    }

    #[test]
    fn jwt_parsers_do_not_panic_on_three_part_text(h in "[A-Za-z0-9_=+/-]{0,40}", p in "[A-Za-z0-9_=+/-]{0,40}", s in "[A-Za-z0-9_=+/-]{0,50}") {
        let token = format!("{h}.{p}.{s}");
        let _ = precheck(&token);
        let _ = Secret::new(vec![0; 32]).verify(&token);
    }

    #[test]
    fn addresses_round_trip_through_display(a in valid_address()) {
        let s = a.to_string();
        prop_assert!(s.starts_with(a.network));
        prop_assert_eq!(Address::parse(&s), Ok(a.clone()));
        prop_assert_eq!(Address::parse_for(&s, Some(a.network)), Ok(a.clone()));
        prop_assert_eq!(Address::parse_for(&s, None), Ok(a));
    }

    #[test]
    fn parse_for_rejects_the_other_network(a in valid_address()) {
        let s = a.to_string();
        let err = Address::parse_for(&s, Some(other_network(a.network))).unwrap_err();
        prop_assert!(err.contains("network"), "{}", err);
    }

    /// The checksum covers the protocol and the payload (and a delegated address's namespace) but not the network
    /// prefix: changing 'f' to 't' or back gives the same address on the other network; any other single-character
    /// change is refused.
    #[test]
    fn a_single_character_typo_in_a_checksummed_address_is_refused(
        a in checksummed_address(),
        index in any::<prop::sample::Index>(),
        replacement in prop::sample::select(
            "ft0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+-. é".chars().collect::<Vec<_>>()
        ),
    ) {
        let original = a.to_string();
        let mut chars: Vec<char> = original.chars().collect();
        let at = index.index(chars.len());
        prop_assume!(chars[at] != replacement);
        chars[at] = replacement;
        let typo: String = chars.into_iter().collect();
        match Address::parse(&typo) {
            Err(_) => {}
            Ok(parsed) => {
                prop_assert_eq!(at, 0, "{} accepted as {}", typo, parsed);
                prop_assert_eq!(parsed.network, replacement);
                prop_assert_eq!(parsed, Address { network: replacement, ..a });
            }
        }
    }

    #[test]
    fn cids_from_digests_parse_to_themselves(d in digest()) {
        let cid = cid_from_digest(&d);
        prop_assert!(cid.starts_with("bafy2bza"), "{}", cid);
        prop_assert_eq!(parse_cid(&cid), Ok(cid.clone()));
        prop_assert_eq!(params::cid("cid", &cid).unwrap(), json!({ "/": cid }));
    }

    #[test]
    fn tipset_keys_are_arrays_of_their_cids(
        digests in proptest::collection::vec(digest(), 1..8),
        spaced in any::<bool>(),
    ) {
        let cids: Vec<String> = digests.iter().map(cid_from_digest).collect();
        let joined = cids.join(if spaced { " , " } else { "," });
        let key = params::tipset_key("tipset", &joined).unwrap();
        let expected: Vec<Value> = cids.iter().map(|c| json!({ "/": c })).collect();
        prop_assert_eq!(key, Value::Array(expected));
    }

    #[test]
    fn tipset_keys_with_an_empty_element_are_refused(
        digests in proptest::collection::vec(digest(), 1..5),
        at in any::<prop::sample::Index>(),
    ) {
        let mut cids: Vec<String> = digests.iter().map(cid_from_digest).collect();
        cids.insert(at.index(cids.len() + 1), " ".into());
        prop_assert!(params::tipset_key("tipset", &cids.join(",")).is_err());
    }

    #[test]
    fn minted_tokens_verify_to_exactly_their_permissions(
        perms in perm_set(),
        secret in secret_bytes(),
        flip in any::<prop::sample::Index>(),
    ) {
        let token = Secret::new(secret.clone()).mint(perms);
        prop_assert_eq!(precheck(&token), Ok(()));
        prop_assert_eq!(Secret::new(secret.clone()).verify(&token), Ok(perms));
        // Another secret of the same length. (HMAC pads a key with zero bytes, so secrets differing only by
        // trailing zeros are the same key; keeping the length avoids that.)
        let mut other = secret;
        let i = flip.index(other.len());
        other[i] ^= 0x01;
        prop_assert!(Secret::new(other).verify(&token).is_err());
    }

    #[test]
    fn tampering_with_a_token_is_detected(
        perms in perm_set(),
        secret in secret_bytes(),
        signature_part in any::<bool>(),
        index in any::<prop::sample::Index>(),
        replacement in prop::sample::select(BASE64URL.to_vec()),
    ) {
        let key = Secret::new(secret);
        let token = key.mint(perms);
        let mut parts: Vec<Vec<u8>> = token.split('.').map(|p| p.as_bytes().to_vec()).collect();
        let part = &mut parts[if signature_part { 2 } else { 1 }];
        let at = index.index(part.len());
        prop_assume!(part[at] != replacement);
        part[at] = replacement;
        let tampered = parts.iter().map(|p| String::from_utf8(p.clone()).unwrap()).collect::<Vec<_>>().join(".");
        prop_assert!(key.verify(&tampered).is_err(), "{} verified", tampered);
    }

    #[test]
    fn precheck_refuses_every_algorithm_but_hs256(
        alg in prop_oneof![
            Just("none".to_string()),
            Just("None".to_string()),
            Just("HS512".to_string()),
            Just("HS384".to_string()),
            Just("hs256".to_string()),
            Just("HS256 ".to_string()),
            Just(" HS256".to_string()),
            Just("RS256".to_string()),
            Just("ES256".to_string()),
            Just("EdDSA".to_string()),
            Just(String::new()),
            "[A-Za-z0-9]{0,8}",
            any::<String>(),
        ],
        secret in secret_bytes(),
    ) {
        prop_assume!(alg != "HS256");
        let header = B64.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
        let payload = B64.encode(r#"{"Allow":["read","write","sign","admin"]}"#);
        // A well-formed HS256 signature over the message, so only the header's algorithm is wrong.
        let message = format!("{header}.{payload}");
        let mac = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(&secret).unwrap(),
            jsonwebtoken::Algorithm::HS256,
        ).unwrap();
        let token = format!("{message}.{mac}");
        prop_assert!(precheck(&token).is_err(), "alg {:?} passed", alg);
        prop_assert!(Secret::new(secret).verify(&token).is_err(), "alg {:?} verified", alg);
    }

    #[test]
    fn height_accepts_every_non_negative_i64(h in 0..=i64::MAX) {
        prop_assert_eq!(params::height("height", &h.to_string()).unwrap(), h);
    }

    #[test]
    fn height_refuses_every_negative_i64(h in i64::MIN..0) {
        prop_assert!(params::height("height", &h.to_string()).is_err());
    }

    #[test]
    fn height_refuses_out_of_range_and_non_decimal_text(
        s in prop_oneof![
            text(),
            "[ +-]?[0-9]{0,22}[ a-z.,_]?",
            (i64::MAX as u64 + 1..=u64::MAX).prop_map(|n| n.to_string()),
        ]
    ) {
        match params::height("height", &s) {
            Ok(h) => {
                prop_assert!(h >= 0);
                prop_assert_eq!(Some(h), signed_decimal_epoch(s.trim()), "{:?} accepted", s);
            }
            Err(_) => prop_assert_eq!(decimal_epoch(s.trim()), None, "{:?} refused", s),
        }
    }

    #[test]
    fn ipv4_multiaddrs_and_host_ports_give_back_their_authority(
        ip in any::<Ipv4Addr>(),
        port in any::<u16>(),
        https in any::<bool>(),
    ) {
        let proto = if https { "https" } else { "http" };
        let ma = parse_host_port(&format!("/ip4/{ip}/tcp/{port}/{proto}")).unwrap();
        prop_assert_eq!(ma.authority(), format!("{ip}:{port}"));
        prop_assert_eq!(ma.scheme, if https { Scheme::Https } else { Scheme::Http });
        let plain = parse_host_port(&format!("{ip}:{port}")).unwrap();
        prop_assert_eq!(plain.authority(), format!("{ip}:{port}"));
        let url = upstream_url(&format!("/ip4/{ip}/tcp/{port}/{proto}"), PATH).unwrap();
        prop_assert_eq!(url.host(), Some(url::Host::Ipv4(ip)));
        prop_assert_eq!(url.port_or_known_default(), Some(port));
        prop_assert_eq!(url.path(), PATH);
    }

    #[test]
    fn ipv6_multiaddrs_and_host_ports_give_back_their_authority(
        ip in any::<Ipv6Addr>(),
        port in any::<u16>(),
    ) {
        let ma = parse_host_port(&format!("/ip6/{ip}/tcp/{port}/http")).unwrap();
        prop_assert_eq!(ma.authority(), format!("[{ip}]:{port}"));
        let plain = parse_host_port(&format!("[{ip}]:{port}")).unwrap();
        prop_assert_eq!(plain.authority(), format!("[{ip}]:{port}"));
        let info = ApiInfo::parse(&format!("tok:/ip6/{ip}/tcp/{port}/http"), PATH).unwrap();
        prop_assert_eq!(info.token.as_deref(), Some("tok"));
        prop_assert_eq!(info.url.host(), Some(url::Host::Ipv6(ip)));
        prop_assert_eq!(info.url.port_or_known_default(), Some(port));
    }

    #[test]
    fn dns_multiaddrs_give_back_their_host_and_port(
        // Labels start with a letter: an all-numeric name such as "1.2" reads as an IPv4 address in a URL.
        name in "[a-z]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,10}[a-z0-9])?){0,3}",
        dns in prop::sample::select(vec!["dns", "dns4", "dns6"]),
        port in any::<u16>(),
    ) {
        let ma = format!("/{dns}/{name}/tcp/{port}/http");
        prop_assert_eq!(parse_host_port(&ma).unwrap().authority(), format!("{name}:{port}"));
        let url = upstream_url(&ma, PATH).unwrap();
        prop_assert_eq!(url.host_str(), Some(name.as_str()));
        prop_assert_eq!(url.port_or_known_default(), Some(port));
        prop_assert_eq!(url.path(), PATH);
    }
}

/// A chain epoch as a decimal: ASCII digits whose value fits an i64.
fn decimal_epoch(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The most the epoch parser takes: a decimal epoch with a sign. Rust's integer parser accepts a leading '+', and
/// "-0" is zero; a stricter parser that refuses signs also satisfies the property.
fn signed_decimal_epoch(s: &str) -> Option<i64> {
    match s.as_bytes().first() {
        Some(b'+') => decimal_epoch(&s[1..]),
        Some(b'-') => decimal_epoch(&s[1..]).filter(|v| *v == 0),
        _ => decimal_epoch(s),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn amounts_with_a_unit_convert_exactly(whole in 0u64..10_000_000_000, frac in "[0-9]{0,18}", unit in 0usize..7) {
        use lotus_rest::lotus::amount::Amount;
        let units = ["FIL", "milliFIL", "microFIL", "nanoFIL", "picoFIL", "femtoFIL", "attoFIL"];
        let places = [0u32, 3, 6, 9, 12, 15, 18][unit];
        let text = if frac.is_empty() { format!("{whole} {}", units[unit]) } else { format!("{whole}.{frac} {}", units[unit]) };
        // The exact value in attoFIL, by string arithmetic on the digits: whole * 10^(18-places) + the fraction.
        let scale = 18 - places;
        let trimmed = frac.trim_end_matches('0');
        let expected = if trimmed.len() as u32 > scale {
            None
        } else {
            let digits = format!("{whole}{trimmed}{}", "0".repeat((scale - trimmed.len() as u32) as usize));
            digits.parse::<u128>().ok().filter(|v| *v <= lotus_rest::lotus::amount::MAX_ATTO)
        };
        prop_assert_eq!(Amount::parse(&text).ok().map(|a| a.atto()), expected, "{}", text);
    }

    #[test]
    fn amount_and_cursor_parsers_do_not_panic(s in text()) {
        let _ = lotus_rest::lotus::amount::Amount::parse(&s);
        let _ = lotus_rest::routes::page::decode_cursor(&s, 7);
    }

    #[test]
    fn cursors_decode_to_what_they_were_made_from(offset in 0usize..1_000_000, print in any::<u64>(), d in digest()) {
        use lotus_rest::routes::page::{decode_cursor, encode_cursor};
        let key = json!([{"/": cid_from_digest(&d)}]);
        let text = encode_cursor(&key, offset, print);
        prop_assert_eq!(decode_cursor(&text, print).unwrap(), (key, offset));
        prop_assert!(decode_cursor(&text, print.wrapping_add(1)).is_err());
    }
}

/// Cursors a client could forge with extra members or extreme numbers beside a CID: none may panic, and none is
/// accepted, since the client cannot sign them.
#[test]
fn forged_cursors_with_extreme_numbers_are_refused() {
    use lotus_rest::routes::page::{decode_cursor, list_fingerprint};
    let print = list_fingerprint("Filecoin.StateListActors", &json!(["\u{0}tipset"]));
    for x in [
        "2.2250738585072011e-308",
        "0.1e-400",
        "1e400",
        "9007199254740993",
        "18446744073709551616",
        "-0.0",
        "123456789012345678901234567890",
        "2.4703282292062328e-324",
        "1.00000000000000011102230246251565404236316680908203125",
    ] {
        for offset in [
            "1",
            "18446744073709551615",
            "18446744073709551616",
            "-1",
            "1.5",
        ] {
            let raw = format!(
                r#"{{"k":[{{"/":"bafy2bzaceas37eu7irs5if54ylmzeq3wqrnwp35c5a45g7bd7fhzk7qpzhb4y","x":{x}}}],"o":{offset},"f":{print}}}"#
            );
            // Unsigned, or signed with a made-up signature: refused, whatever it holds.
            let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
            for forged in [text.clone(), format!("{text}.AAAAAAAAAAAAAAAAAAAAAA")] {
                let e = decode_cursor(&forged, print).unwrap_err();
                assert!(e.detail.contains("invalid cursor"), "{x}: {}", e.detail);
            }
        }
    }
}
