//! Access-token verification (every protected endpoint) against a fixed key set of each
//! algorithm.
#![no_main]

use std::sync::OnceLock;

use tokenmint::signing::keys::KeySet;

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| tokenmint::fuzzing::verification_keys().expect("test keys"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        tokenmint::fuzzing::access_token(keys(), token);
    }
});
