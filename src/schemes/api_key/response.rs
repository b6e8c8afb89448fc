//! What scheme C answers: `{"jwt"}`, `{"apiKey", "expiresAt"}`, and every failure as
//! `{"errors": {"<field>": "<message>"}}` (the source document's `Error` schema), with the
//! statuses CONTRACT.md section C fixes: 422 invalid input, 401 refused key, 404 unknown phone,
//! 503 store unavailable. The bodies that carry a credential have no `Debug`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{ApiError, ErrorFormat};
use crate::registry::api_keys::IssuedApiKey;

/// The message of a 429: too many failed attempts with the key or from the caller's address.
pub const TOO_MANY_FAILED_KEYS: &str =
    "Too many failed attempts; retry after the number of seconds in Retry-After.";

/// A temporary access token.
#[derive(Serialize, ToSchema)]
pub struct JwtResponse {
    /// The access token (a signed JWT), valid for one hour; send it as `Authorization: <jwt>`.
    #[schema(
        example = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjRmY...In0.eyJpc3MiOiJodHRwOi8vMTI3...In0.MEUCIQ..."
    )]
    pub jwt: String,
}

/// A new sandbox API key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestApiKeyResponse {
    /// The sandbox API key, shown this once; use it as `apiKey` of `/clients/authorization`.
    #[schema(example = "tmk_sandbox_Qk9v0mZ5b8mXbq1y2k3v4w5x6y7z8A9B0C1D2E3F4G5")]
    pub api_key: String,
    /// When the key stops working (RFC 3339).
    #[schema(example = "2026-11-23T10:00:00Z")]
    pub expires_at: DateTime<Utc>,
}

impl TestApiKeyResponse {
    /// The response for a key just created with the given expiry.
    pub fn new(issued: &IssuedApiKey, expires_at: DateTime<Utc>) -> Self {
        Self {
            api_key: issued.key.expose_secret().to_owned(),
            expires_at,
        }
    }
}

/// An error of this scheme: each offending field with what is wrong with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorsBody {
    /// Field name to message.
    #[schema(example = json!({"apiKey": "The apiKey query parameter is required."}))]
    pub errors: BTreeMap<String, String>,
}

impl ErrorsBody {
    /// A body naming one field.
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        Self {
            errors: BTreeMap::from([(field.to_owned(), message.into())]),
        }
    }
}

/// Renders failures in this scheme's documented `{"errors": {..}}` format.
#[derive(Debug)]
pub struct ApiKeyErrors;

impl ErrorFormat for ApiKeyErrors {
    fn render(error: ApiError) -> Response {
        let (status, field, message) = status_field_message(&error);
        error.respond_with(status, Json(ErrorsBody::one(field, message)))
    }
}

/// The status, field and message of each outcome. Refused keys share one message whatever the
/// reason (unknown, revoked, expired, other environment); only a live key learns of suspension.
fn status_field_message(error: &ApiError) -> (StatusCode, &str, String) {
    match error {
        ApiError::InvalidRequest { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            field.as_deref().unwrap_or("request"),
            message.clone(),
        ),
        ApiError::InvalidClient
        | ApiError::InvalidCredentials(_)
        | ApiError::InvalidToken
        | ApiError::AdminUnauthorized => (
            StatusCode::UNAUTHORIZED,
            "apiKey",
            "The API key is invalid, revoked or expired.".to_owned(),
        ),
        ApiError::ClientSuspended => (
            StatusCode::UNAUTHORIZED,
            "apiKey",
            "The client of this API key is suspended.".to_owned(),
        ),
        ApiError::Forbidden { code, message } => (
            StatusCode::FORBIDDEN,
            if *code == "state_not_allowed" {
                "state"
            } else {
                "scope"
            },
            message.clone(),
        ),
        ApiError::NotFound("phone") => (
            StatusCode::NOT_FOUND,
            "phone",
            "No active client has this phone number registered.".to_owned(),
        ),
        ApiError::NotFound(what) => (StatusCode::NOT_FOUND, what, error.to_string()),
        ApiError::PayloadTooLarge | ApiError::UnsupportedMediaType(_) => {
            (error.status(), "body", error.to_string())
        }
        ApiError::MethodNotAllowed => (error.status(), "method", error.to_string()),
        ApiError::UnknownRoute => (error.status(), "path", error.to_string()),
        ApiError::TooManyRequests { .. } => {
            (error.status(), "apiKey", TOO_MANY_FAILED_KEYS.to_owned())
        }
        ApiError::QuotaExceeded(_) => (error.status(), "quota", error.to_string()),
        ApiError::Unavailable => (error.status(), "service", error.to_string()),
        ApiError::Internal(_) => (error.status(), "service", error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::RETRY_AFTER;

    use super::*;
    use crate::signing::PolicyError;

    #[test]
    fn each_outcome_has_its_status_and_field() {
        let table = [
            (ApiError::invalid("apiKey", "x"), 422, "apiKey"),
            (ApiError::InvalidClient, 401, "apiKey"),
            (ApiError::ClientSuspended, 401, "apiKey"),
            (ApiError::NotFound("phone"), 404, "phone"),
            (
                PolicyError::StateNotAllowed("OH".into()).into(),
                403,
                "state",
            ),
            (PolicyError::ScopeNotAllowed(vec![]).into(), 403, "scope"),
            (
                ApiError::TooManyRequests {
                    retry_after_seconds: 2,
                },
                429,
                "apiKey",
            ),
            (ApiError::Unavailable, 503, "service"),
            (
                ApiError::Internal(anyhow::anyhow!("secret detail")),
                500,
                "service",
            ),
        ];
        for (error, status, field) in table {
            let (got_status, got_field, message) = status_field_message(&error);
            assert_eq!(
                (got_status.as_u16(), got_field),
                (status, field),
                "{error:?}"
            );
            assert!(!message.contains("secret detail"));
        }
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let response = ApiKeyErrors::render(ApiError::Unavailable);
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
    }
}
