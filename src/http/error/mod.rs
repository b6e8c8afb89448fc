//! `ApiError`: every public outcome of a failed request, and how it is rendered.
//!
//! Domain errors (`RegistryError`, `SigningError`, `TokenError`) are sorted into public outcomes
//! by the `From` impls in [`sorting`]; the status and body are picked in one place per format. Schemes with
//! their own documented error format wrap `ApiError` and render it their way. Internal details
//! are logged in full and never returned.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::signing::OverQuota;
use crate::telemetry::facts;

mod sorting;

/// The one answer to a refused JWT credential, whatever the reason (unknown key, wrong secret,
/// revoked credential, suspended client), so keys cannot be probed.
pub const INVALID_CREDENTIALS: &str = "the key or secret is invalid, or the credential is revoked";

/// The message of a 429: the credential identifier or the caller's address has failed too often.
pub const TOO_MANY_FAILURES: &str =
    "too many failed authentication attempts; retry after the number of seconds in Retry-After";

/// The message of a request refused for a NUL character in any of its text (path, query, form
/// or JSON body, credentials): no text this service stores may hold one (PostgreSQL refuses it).
pub const NUL_REFUSED: &str = "text must not contain the NUL character (U+0000)";

/// Seconds a client should wait before retrying when the store is down.
pub const RETRY_AFTER_UNAVAILABLE_SECONDS: u64 = 5;

/// A failed request, as the caller may learn of it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or invalid input; `field` names the culprit when known.
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
        /// The field at fault.
        field: Option<String>,
    },
    /// Unknown client or wrong secret: one answer for both, so client ids cannot be probed.
    #[error("client authentication failed")]
    InvalidClient,
    /// Valid credentials of a suspended client.
    #[error("the client is suspended")]
    ClientSuspended,
    /// A JWT credential (key and secret) or an AuthToken that cannot be used: one code, with a
    /// message that says no more than the scheme wants to reveal.
    #[error("{0}")]
    InvalidCredentials(&'static str),
    /// A missing, malformed, expired or foreign access token.
    #[error("the access token is missing, invalid or expired")]
    InvalidToken,
    /// The request asks for more than the client may have (`invalid_scope`, `state_not_allowed`).
    #[error("{message}")]
    Forbidden {
        /// Machine-readable code.
        code: &'static str,
        /// What was refused.
        message: String,
    },
    /// Admin API without a valid admin token.
    #[error("a valid admin token is required")]
    AdminUnauthorized,
    /// No such object.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request body is larger than the configured limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// No route has this path.
    #[error("no route has this path")]
    UnknownRoute,
    /// The route exists, but not for this method.
    #[error("this route does not accept this method")]
    MethodNotAllowed,
    /// The body's content type is not one the route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many failed authentications of the identifier or from the address; retry after the
    /// given seconds.
    #[error("{}", TOO_MANY_FAILURES)]
    TooManyRequests {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// The client has used up its token quota (per minute or per day); retry after the given
    /// seconds, when the window that refused it ends.
    #[error("{0}")]
    QuotaExceeded(OverQuota),
    /// The database is down or overloaded.
    #[error("the service is temporarily unavailable, retry later")]
    Unavailable,
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error")]
    Internal(anyhow::Error),
}

/// The error body of tokenmint's own routes: `{"error": "<code>", "message": "<text>"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable error code.
    #[schema(example = "invalid_request")]
    pub error: String,
    /// Human-readable explanation.
    #[schema(example = "tokenTime must be an integer between 1 and 60")]
    pub message: String,
    /// The offending field (admin API validation errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An invalid-request error naming a field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    /// The status under tokenmint's default rendering.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            Self::InvalidClient
            | Self::ClientSuspended
            | Self::InvalidToken
            | Self::InvalidCredentials(_) => StatusCode::UNAUTHORIZED,
            Self::AdminUnauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::UnknownRoute => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } | Self::QuotaExceeded(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. } => "invalid_request",
            Self::InvalidClient | Self::ClientSuspended => "invalid_client",
            Self::InvalidToken => "invalid_token",
            Self::InvalidCredentials(_) => "invalid_credentials",
            Self::AdminUnauthorized => "unauthorized",
            Self::Forbidden { code, .. } => code,
            Self::NotFound(_) | Self::UnknownRoute => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::TooManyRequests { .. } | Self::QuotaExceeded(_) => "too_many_requests",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "server_error",
        }
    }

    /// The body of the default format.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
            field: match self {
                Self::InvalidRequest { field, .. } => field.clone(),
                _ => None,
            },
        }
    }

    /// Renders with a chosen status and body, adding the headers the outcome calls for
    /// (`Retry-After`, `WWW-Authenticate`) and logging internal failures, and marks the response
    /// [`Rendered`] so the app's edge layer leaves it as it is.
    pub fn respond_with(&self, status: StatusCode, body: impl IntoResponse) -> Response {
        facts::note_refusal(refusal_reason(self));
        if let Self::Internal(err) = self {
            // One line at ERROR (the cause chain: a bug stays visible); the backtrace, which
            // would add dozens of lines per request, only at DEBUG.
            tracing::error!(error = %format!("{err:#}"), "request failed");
            tracing::debug!(backtrace = %err.backtrace(), "request failed: backtrace");
        }
        let mut response = (status, body).into_response();
        response.extensions_mut().insert(Rendered);
        let headers = response.headers_mut();
        match self {
            Self::Unavailable => {
                headers.insert(header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE_SECONDS.into());
            }
            Self::TooManyRequests {
                retry_after_seconds,
            }
            | Self::QuotaExceeded(OverQuota {
                retry_after_seconds,
                ..
            }) => {
                headers.insert(header::RETRY_AFTER, (*retry_after_seconds).into());
            }
            Self::InvalidToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            Self::AdminUnauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.respond_with(self.status(), Json(self.body()))
    }
}

