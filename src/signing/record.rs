//! The issuance record: one durable row per token, written before the token leaves.
//!
//! `IssuanceLog` is the one writer; it awaits the commit, so a caller that gets `Ok` may send the
//! token and a caller that gets `Err` must not.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::AnyPool;

use super::error::SigningError;

/// What is recorded about an issued token (never the token itself).
#[derive(Clone, Debug)]
pub struct Issuance {
    /// The token's `jti`.
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The scheme that issued it.
    pub scheme: &'static str,
    /// Its `sub`.
    pub subject: String,
    /// Its scopes, space separated.
    pub scopes: String,
    /// Its state, if any.
    pub state: Option<String>,
    /// The caller's network address.
    pub caller_ip: Option<IpAddr>,
    /// The address the caller declared.
    pub declared_ip: Option<String>,
    /// The signing key.
    pub kid: String,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
}

/// Writes issuance records.
#[derive(Clone, Debug)]
pub struct IssuanceLog {
    pool: AnyPool,
}

impl IssuanceLog {
    /// A log writing to `pool`.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Durably records one issuance; returns once the row is committed.
    pub async fn append(&self, record: &Issuance) -> Result<(), SigningError> {
        sqlx::query(
            "insert into issuances (jti, client_id, scheme, subject, scopes, state, caller_ip, \
             declared_ip, kid, issued_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&record.jti)
        .bind(&record.client_id)
        .bind(record.scheme)
        .bind(&record.subject)
        .bind(&record.scopes)
        .bind(record.state.as_deref())
        .bind(record.caller_ip.map(|ip| ip.to_string()))
        .bind(record.declared_ip.as_deref())
        .bind(&record.kid)
        .bind(record.issued_at.timestamp_millis())
        .bind(record.expires_at.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
