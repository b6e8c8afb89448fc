//! Finding a NUL character (U+0000) in a request's text, as each reader would decode it: the
//! path and query string (`%00`), HTTP Basic credentials (raw, or form-encoded as RFC 6749
//! §2.3.1 has OAuth clients send them), a JSON body (`\u0000` in any string or member name)
//! and any other body (`%00` in a form field, or a raw NUL byte). Each finder names the field.

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Uri};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// The first field of the path or query string holding a NUL once decoded (`%00`; a raw NUL
/// cannot appear in a request target).
pub fn nul_in_target(uri: &Uri) -> Option<String> {
    if uri.path().contains("%00") {
        return Some("path".into());
    }
    let query = uri.query().unwrap_or_default();
    query.contains("%00").then(|| nul_in_form(query.as_bytes()))
}

/// `Authorization: Basic` credentials holding a NUL, raw or form-encoded (RFC 6749 §2.3.1).
pub fn nul_in_basic(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let found = decoded.contains(&0) || decoded.windows(3).any(|w| w == b"%00");
    found.then(|| "authorization".into())
}

/// The first field of a body holding a NUL: a member of a JSON body (by its name at the top), a
/// field of a form (or of any body not read as JSON), or `body` for a raw NUL byte.
pub fn nul_in_body(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    if body.contains(&0) {
        return Some("body".into());
    }
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = media_type == "application/json"
        || media_type.ends_with("+json")
        || (media_type != "application/x-www-form-urlencoded"
            && matches!(body.trim_ascii_start().first(), Some(b'{' | b'[')));
    if json {
        // `\u0000` is the only way a NUL gets into valid JSON text; unparsable JSON is the
        // handler's to refuse.
        if !body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return None;
        }
        let value = serde_json::from_slice::<Value>(body).ok()?;
        return nul_in_json(&value, "body");
    }
    body.windows(3)
        .any(|w| w == b"%00")
        .then(|| nul_in_form(body))
}

fn nul_in_json(value: &Value, field: &str) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(|| field.to_owned()),
        Value::Array(items) => items.iter().find_map(|item| nul_in_json(item, field)),
        Value::Object(members) => members.iter().find_map(|(name, member)| {
            if name.contains('\0') {
                return Some(field.to_owned());
            }
            // Members at the top name themselves; deeper ones their top-level field.
            let named = if field == "body" {
                shown(name, "body")
            } else {
                field
            };
            nul_in_json(member, named)
        }),
        _ => None,
    }
}

/// A field's name as the refusal names it (in its message and the log): a plain identifier of
/// at most 64 characters, else `fallback`, so a caller cannot write what it likes there.
fn shown<'a>(name: &'a str, fallback: &'a str) -> &'a str {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain && !name.is_empty() && name.len() <= 64 {
        name
    } else {
        fallback
    }
}

/// The name of the first form pair holding a NUL (`form` when it is not a plain name).
fn nul_in_form(form: &[u8]) -> String {
    url::form_urlencoded::parse(form)
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map_or_else(
            || "form".into(),
            |(name, _)| shown(&name, "form").to_owned(),
        )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers
    }

    #[test]
    fn nul_is_found_in_every_text_of_a_body() {
        let json = json_headers();
        let found = |body: &str| nul_in_body(&json, body.as_bytes());
        assert_eq!(found(r#"{"key": "a\u0000"}"#).as_deref(), Some("key"));
        assert_eq!(
            found(r#"{"groups": ["x", "\u0000"]}"#).as_deref(),
            Some("groups")
        );
        assert_eq!(
            found(r#"{"user": {"id": "\u0000"}}"#).as_deref(),
            Some("user")
        );
        assert_eq!(found(r#"{"\u0000": 1}"#).as_deref(), Some("body"));
        assert_eq!(found(r#"{"key": "\\u0000"}"#), None, "an escaped backslash");
        assert_eq!(
            found(r#"{"note": "100%00"}"#),
            None,
            "JSON is not form-decoded"
        );
        let form = HeaderMap::new();
        assert_eq!(
            nul_in_body(&form, b"grant_type=x&assertion=a%00b").as_deref(),
            Some("assertion")
        );
        assert_eq!(nul_in_body(&form, b"a\0b").as_deref(), Some("body"));
        let long = format!("{}=%00", "n".repeat(65));
        assert_eq!(nul_in_body(&form, long.as_bytes()).as_deref(), Some("form"));
        assert_eq!(nul_in_body(&form, b"a%20b=%00").as_deref(), Some("form"));
    }

    #[test]
    fn nul_is_found_in_the_path_query_and_basic_credentials() {
        let uri: Uri = "/v1/credentials/%00".parse().unwrap();
        assert_eq!(nul_in_target(&uri).as_deref(), Some("path"));
        let uri: Uri = "/admin/issuances?scheme=x&client_id=%00".parse().unwrap();
        assert_eq!(nul_in_target(&uri).as_deref(), Some("client_id"));
        let uri: Uri = "/admin/issuances?client_id=%2500".parse().unwrap();
        assert_eq!(nul_in_target(&uri), None, "an encoded percent sign");
        let mut headers = HeaderMap::new();
        let basic = format!("Basic {}", STANDARD.encode("id\0:secret"));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&basic).unwrap());
        assert_eq!(nul_in_basic(&headers).as_deref(), Some("authorization"));
    }
}
