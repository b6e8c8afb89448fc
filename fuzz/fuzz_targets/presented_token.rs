//! `PresentedToken`: an `Authorization` header and a request target (`/v1/me?jwt=...`), split at
//! the first NUL byte.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (authorization, target) = match data.iter().position(|b| *b == 0) {
        Some(at) => (Some(&data[..at]), &data[at + 1..]),
        None => (None, data),
    };
    if let Ok(target) = std::str::from_utf8(target) {
        tokenmint::fuzzing::presented_token(authorization, &format!("/v1/me{target}"));
    }
});
