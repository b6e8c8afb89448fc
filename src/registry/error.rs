//! `RegistryError`: what can go wrong with clients and credentials, in domain words.

use crate::db;
use crate::single_use::SingleUseError;

/// A failure of a registry operation; says nothing about HTTP.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No client with that id (authentication maps it to the same answer as a wrong secret).
    #[error("unknown client")]
    UnknownClient,
    /// The presented secret matches no live secret of the client.
    #[error("wrong client secret")]
    WrongSecret,
    /// The client is suspended: none of its credentials work.
    #[error("client is suspended")]
    Suspended,
    /// No JWT credential has that key (authentication maps it to the same answer as a wrong
    /// secret).
    #[error("unknown JWT credential")]
    UnknownCredential,
    /// The JWT credential was revoked.
    #[error("JWT credential is revoked")]
    CredentialRevoked,
    /// API groups the client has no approved access request for (listed).
    #[error("API groups not approved for this client: {}", .0.join(", "))]
    NotApproved(Vec<String>),
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that breaks a registry rule; names the field.
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The database cannot be reached or is overloaded.
    #[error("database unavailable")]
    Unavailable(#[source] std::sync::Arc<sqlx::Error>),
    /// Any other failure: a bug or corrupted data.
    #[error("registry failure: {0}")]
    Internal(#[from] anyhow::Error),
}

impl RegistryError {
    /// An invalid-input error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for RegistryError {
    fn from(err: sqlx::Error) -> Self {
        if db::is_unavailable(&err) {
            Self::Unavailable(std::sync::Arc::new(err))
        } else {
            Self::Internal(anyhow::Error::new(err).context("registry query"))
        }
    }
}

impl From<RegistryError> for SingleUseError {
    /// A claim that cannot be kept or released reports its store's failure in ground-floor words,
    /// so the signing core can tell an unavailable store (503) from anything else (500).
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Unavailable(e) => Self::Unavailable(e),
            RegistryError::Internal(e) => Self::Failed(e),
            other => Self::Failed(anyhow::Error::new(other)),
        }
    }
}
