//! `Issuance`: what the issuance record keeps about one token, and how one row is bound, shared by
//! the record's writer (`record`) and the quota counting that writes rows on PostgreSQL (`quota`).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use super::grant::Provenance;
use crate::domain::Quota;

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
    /// Whether `IssuanceLog::live_tokens` finds it (only such rows are indexed by subject).
    pub revocable_by_subject: bool,
    /// For an exchanged token: its trust policy and the outside token's issuer and subject.
    pub provenance: Option<Provenance>,
    /// The client's quota, counted in the batch that writes the record (see `signing::quota`).
    pub quota: Quota,
}

/// Columns of one `issuances` row, in insert order.
pub(super) const COLUMNS: usize = 15;

/// The [`COLUMNS`] columns of one record, bound in insert order.
pub(super) fn bind_record<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    record: &'q Issuance,
) -> Query<'q, Any, AnyArguments<'q>> {
    let provenance = record.provenance.as_ref();
    query
        .bind(record.jti.as_str())
        .bind(record.client_id.as_str())
        .bind(record.scheme)
        .bind(record.subject.as_str())
        .bind(record.scopes.as_str())
        .bind(record.state.as_deref())
        .bind(record.caller_ip.map(|ip| ip.to_string()))
        .bind(record.declared_ip.as_deref())
        .bind(record.kid.as_str())
        .bind(record.issued_at.timestamp_millis())
        .bind(record.expires_at.timestamp_millis())
        .bind(record.revocable_by_subject)
        .bind(provenance.map(|p| p.trust_policy_id.as_str()))
        .bind(provenance.map(|p| p.issuer.as_str()))
        .bind(provenance.map(|p| p.subject.as_str()))
}

/// The record's columns, in [`bind_record`]'s order.
pub(super) const RECORD_COLUMNS: &str = "jti, client_id, scheme, subject, scopes, state, \
     caller_ip, declared_ip, kid, issued_at, expires_at, revocable_by_subject, trust_policy_id, \
     external_issuer, external_subject";
