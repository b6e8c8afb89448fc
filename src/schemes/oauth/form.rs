//! The body of every standard OAuth route: `application/x-www-form-urlencoded` (RFC 6749 §3.2,
//! RFC 7662 §2.1, RFC 7009 §2.1), each parameter at most once (§3.2: "MUST NOT be included more
//! than once"), a parameter without a value counted as omitted (§3.1). Holds secrets and
//! assertions, so it does not derive `Debug`.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;

use crate::http::error::ApiError;

/// A parsed form: its parameters with a value, each named once.
pub struct OAuthForm {
    params: Vec<(String, String)>,
}

impl OAuthForm {
    /// Reads the body. Another media type, or a parameter sent twice, is `invalid_request`.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        if let Some(content_type) = headers.get(CONTENT_TYPE) {
            let media_type = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
                return Err(ApiError::InvalidRequest {
                    message: "the body must be application/x-www-form-urlencoded".into(),
                    field: None,
                });
            }
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params.iter().any(|(seen, _)| *seen == name) {
                return Err(ApiError::invalid(
                    &name,
                    format!("{name} must not be sent more than once"),
                ));
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        params.retain(|(_, value)| !value.is_empty());
        Ok(Self { params })
    }

    /// A parameter's value, if it was sent with one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(seen, _)| seen == name)
            .map(|(_, value)| value.as_str())
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::invalid(name, format!("the {name} parameter is required")))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn form(content_type: Option<&'static str>, body: &str) -> Result<OAuthForm, ApiError> {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        }
        OAuthForm::parse(&headers, body.as_bytes())
    }

    #[test]
    fn every_parameter_counts_once_and_empty_ones_are_omitted() {
        assert!(form(None, "token=a&token=b").is_err());
        assert!(form(None, "whatever=a&whatever=").is_err());
        let parsed = form(None, "token=&scope=a+b&grant_type=client_credentials").unwrap();
        assert_eq!(parsed.get("token"), None);
        assert_eq!(parsed.get("scope"), Some("a b"));
        assert!(parsed.require("token").is_err());
        assert_eq!(
            parsed.require("grant_type").ok(),
            Some("client_credentials")
        );
    }

    #[test]
    fn only_form_bodies_are_read() {
        assert!(form(Some("application/json"), "{}").is_err());
        let charset = "application/x-www-form-urlencoded; charset=UTF-8";
        assert!(form(Some(charset), "token=t").is_ok());
    }
}
