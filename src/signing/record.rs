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

    /// Marks tokens revoked; returns how many were newly revoked.
    pub async fn revoke(&self, jtis: &[String], now: DateTime<Utc>) -> Result<u64, SigningError> {
        let mut revoked = 0;
        for jti in jtis {
            revoked += sqlx::query(
                "update issuances set revoked_at = $2 where jti = $1 and revoked_at is null",
            )
            .bind(jti)
            .bind(now.timestamp_millis())
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(revoked)
    }

    /// Whether a token has been revoked (an unknown jti is not: it was never recorded by us).
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, SigningError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("select revoked_at from issuances where jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await?;
        Ok(matches!(row, Some((Some(_),))))
    }
}
