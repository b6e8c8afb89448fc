//! `POST /v0/sign_in/token`'s parameters: query string, content type and body, split at the
//! first two NUL bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let query = parts.next().and_then(|q| std::str::from_utf8(q).ok());
    let content_type = parts.next().and_then(|c| std::str::from_utf8(c).ok());
    let body = parts.next().unwrap_or_default();
    tokenmint::fuzzing::sign_in_request(query, content_type, body);
});
