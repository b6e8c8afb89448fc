//! What `POST /v0/sign_in/token` answers, in the Sign-in Service's shapes: the token envelope
//! `{"data": {"access_token"}}` and the error format `{"errors": "<message>"}`, 400 for every
//! refusal, 429 once a service account or an address has failed too often, 503 when the store
//! does not answer.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::validate::Rejection;
use crate::http::error::{ApiError, ErrorFormat, SchemeError};

/// The message of a 429 (too many failed assertions for the service account or from the address).
pub const TOO_MANY_FAILURES: &str = "Too many failed attempts, retry later";

/// The Sign-in Service's error format: `{"errors": "<message>"}`, 400 for every refusal (429 once
/// a service account or an address has failed too often).
pub struct SignInFormat;

/// A failure of this route, rendered in [`SignInFormat`].
pub type SignInError = SchemeError<SignInFormat>;

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInErrorBody {
    /// What was wrong with the request.
    #[schema(example = "Assertion has expired")]
    pub errors: String,
}

impl ErrorFormat for SignInFormat {
    fn render(error: ApiError) -> Response {
        let status = match &error {
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } | ApiError::QuotaExceeded(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let errors = match &error {
            ApiError::TooManyRequests { .. } => TOO_MANY_FAILURES.to_owned(),
            other => other.to_string(),
        };
        let body = SignInErrorBody { errors };
        error.respond_with(status, Json(body))
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        Self::InvalidRequest {
            message: rejection.to_string(),
            field: None,
        }
    }
}

/// The token response.
#[derive(Serialize, ToSchema)]
pub struct SignInTokenResponse {
    /// The Sign-in Service's envelope.
    pub data: SignInTokenData,
}

/// The token itself.
#[derive(Serialize, ToSchema)]
pub struct SignInTokenData {
    /// A signed JWT (RS256) for the config's audience, living the config's duration.
    #[schema(example = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...")]
    pub access_token: String,
}
