//! Reading the grant's two parameters, `grant_type` and `assertion`, from wherever a caller puts
//! them: the query string (as the Sign-in Service documents), a form body (RFC 7523 §2.1) or a
//! JSON body.
//!
//! The query string wins on a clash; within one source the first occurrence counts. A value that
//! is not a string (a JSON number, array, object or null) counts as absent. The body is read by
//! its `Content-Type`; with none or another one, a body opening with `{` is tried as JSON and
//! anything else as a form. Nothing here fails: unreadable input simply yields absent parameters,
//! which the numbered checks then refuse in the scheme's own words.

use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// The grant's parameters as found; `None` when absent or not a string.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenParams {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `assertion`: a signed JWT, never logged.
    pub assertion: Option<String>,
}

impl std::fmt::Debug for TokenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenParams")
            .field("grant_type", &self.grant_type)
            .field("assertion", &self.assertion.as_ref().map(|_| ".."))
            .finish()
    }
}

impl TokenParams {
    /// The parameters of a request: the query string's, then the body's for what it lacks.
    pub fn read(query: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Self {
        let query = Self::from_form(query.unwrap_or_default().as_bytes());
        let body = Self::from_body(content_type, body);
        Self {
            grant_type: query.grant_type.or(body.grant_type),
            assertion: query.assertion.or(body.assertion),
        }
    }

    fn from_body(content_type: Option<&str>, body: &[u8]) -> Self {
        let media_type = content_type
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if media_type == "application/json" || media_type.ends_with("+json") {
            Self::from_json(body)
        } else if media_type == "application/x-www-form-urlencoded" {
            Self::from_form(body)
        } else if body.trim_ascii_start().starts_with(b"{") {
            Self::from_json(body)
        } else {
            Self::from_form(body)
        }
    }

    fn from_form(bytes: &[u8]) -> Self {
        let mut params = Self::default();
        for (name, value) in url::form_urlencoded::parse(bytes) {
            let slot = match name.as_ref() {
                "grant_type" => &mut params.grant_type,
                "assertion" => &mut params.assertion,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }

    fn from_json(bytes: &[u8]) -> Self {
        let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(bytes) else {
            return Self::default();
        };
        let string = |name: &str| members.get(name).and_then(Value::as_str).map(str::to_owned);
        Self {
            grant_type: string("grant_type"),
            assertion: string("assertion"),
        }
    }
}

/// The grant's parameters in a form or JSON body (the query string may carry them instead).
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignInTokenRequest {
    /// Must be `urn:ietf:params:oauth:grant-type:jwt-bearer`.
    #[schema(example = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    #[param(example = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    pub grant_type: Option<String>,
    /// An RS256-signed JWT whose claims name the service account (`service_account_id` or
    /// `iss`), `sub`, `aud` (this route's URL), `iat`, `exp` and optionally `scopes`,
    /// `user_attributes` and `jti`.
    // No example as a query parameter: Swagger UI would send it, and the query beats the body.
    #[schema(example = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRw...")]
    pub assertion: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(grant_type: &str, assertion: &str) -> TokenParams {
        TokenParams {
            grant_type: Some(grant_type.into()),
            assertion: Some(assertion.into()),
        }
    }

    #[test]
    fn each_source_is_read() {
        let query = TokenParams::read(Some("grant_type=g&assertion=a.b.c"), None, b"");
        assert_eq!(query, params("g", "a.b.c"));
        let form = TokenParams::read(
            None,
            Some("application/x-www-form-urlencoded"),
            b"grant_type=urn%3Aietf&assertion=x",
        );
        assert_eq!(form, params("urn:ietf", "x"));
        let json = TokenParams::read(
            None,
            Some("application/json; charset=utf-8"),
            br#"{"grant_type": "g", "assertion": "x"}"#,
        );
        assert_eq!(json, params("g", "x"));
    }

    #[test]
    fn the_query_string_wins_and_the_body_fills_in() {
        let read = TokenParams::read(
            Some("grant_type=q"),
            Some("application/json"),
            br#"{"grant_type": "b", "assertion": "x"}"#,
        );
        assert_eq!(read, params("q", "x"));
    }

    #[test]
    fn non_strings_and_garbage_count_as_absent() {
        let json = TokenParams::read(
            None,
            Some("application/json"),
            br#"{"grant_type": 1, "assertion": ["x"]}"#,
        );
        assert_eq!(json, TokenParams::default());
        for (content_type, body) in [
            (Some("application/json"), &b"{not json"[..]),
            (Some("application/json"), b"[1, 2]"),
            (Some("text/plain"), b"\xff\xfe\x00"),
            (None, b"{\"grant_type\": null}"),
            (Some("multipart/form-data; boundary=x"), b"--x--"),
        ] {
            assert_eq!(
                TokenParams::read(None, content_type, body),
                TokenParams::default()
            );
        }
    }

    #[test]
    fn without_a_content_type_a_form_or_a_json_object_is_understood() {
        assert_eq!(
            TokenParams::read(None, None, b"grant_type=g&assertion=x").grant_type,
            Some("g".into())
        );
        assert_eq!(
            TokenParams::read(None, Some("text/plain"), br#" {"grant_type": "g"}"#).grant_type,
            Some("g".into())
        );
    }

    #[test]
    fn debug_output_hides_the_assertion() {
        let printed = format!("{:?}", params("g", "secret.jwt.value"));
        assert!(!printed.contains("secret.jwt.value"));
    }
}