/// A response extension: this error response was rendered in its route's format (by
/// [`ApiError::respond_with`] or a web page), as opposed to a bare rejection of the framework
/// (an unknown path, a wrong method, a body over the limit), which the app's edge layer renders
/// in the route's format.
#[derive(Clone, Copy, Debug)]
pub struct Rendered;

/// A route family's error format as a function: what the app's edge layer calls to answer in it.
pub type RenderError = fn(ApiError) -> Response;

/// tokenmint's own format, `{"error", "message"}` with [`ApiError::status`].
pub fn render_default(error: ApiError) -> Response {
    error.into_response()
}

/// How a scheme renders failures in its documented format (status and body per outcome).
pub trait ErrorFormat: Send + 'static {
    /// The response for an error; implementations call [`ApiError::respond_with`] so headers
    /// (`Retry-After`, `WWW-Authenticate`) and logging stay uniform.
    fn render(error: ApiError) -> Response;
}

/// An [`ApiError`] rendered in the format `F` of one scheme. Handlers return
/// `Result<_, SchemeError<TheirFormat>>` and use `?` on any domain error.
pub struct SchemeError<F: ErrorFormat>(pub ApiError, std::marker::PhantomData<F>);

impl<F: ErrorFormat> std::fmt::Debug for SchemeError<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<F: ErrorFormat, E: Into<ApiError>> From<E> for SchemeError<F> {
    fn from(err: E) -> Self {
        Self(err.into(), std::marker::PhantomData)
    }
}

impl<F: ErrorFormat> IntoResponse for SchemeError<F> {
    fn into_response(self) -> Response {
        F::render(self.0)
    }
}

/// The refusal reason of an error: a small fixed set, never anything the client sent.
pub fn refusal_reason(error: &ApiError) -> &'static str {
    match error {
        ApiError::InvalidRequest { .. }
        | ApiError::PayloadTooLarge
        | ApiError::MethodNotAllowed
        | ApiError::UnsupportedMediaType(_) => "invalid_request",
        ApiError::InvalidClient => "invalid_client",
        ApiError::ClientSuspended => "suspended",
        ApiError::InvalidCredentials(_) => "invalid_credentials",
        ApiError::InvalidToken => "invalid_token",
        ApiError::Forbidden { code, .. } => match *code {
            "invalid_scope" => "invalid_scope",
            "state_not_allowed" => "state_not_allowed",
            _ => "forbidden",
        },
        ApiError::AdminUnauthorized => "unauthorized",
        ApiError::NotFound(_) | ApiError::UnknownRoute => "not_found",
        ApiError::TooManyRequests { .. } => "rate_limited",
        ApiError::QuotaExceeded(_) => "quota_exceeded",
        ApiError::Unavailable => "unavailable",
        ApiError::Internal(_) => "internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryError;

    #[test]
    fn each_outcome_has_its_status_and_code() {
        let table = [
            (ApiError::invalid("f", "bad"), 400, "invalid_request"),
            (ApiError::InvalidClient, 401, "invalid_client"),
            (ApiError::InvalidToken, 401, "invalid_token"),
            (
                ApiError::InvalidCredentials(INVALID_CREDENTIALS),
                401,
                "invalid_credentials",
            ),
            (
                ApiError::from(RegistryError::NotApproved(vec!["g".into()])),
                403,
                "group_not_approved",
            ),
            (
                ApiError::Forbidden {
                    code: "invalid_scope",
                    message: String::new(),
                },
                403,
                "invalid_scope",
            ),
            (ApiError::NotFound("client"), 404, "not_found"),
            (
                ApiError::TooManyRequests {
                    retry_after_seconds: 3,
                },
                429,
                "too_many_requests",
            ),
            (ApiError::Unavailable, 503, "unavailable"),
            (
                ApiError::Internal(anyhow::anyhow!("boom")),
                500,
                "server_error",
            ),
        ];
        for (err, status, code) in table {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn unknown_client_and_wrong_secret_are_indistinguishable() {
        let a = ApiError::from(RegistryError::UnknownClient).body();
        let b = ApiError::from(RegistryError::WrongSecret).body();
        assert_eq!((a.error, a.message), (b.error, b.message));
    }

    #[test]
    fn internal_details_never_reach_the_body() {
        let body = ApiError::Internal(anyhow::anyhow!("password=hunter2")).body();
        assert!(!body.message.contains("hunter2"));
    }

    #[test]
    fn unavailable_answers_carry_retry_after() {
        let response = ApiError::Unavailable.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    }

    #[test]
    fn refusal_reasons_are_fixed_strings() {
        let forbidden = |code| ApiError::Forbidden {
            code,
            message: "x".into(),
        };
        assert_eq!(refusal_reason(&forbidden("invalid_scope")), "invalid_scope");
        assert_eq!(
            refusal_reason(&forbidden("group_not_approved")),
            "forbidden"
        );
        assert_eq!(refusal_reason(&ApiError::ClientSuspended), "suspended");
        assert_eq!(
            refusal_reason(&ApiError::TooManyRequests {
                retry_after_seconds: 1
            }),
            "rate_limited"
        );
    }
}
