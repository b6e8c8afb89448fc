//! The one parser of `Authorization: Basic` client credentials (RFC 7617), as RFC 6749 §2.3.1
//! defines them for OAuth clients: the client id and secret are each form-urlencoded
//! (`application/x-www-form-urlencoded`) before they are joined by `:` and base64-encoded. Ids
//! and secrets this service generates contain no character that encoding changes, so a client
//! that sends them unencoded is read the same.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The `(client_id, client_secret)` of a request's `Authorization: Basic` header, if present
/// and well formed.
pub fn from_headers(headers: &HeaderMap) -> Option<(String, String)> {
    credentials(headers.get(AUTHORIZATION)?.as_bytes())
}

/// The `(client_id, client_secret)` of an `Authorization` header value, each form-urlencoded
/// before base64 as RFC 6749 §2.3.1 requires; `None` for anything else.
pub fn credentials(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte; a broken
/// escape or a result that is not UTF-8 is `None`.
fn form_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(rest.get(..2)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &rest[2..];
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn basic(user_and_password: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(user_and_password)).into_bytes()
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn basic_credentials_are_form_urldecoded_after_base64() {
        assert_eq!(
            credentials(&basic("my%20client:s%2B3+cr%3At:x")),
            Some(("my client".into(), "s+3 cr:t:x".into()))
        );
        assert_eq!(
            credentials(&basic("demo:plain")),
            Some(("demo".into(), "plain".into()))
        );
    }

    #[test]
    fn malformed_basic_credentials_are_none() {
        for value in [
            b"Bearer abc".to_vec(),
            b"Basic".to_vec(),
            b"Basic !!!".to_vec(),
            basic("no-colon"),
            basic("id:bad%zz"),
            basic("id:cut%4"),
            basic("id:%ff%fe"),
        ] {
            assert_eq!(credentials(&value), None, "{value:?}");
        }
    }

    #[test]
    fn reads_the_user_id_and_password_of_a_basic_header() {
        let encoded = STANDARD.encode("client:se:cret");
        assert_eq!(
            from_headers(&headers(&format!("basic {encoded}"))),
            Some(("client".into(), "se:cret".into()))
        );
    }

    #[test]
    fn anything_else_is_no_credential() {
        for value in [
            "Bearer abc",
            "Basic",
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("no-colon")),
        ] {
            assert_eq!(from_headers(&headers(value)), None, "{value}");
        }
        assert_eq!(from_headers(&HeaderMap::new()), None);
    }
}
