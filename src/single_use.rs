//! `SingleUse`: a record an issuance consumes, such as a service-account assertion's `jti` or a
//! refreshed AuthToken, that must be kept with the token it paid for or given back.
//!
//! The registry claims the record before a token is asked for (so of two racing requests only one
//! proceeds) and hands out a claim implementing [`SingleUse`]; the signing core keeps it once the
//! new token's issuance record has committed, or releases it when no token leaves, so a scheme
//! writes no compensation of its own. It lives on the ground floor because `registry` and
//! `signing` never import each other. It must not do I/O itself: implementors do.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// The token an issuance produced, as a consumed record needs it (its issuance record has
/// committed when a [`SingleUse`] sees it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuedRecord<'a> {
    /// The new token's `jti`.
    pub jti: &'a str,
    /// Its `iat`.
    pub issued_at: DateTime<Utc>,
    /// Its `exp`.
    pub expires_at: DateTime<Utc>,
}

/// Why a consumed record could not be kept with its token.
#[derive(Debug, thiserror::Error)]
pub enum SingleUseError {
    /// The store cannot be reached or is overloaded (see `db::is_unavailable`): worth a retry.
    #[error("database unavailable")]
    Unavailable(#[source] Arc<sqlx::Error>),
    /// Any other failure: a bug or corrupted data.
    #[error("single-use record failure: {0}")]
    Failed(#[from] anyhow::Error),
}

/// A record claimed for one issuance: kept with the token it paid for, or released for a retry.
#[async_trait::async_trait]
pub trait SingleUse: Send + Sync {
    /// Ties the claim to `issued`, whose issuance record has committed; an error fails the
    /// issuance (the token is not handed out) and the claim is then released.
    async fn keep(&self, issued: &IssuedRecord<'_>) -> Result<(), SingleUseError>;

    /// Undoes the claim because no token left, so the caller may retry with the same record.
    /// Best effort: a failure is logged by the implementor, since the issuance has failed anyway.
    async fn release(&self);
}
