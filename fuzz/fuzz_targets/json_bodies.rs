//! The JSON request bodies of schemes A, C and D, and the API-key query string of C.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tokenmint::fuzzing::json_bodies(data);
    if let Ok(query) = std::str::from_utf8(data) {
        tokenmint::fuzzing::api_key_query(Some(query));
    }
});
