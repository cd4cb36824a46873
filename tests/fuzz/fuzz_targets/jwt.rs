//! Lotus tokens: `precheck` and `verify` never panic on arbitrary text; a minted token verifies to exactly its
//! permissions and any change to it makes it fail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotus_rest::auth::{precheck, Perm, PermSet, Secret, TokenError};

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        let secret = Secret::new(vec![0; 32]);
        let checked = precheck(input);
        let verified = secret.verify(input);
        if checked == Err(TokenError::WrongAlgorithm) {
            assert!(verified.is_err(), "{input:?}");
        }
    }
    // data = [permission bits, position, replacement, secret...]
    if data.len() >= 4 {
        let perms: PermSet = Perm::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| data[0] & (1 << i) != 0)
            .map(|(_, p)| p)
            .collect();
        let secret = Secret::new(data[3..].to_vec());
        let token = secret.mint(perms);
        assert_eq!(precheck(&token), Ok(()));
        assert_eq!(secret.verify(&token), Ok(perms));
        let mut bytes = token.clone().into_bytes();
        let at = data[1] as usize % bytes.len();
        let replacement = data[2] & 0x7f;
        if bytes[at] != replacement {
            bytes[at] = replacement;
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(secret.verify(&tampered).is_err(), "{tampered:?} verified");
        }
    }
});
