//! How domain errors are sorted into public outcomes: one `From` impl per error type of the
//! floors below (registry, failure budgets, signing, token verification) and of axum's body and
//! query rejections. Internal details stay in the `Internal` variant, logged and never returned.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;

use super::{ApiError, INVALID_CREDENTIALS};
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
            RegistryError::Internal(e) => Self::Internal(e),
        }
    }
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
            SigningError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            SigningError::Internal(e) => Self::Internal(e),
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
