//! Filecoin addresses: parsing arbitrary text never panics and what parses prints back to itself; addresses built
//! from arbitrary payloads print as text that parses to them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::lotus::address::Address;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        if let Ok(a) = Address::parse(input) {
            let printed = a.to_string();
            assert_eq!(Address::parse(&printed).as_ref(), Ok(&a), "{input:?}");
            let other = if a.network == 'f' { 't' } else { 'f' };
            assert!(Address::parse_for(input, Some(other)).is_err(), "{input:?}");
            assert_eq!(Address::parse_for(input, Some(a.network)).as_ref(), Ok(&a));
        }
    }
    // The bytes as the parts of an address: network, protocol, ID or namespace, payload.
    if data.len() >= 10 {
        let network = if data[0] & 1 == 0 { 'f' } else { 't' };
        let id = u64::from_le_bytes(data[2..10].try_into().unwrap());
        let payload = &data[10..];
        let built = match data[1] % 5 {
            0 => Address::new_id(network, id),
            p @ (1 | 2) if payload.len() >= 20 => {
                Address::new_hash(network, p, payload[..20].to_vec())
            }
            3 if payload.len() >= 48 => Address::new_hash(network, 3, payload[..48].to_vec()),
            4 if !payload.is_empty() && payload.len() <= 54 => Address {
                network,
                protocol: 4,
                id: Some(id),
                payload: payload.to_vec(),
            },
            _ => return,
        };
        let printed = built.to_string();
        assert_eq!(Address::parse(&printed), Ok(built), "{printed}");
    }
});
