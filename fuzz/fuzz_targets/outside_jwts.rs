//! The JWTs outsiders send to `POST /oauth/token` and `/v1/me`: DPoP proofs, client assertions
//! and token-exchange subject tokens, read and checked as far as no key is needed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        tokenmint::fuzzing::outside_jwts(raw);
    }
});
