//! The standard OAuth routes: `POST /oauth/token` (the sixth scheme, [`token`]), and over every
//! scheme's tokens `POST /oauth/introspect` (RFC 7662) and `POST /oauth/revoke` (RFC 7009). The
//! RFC 8414 metadata that names them, derived from the scheme list, is the app's
//! (`app::metadata`).
//!
//! Thin like every scheme: the registry authenticates the calling client (`client_auth`:
//! `client_secret_basic`, `client_secret_post` or `private_key_jwt`, RFC 6749 §2.3), the signing
//! core verifies and revokes tokens. Ownership of a token is its `client_id` claim, which the
//! signing core writes for every scheme (the issuance record's `client_id` is the same value).
//! Failures use the RFC 6749 §5.2 body `{"error", "error_description"}`.

pub(crate) mod client_assertion;
pub(crate) mod client_auth;
pub(crate) mod form;
mod introspect;
mod revoke;
pub mod token;

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ErrorFormat, SchemeError};
use crate::state::AppState;

/// `POST` path of token introspection.
pub const INTROSPECT_PATH: &str = "/oauth/introspect";
/// `POST` path of token revocation.
pub const REVOKE_PATH: &str = "/oauth/revoke";
pub use client_auth::AUTH_METHODS;
/// The challenge sent with every `invalid_client` answer.
const CHALLENGE: &str = r#"Basic realm="tokenmint""#;

/// The RFC 6749 §5.2 error format of these routes.
pub struct OAuthErrors;

/// A failure of these routes, rendered in [`OAuthErrors`].
pub type OAuthError = SchemeError<OAuthErrors>;

/// The error body (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// An RFC 6749 §5.2 error code.
    #[schema(example = "invalid_client")]
    pub error: String,
    /// Human-readable text.
    #[schema(example = "client authentication failed")]
    pub error_description: String,
}

impl ErrorFormat for OAuthErrors {
    fn render(error: ApiError) -> Response {
        let mut response = render(error);
        if response.status() == StatusCode::UNAUTHORIZED {
            // RFC 6749 §5.2 asks for the challenge of the scheme the client tried (Basic, the
            // only header scheme here), and RFC 7235 §3.1 for a challenge on every 401.
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        response
    }
}

/// An error in the RFC 6749 §5.2 format, without a challenge: its status and `error` code, and
/// the error's text as `error_description`. A refused `scope` is `invalid_scope`.
pub fn render(error: ApiError) -> Response {
    let (status, code) = match &error {
        ApiError::InvalidClient | ApiError::ClientSuspended | ApiError::InvalidCredentials(_) => {
            (StatusCode::UNAUTHORIZED, "invalid_client")
        }
        ApiError::Forbidden { code, .. } => (StatusCode::BAD_REQUEST, *code),
        ApiError::InvalidRequest { field, .. } if field.as_deref() == Some("scope") => {
            (StatusCode::BAD_REQUEST, "invalid_scope")
        }
        // What the framework refuses keeps its HTTP status, in this format.
        ApiError::PayloadTooLarge
        | ApiError::MethodNotAllowed
        | ApiError::UnsupportedMediaType(_)
        | ApiError::UnknownRoute => (error.status(), "invalid_request"),
        // RFC 7009 §2.2.1: 503 tells the client to retry; the code is RFC 6749's.
        ApiError::Unavailable | ApiError::TooManyRequests { .. } | ApiError::QuotaExceeded(_) => {
            (error.status(), "temporarily_unavailable")
        }
        ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        _ => (StatusCode::BAD_REQUEST, "invalid_request"),
    };
    let body = OAuthErrorBody {
        error: code.to_owned(),
        error_description: error.to_string(),
    };
    error.respond_with(status, Json(body))
}

/// The `WWW-Authenticate` challenge of a client that used HTTP Basic.
pub fn basic_challenge() -> HeaderValue {
    HeaderValue::from_static(CHALLENGE)
}

/// Introspection and revocation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(introspect::introspect))
        .routes(routes!(revoke::revoke))
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[tokio::test]
    async fn each_outcome_has_its_rfc_6749_status_and_code() {
        let table = [
            (
                ApiError::invalid("token", "missing"),
                400,
                "invalid_request",
            ),
            (ApiError::InvalidClient, 401, "invalid_client"),
            (ApiError::ClientSuspended, 401, "invalid_client"),
            (
                ApiError::Forbidden {
                    code: "unauthorized_client",
                    message: String::new(),
                },
                400,
                "unauthorized_client",
            ),
            (ApiError::Unavailable, 503, "temporarily_unavailable"),
            (
                ApiError::Internal(anyhow::anyhow!("boom")),
                500,
                "server_error",
            ),
        ];
        for (error, status, code) in table {
            let response = OAuthError::from(error).into_response();
            assert_eq!(response.status().as_u16(), status, "{code}");
            assert_eq!(
                response.headers().contains_key(WWW_AUTHENTICATE),
                status == 401,
                "{code}"
            );
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"], code);
            assert!(body["error_description"].is_string());
        }
    }
}
