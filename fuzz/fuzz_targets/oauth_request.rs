//! Introspection and revocation requests: `Authorization` (Basic) header, content type and form
//! body, split at the first two NUL bytes; also the portal's Basic credentials.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let authorization = parts.next();
    let content_type = parts.next();
    let body = parts.next().unwrap_or_default();
    tokenmint::fuzzing::oauth_request(authorization, content_type, body);
});
