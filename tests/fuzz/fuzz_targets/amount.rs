//! FIL amounts: parsing arbitrary text never panics; what parses is within bounds and prints back, as attoFIL
//! digits and as FIL, to text that parses to the same amount; amounts built from arbitrary integers round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::lotus::amount::{Amount, MAX_ATTO};

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        if let Ok(a) = Amount::parse(input) {
            assert!(a.atto() <= MAX_ATTO, "{input:?}");
            assert_eq!(Amount::parse(&a.to_string()), Ok(a), "{input:?}");
            assert_eq!(Amount::parse(&a.to_fil_string()), Ok(a), "{input:?}");
        }
    }
    if data.len() >= 16 {
        let n = u128::from_le_bytes(data[..16].try_into().unwrap()) % (MAX_ATTO + 1);
        let a = Amount(n);
        assert_eq!(Amount::parse(&a.to_string()), Ok(a));
        assert_eq!(Amount::parse(&a.to_fil_string()), Ok(a));
    }
});
