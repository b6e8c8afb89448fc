//! The service-account assertion parser (`POST /v0/sign_in/token`, checks 2 to 4).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        tokenmint::fuzzing::assertion(raw);
    }
});
