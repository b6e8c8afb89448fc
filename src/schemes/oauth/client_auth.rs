//! The request of both token routes: an `application/x-www-form-urlencoded` body (RFC 7662 §2.1,
//! RFC 7009 §2.1) and the calling client's credentials (RFC 6749 §2.3.1), authenticated by the
//! registry.
//!
//! Two methods: `client_secret_basic` (HTTP Basic, where id and secret are form-urlencoded before
//! base64) and `client_secret_post` (`client_id` and `client_secret` in the body). Using both at
//! once, neither, or a malformed one is `invalid_client` (RFC 6749 §2.3: "MUST NOT use more than
//! one authentication method in each request"). Holds secrets and tokens, so nothing here derives
//! `Debug`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::{basic, guard};
use crate::limits::Identifier;
use crate::registry::Client;
use crate::state::AppState;

/// The form body of introspection and revocation (`application/x-www-form-urlencoded`).
#[derive(ToSchema)]
#[allow(dead_code)] // documents the wire format
pub struct TokenForm {
    /// The token to introspect or revoke.
    token: String,
    /// `access_token` or `refresh_token`; accepted and ignored (every token here is an access
    /// token, found without the hint).
    token_type_hint: Option<String>,
    /// `client_secret_post`: the calling client's id (omit with HTTP Basic).
    client_id: Option<String>,
    /// `client_secret_post`: the calling client's secret (omit with HTTP Basic).
    client_secret: Option<String>,
}

/// A parsed request: the form's parameters and the `Authorization` header's credentials.
pub struct TokenRequest {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    basic: Option<Option<(String, String)>>,
}

impl TokenRequest {
    /// Reads the form body. A body of another media type, or a parameter sent twice (RFC 6749
    /// §3.2), is `invalid_request`; parameters without a value count as omitted (§3.1), and
    /// unknown ones (`token_type_hint` included) are ignored.
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
        let mut request = Self {
            token: None,
            client_id: None,
            client_secret: None,
            basic: headers
                .get(AUTHORIZATION)
                .map(|value| basic::credentials(value.as_bytes())),
        };
        for (name, value) in url::form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "token" => &mut request.token,
                "client_id" => &mut request.client_id,
                "client_secret" => &mut request.client_secret,
                _ => continue,
            };
            if value.is_empty() {
                continue;
            }
            if slot.is_some() {
                return Err(ApiError::invalid(
                    &name,
                    format!("{name} must not be sent more than once"),
                ));
            }
            *slot = Some(value.into_owned());
        }
        Ok(request)
    }

    /// Authenticates the calling client with the one method it used, within the failure
    /// budgets of its client id and of the caller's address.
    pub async fn authenticate(
        &self,
        state: &AppState,
        caller_ip: Option<IpAddr>,
    ) -> Result<Arc<Client>, ApiError> {
        let (client_id, secret) = self.credentials()?;
        let attempt = state
            .registry
            .authenticate(client_id, secret, state.clock.now());
        Ok(guard::authenticate(state, Identifier::Client(client_id), caller_ip, attempt).await?)
    }

    /// The `token` parameter; its absence is `invalid_request`.
    pub fn token(&self) -> Result<&str, ApiError> {
        self.token
            .as_deref()
            .ok_or_else(|| ApiError::invalid("token", "the token parameter is required"))
    }

    /// The presented `(client_id, client_secret)`, whichever single method carried them.
    fn credentials(&self) -> Result<(&str, &str), ApiError> {
        match (&self.basic, &self.client_id, &self.client_secret) {
            // A body `client_id` beside Basic only names the same client (RFC 6749 §3.2.1).
            (Some(Some((id, secret))), body_id, None)
                if body_id.as_ref().is_none_or(|body_id| body_id == id) =>
            {
                Ok((id, secret))
            }
            (None, Some(id), Some(secret)) => Ok((id, secret)),
            _ => Err(ApiError::InvalidClient),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    fn basic(user_and_password: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(user_and_password)).into_bytes()
    }

    fn request(authorization: Option<&str>, body: &str) -> Result<TokenRequest, ApiError> {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        TokenRequest::parse(&headers, body.as_bytes())
    }

    #[test]
    fn exactly_one_authentication_method_is_accepted() {
        let header = String::from_utf8(basic("a:s")).unwrap();
        let post = "token=t&client_id=a&client_secret=s";
        assert!(request(Some(&header), "token=t")
            .unwrap()
            .credentials()
            .is_ok());
        assert!(request(None, post).unwrap().credentials().is_ok());
        let same_id = request(Some(&header), "token=t&client_id=a").unwrap();
        assert_eq!(same_id.credentials().ok(), Some(("a", "s")));
        for (authorization, body) in [
            (Some(header.as_str()), post),
            (Some(header.as_str()), "token=t&client_id=b"),
            (None, "token=t"),
            (None, "token=t&client_id=a"),
            (Some("Bearer xyz"), post),
        ] {
            let parsed = request(authorization, body).unwrap();
            assert!(parsed.credentials().is_err(), "{authorization:?} {body}");
        }
    }

    #[test]
    fn the_form_refuses_repeats_and_other_media_types_and_ignores_empty_values() {
        assert!(request(None, "token=a&token=b").is_err());
        let parsed = request(None, "token=&token=b&token_type_hint=weird").unwrap();
        assert_eq!(parsed.token().ok(), Some("b"));
        assert!(request(None, "client_id=a").unwrap().token().is_err());
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(TokenRequest::parse(&headers, b"{}").is_err());
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert!(TokenRequest::parse(&headers, b"token=t").is_ok());
    }
}
