//! HTTP Basic authentication of a client on the portal routes (RFC 7617, read as RFC 6749
//! §2.3.1 by `http::basic`): `client_id` as the user-id, `client_secret` as the password, checked
//! by the registry like any client secret, through the one guarded path.
//! A missing or invalid credential is 401 `invalid_client` with a `WWW-Authenticate: Basic`
//! challenge.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::Json;

use crate::http::error::{ApiError, ErrorFormat, SchemeError};
use crate::http::extract::CallerIp;
use crate::http::{basic, guard};
use crate::limits::Identifier;
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
            basic::from_headers(&parts.headers).ok_or(ApiError::InvalidClient)?;
        let Ok(CallerIp(caller_ip)) = CallerIp::from_request_parts(parts, state).await;
        let attempt = state
            .registry
            .authenticate(&client_id, &secret, state.clock.now());
        let authenticated =
            guard::authenticate(state, Identifier::Client(&client_id), caller_ip, attempt)
                .await
                .map_err(ApiError::from)?;
        Ok(Self(authenticated.client))
    }
}
