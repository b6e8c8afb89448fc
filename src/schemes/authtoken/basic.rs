//! HTTP Basic authentication of a client on the portal routes (RFC 7617): `client_id` as the
//! user-id, `client_secret` as the password, checked by the registry like any client secret.
//! A missing or invalid credential is 401 `invalid_client` with a `WWW-Authenticate: Basic`
//! challenge.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::http::error::{ApiError, ErrorFormat, SchemeError};
use crate::http::extract::CallerIp;
use crate::http::ratelimit::Identifier;
use crate::registry::Client;
use crate::state::AppState;

/// The challenge sent with every refused portal credential.
const CHALLENGE: &str = r#"Basic realm="tokenmint""#;

/// The portal's error format: tokenmint's default, plus the Basic challenge on a 401.
pub struct PortalErrors;

impl ErrorFormat for PortalErrors {
    fn render(error: ApiError) -> Response {
        let mut response = error.respond_with(error.status(), Json(error.body()));
        if matches!(error, ApiError::InvalidClient | ApiError::ClientSuspended) {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        response
    }
}

/// The authenticated, active client calling a portal route.
#[derive(Debug)]
pub struct PortalClient(pub Arc<Client>);

impl FromRequestParts<AppState> for PortalClient {
    type Rejection = SchemeError<PortalErrors>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (client_id, secret) =
            basic_credentials(&parts.headers).ok_or(ApiError::InvalidClient)?;
        let Ok(CallerIp(caller_ip)) = CallerIp::from_request_parts(parts, state).await;
        let identifier = Identifier::Client(&client_id);
        state.limits.check(identifier, caller_ip)?;
        let client = state
            .registry
            .authenticate(&client_id, &secret, state.clock.now())
            .await
            .inspect_err(|e| state.limits.record(e, identifier, caller_ip))?;
        crate::http::observe::note_client(client.id.as_str());
        Ok(Self(client))
    }
}

/// The `(user-id, password)` of an `Authorization: Basic` header, if well formed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_the_user_id_and_password_of_a_basic_header() {
        let encoded = STANDARD.encode("client:se:cret");
        assert_eq!(
            basic_credentials(&headers(&format!("basic {encoded}"))),
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
            assert_eq!(basic_credentials(&headers(value)), None, "{value}");
        }
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
    }
}
