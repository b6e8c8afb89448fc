//! How domain errors are sorted into public outcomes: one `From` impl per error type of the
//! floors below (registry, failure budgets, signing, token verification) and of axum's body and
//! query rejections. Text the database cannot store is the client's error. Internal details stay
//! in the `Internal` variant, logged and never returned.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;

use super::{ApiError, INVALID_CREDENTIALS, NUL_REFUSED};
use crate::db;
use crate::limits::Limited;
use crate::registry::RegistryError;
use crate::signing::{PolicyError, SigningError, TokenError};

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        match err {
            // Same answer for unknown id and wrong secret: don't reveal which clients exist.
            RegistryError::UnknownClient | RegistryError::WrongSecret => Self::InvalidClient,
            RegistryError::Suspended => Self::ClientSuspended,
            // The AuthToken scheme answers these with its own single message (see
            // `schemes::authtoken`); elsewhere they are a failed authentication like the above.
            RegistryError::UnknownCredential | RegistryError::CredentialRevoked => {
                Self::InvalidCredentials(INVALID_CREDENTIALS)
            }
            RegistryError::NotApproved(_) => Self::Forbidden {
                code: "group_not_approved",
                message: err.to_string(),
            },
            RegistryError::NotFound(what) => Self::NotFound(what),
            RegistryError::Invalid { field, message } => Self::invalid(field, message),
            RegistryError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            RegistryError::Internal(e) => internal(e),
        }
    }
}

/// An unexpected failure, unless the database refused text it cannot store. The app's edge layer
/// refuses a NUL in every request's text; one can still hide inside a signed token's claims
/// (an assertion's `sub` or `jti`), which only the store sees. That is the client's input: a
/// 400 in the route's format, logged at WARN in one line, not a 500 with a backtrace at ERROR.
fn internal(err: anyhow::Error) -> ApiError {
    let refused_text = err
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(db::is_unrepresentable_text);
    if refused_text {
        tracing::warn!(error = %format!("{err:#}"), "the database refused the request's text");
        return ApiError::InvalidRequest {
            message: NUL_REFUSED.to_owned(),
            field: None,
        };
    }
    ApiError::Internal(err)
}

impl From<Limited> for ApiError {
    fn from(limited: Limited) -> Self {
        Self::TooManyRequests {
            retry_after_seconds: limited.retry_after_seconds,
        }
    }
}

impl From<PolicyError> for ApiError {
    fn from(err: PolicyError) -> Self {
        let message = err.to_string();
        match err {
            PolicyError::ScopeNotAllowed(_) => Self::Forbidden {
                code: "invalid_scope",
                message,
            },
            PolicyError::ScopeMalformed(_) => Self::invalid("scope", message),
            PolicyError::StateNotAllowed(_) => Self::Forbidden {
                code: "state_not_allowed",
                message,
            },
            PolicyError::TtlOutOfRange { .. } => Self::invalid("ttl", message),
        }
    }
}

impl From<SigningError> for ApiError {
    fn from(err: SigningError) -> Self {
        match err {
            SigningError::Policy(e) => e.into(),
            SigningError::OverQuota(over) => Self::QuotaExceeded(over),
            SigningError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            SigningError::Internal(e) => internal(e),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        if err == TokenError::Unavailable {
            return Self::Unavailable;
        }
        tracing::info!(reason = %err, "token refused");
        Self::InvalidToken
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        Self::InvalidRequest {
            message: rejection.body_text(),
            field: None,
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::InvalidRequest {
            message: rejection.body_text(),
            field: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A database error with a SQLSTATE, as PostgreSQL reports one.
    #[derive(Debug, thiserror::Error)]
    #[error("database error {0}")]
    struct Refused(&'static str);

    impl DatabaseError for Refused {
        fn message(&self) -> &str {
            "refused"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn registry_failure(code: &'static str) -> ApiError {
        let err = sqlx::Error::Database(Box::new(Refused(code)));
        RegistryError::from(err).into()
    }

    #[test]
    fn text_the_database_cannot_store_is_the_clients_error() {
        // 22021: "invalid byte sequence for encoding UTF8: 0x00".
        let refused = registry_failure("22021");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(refused.to_string(), NUL_REFUSED);
        let signing = ApiError::from(SigningError::Internal(
            anyhow::Error::new(sqlx::Error::Database(Box::new(Refused("22P05"))))
                .context("signing storage"),
        ));
        assert_eq!(signing.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn any_other_database_failure_stays_internal() {
        assert!(matches!(registry_failure("42P01"), ApiError::Internal(_)));
    }
}
