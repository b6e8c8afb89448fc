//! `SigningError` and `TokenError`: what can go wrong issuing or verifying a token.

use crate::db;
use crate::single_use::SingleUseError;

/// A refusal by policy: the grant asks for more than the client may have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Requested scopes outside the client's allowed scopes (listed).
    #[error("scopes not allowed for this client: {}", .0.join(" "))]
    ScopeNotAllowed(Vec<String>),
    /// A requested scope is not a valid scope token.
    #[error("invalid scope value {0:?}")]
    ScopeMalformed(String),
    /// The requested state is not allowed for the client.
    #[error("state {0:?} is not allowed for this client")]
    StateNotAllowed(String),
    /// The requested lifetime exceeds what the client may have.
    #[error("token lifetime must be between 1 and {max_minutes} minutes")]
    TtlOutOfRange {
        /// The client's maximum, in minutes.
        max_minutes: i64,
    },
}

/// A failure to issue a token.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The grant breaks the client's policy.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The client has used up its quota; no token was issued.
    #[error(transparent)]
    OverQuota(#[from] super::quota::window::OverQuota),
    /// The database (keys or issuance record) cannot be reached.
    #[error("database unavailable")]
    Unavailable(#[source] std::sync::Arc<sqlx::Error>),
    /// Any other failure: a bug, corrupted key material, a wrong master key.
    #[error("signing failure: {0}")]
    Internal(#[from] anyhow::Error),
}

impl SigningError {
    /// The error for a start-up or command failure: an internal error's own chain, since its
    /// `Display` already repeats its source's message.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            Self::Internal(err) => err,
            other => other.into(),
        }
    }
}

impl From<sqlx::Error> for SigningError {
    fn from(err: sqlx::Error) -> Self {
        if db::is_unavailable(&err) {
            Self::Unavailable(std::sync::Arc::new(err))
        } else {
            Self::Internal(anyhow::Error::new(err).context("signing storage"))
        }
    }
}

impl From<SingleUseError> for SigningError {
    /// A consumed record that cannot be kept fails the issuance as its store's failure would:
    /// unavailable stays a 503 worth retrying, anything else is internal.
    fn from(err: SingleUseError) -> Self {
        match err {
            SingleUseError::Unavailable(e) => Self::Unavailable(e),
            SingleUseError::Failed(e) => Self::Internal(e),
        }
    }
}

/// Why a presented token was refused. Details go to logs, never to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a compact JWS we could parse, or too large.
    #[error("malformed token")]
    Malformed,
    /// Header `typ` is not an access token's.
    #[error("wrong token type")]
    WrongType,
    /// No published key has that `kid`, or the algorithm does not match the key's.
    #[error("unknown signing key")]
    UnknownKey,
    /// Signature or required claims are invalid.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// The token was revoked.
    #[error("token revoked")]
    Revoked,
    /// The token's client is suspended: its live tokens are inactive while it is.
    #[error("the token's client is suspended")]
    ClientSuspended,
    /// Revocation could not be checked (the database is down); fail closed.
    #[error("revocation status unavailable")]
    Unavailable,
}
