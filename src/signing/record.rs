//! The issuance record: one durable row per token, written before the token leaves.
//!
//! `IssuanceLog` is the one writer; it awaits the commit, so a caller that gets `Ok` may send the
//! token and a caller that gets `Err` must not.

use std::future::Future;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AnyPool};

use super::error::SigningError;
use super::grant::Provenance;
use crate::db;
use crate::db::group_commit::{
    values_placeholders, BatchError, BatchWrite, GroupCommit, SizedStatements,
};

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
    /// Whether [`IssuanceLog::live_tokens`] finds it (only such rows are indexed by subject).
    pub revocable_by_subject: bool,
    /// For an exchanged token: its trust policy and the outside token's issuer and subject.
    pub provenance: Option<Provenance>,
}

/// Most records written by one statement.
const MAX_BATCH: usize = 256;
/// Columns of one `issuances` row, in insert order.
const COLUMNS: usize = 15;

/// Writes a batch of issuance records as one multi-row insert.
struct IssuanceWriter {
    /// The insert of each batch size written so far.
    statements: SizedStatements,
}

impl IssuanceWriter {
    fn new() -> Self {
        Self {
            statements: SizedStatements::new(|rows| {
                format!(
                    "insert into issuances (jti, client_id, scheme, subject, scopes, state, \
                     caller_ip, declared_ip, kid, issued_at, expires_at, revocable_by_subject, \
                     trust_policy_id, external_issuer, external_subject) \
                     values {}",
                    values_placeholders(rows, COLUMNS, 1)
                )
            }),
        }
    }
}

impl BatchWrite for IssuanceWriter {
    type Item = Issuance;
    type Outcome = ();

    async fn write(
        &self,
        connection: &mut AnyConnection,
        batch: &[Issuance],
    ) -> Result<Vec<()>, sqlx::Error> {
        let sql = self.statements.get(batch.len());
        let mut query = sqlx::query(&sql);
        for record in batch {
            query = query
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
                .bind(record.revocable_by_subject);
            let provenance = record.provenance.as_ref();
            query = query
                .bind(provenance.map(|p| p.trust_policy_id.as_str()))
                .bind(provenance.map(|p| p.issuer.as_str()))
                .bind(provenance.map(|p| p.subject.as_str()));
        }
        query.execute(connection).await?;
        Ok(vec![(); batch.len()])
    }
}

/// What a caller of the issuance log is told when its record was not written.
fn batch_failed(failure: BatchError) -> SigningError {
    match failure {
        BatchError::Unavailable(e) => SigningError::Unavailable(e),
        other => anyhow::anyhow!("writing the issuance record failed: {other}").into(),
    }
}

/// Writes issuance records with group commit ([`GroupCommit`]): concurrent issuances are written
/// together, one multi-row insert per flush (at most `MAX_BATCH` rows), and each caller is
/// answered only after its batch has committed. A failed batch fails every caller in it, so no
/// token leaves without its row.
#[derive(Clone, Debug)]
pub struct IssuanceLog {
    pool: AnyPool,
    batches: GroupCommit<IssuanceWriter>,
}

impl IssuanceLog {
    /// A log writing to `pool` with `postgres_writers` concurrent writers on PostgreSQL (one on
    /// SQLite); starts its writer tasks (they end when the log is dropped).
    pub fn new(pool: AnyPool, backend: db::Backend, postgres_writers: usize) -> Self {
        let batches = GroupCommit::start(
            pool.clone(),
            backend,
            postgres_writers,
            MAX_BATCH,
            IssuanceWriter::new(),
        );
        Self { pool, batches }
    }

    /// Records waiting for their batch to be written (read-only, for metrics).
    pub fn queued(&self) -> usize {
        self.batches.queued()
    }

    /// Queues one issuance for the next batch; the returned future resolves once its row has
    /// committed, and the token must not leave before it has resolved to `Ok`.
    pub async fn enqueue(
        &self,
        record: Issuance,
    ) -> Result<impl Future<Output = Result<(), SigningError>> + use<>, SigningError> {
        let committed = self.batches.enqueue(record).await.map_err(batch_failed)?;
        Ok(async move { committed.await.map_err(batch_failed) })
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

    /// The unexpired, unrevoked tokens a scheme issued to one subject, among those recorded as
    /// revocable by subject.
    pub async fn live_tokens(
        &self,
        scheme: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, SigningError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select jti from issuances where revocable_by_subject and scheme = $1 \
             and subject = $2 and expires_at > $3 and revoked_at is null order by issued_at, jti",
        )
        .bind(scheme)
        .bind(subject)
        .bind(now.timestamp_millis())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(jti,)| jti).collect())
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
