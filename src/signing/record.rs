//! The issuance record: one durable row per token, written before the token leaves.
//!
//! `IssuanceLog` is the one writer; it awaits the commit, so a caller that gets `Ok` may send the
//! token and a caller that gets `Err` must not.

use std::net::IpAddr;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::error::SigningError;
use crate::db;

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

/// Most records written by one statement.
const MAX_BATCH: usize = 256;
/// Columns of one `issuances` row, in insert order.
const COLUMNS: usize = 11;

/// A record waiting for its batch, with the caller to tell.
struct Pending {
    record: Issuance,
    done: oneshot::Sender<Result<(), Failure>>,
}

/// How a batch failed, shared by every caller in it.
#[derive(Clone)]
enum Failure {
    Unavailable(Arc<sqlx::Error>),
    Internal(Arc<str>),
}

/// Writes issuance records with group commit: concurrent issuances are written together, one
/// multi-row insert per flush (at most [`MAX_BATCH`] rows, no waiting beyond what is already
/// queued), and each caller is answered only after its batch has committed. A failed batch fails
/// every caller in it, so no token leaves without its row.
#[derive(Clone, Debug)]
pub struct IssuanceLog {
    pool: AnyPool,
    queue: mpsc::Sender<Pending>,
}

impl IssuanceLog {
    /// A log writing to `pool`; starts its writer tasks (they end when the log is dropped).
    ///
    /// `postgres_writers` writers commit concurrently on PostgreSQL: the commit's flush to disk
    /// dominates a batch's time, and PostgreSQL flushes the commits of concurrent transactions
    /// together, so a record that arrives while a flush runs is inserted at once and joins the
    /// next flush instead of waiting for a writer to come back. SQLite has one writer at a time:
    /// concurrent writers there only wait on its lock (its busy handler sleeps), so it gets one
    /// writer whose batches grow instead.
    pub fn new(pool: AnyPool, backend: db::Backend, postgres_writers: usize) -> Self {
        let writers = match backend {
            db::Backend::Postgres => postgres_writers.max(1),
            db::Backend::Sqlite => 1,
        };
        let (queue, receiver) = mpsc::channel(MAX_BATCH * 16);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers {
            tokio::spawn(write_batches(pool.clone(), Arc::clone(&receiver)));
        }
        Self { pool, queue }
    }

    /// Records waiting for their batch to be written (read-only, for metrics).
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Durably records one issuance; returns once the row is committed.
    pub async fn append(&self, record: Issuance) -> Result<(), SigningError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending { record, done })
            .await
            .map_err(|_| anyhow::anyhow!("the issuance writer has stopped"))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Failure::Unavailable(e))) => Err(SigningError::Unavailable(e)),
            Ok(Err(Failure::Internal(why))) => {
                Err(anyhow::anyhow!("writing the issuance record failed: {why}").into())
            }
            Err(_) => Err(anyhow::anyhow!("the issuance writer dropped a record").into()),
        }
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

    /// The unexpired, unrevoked tokens a scheme issued to one subject.
    pub async fn live_tokens(
        &self,
        scheme: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, SigningError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select jti from issuances where scheme = $1 and subject = $2 and expires_at > $3 \
             and revoked_at is null order by issued_at, jti",
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

/// One writer: takes what is queued (waiting only for the first record), writes it in one
/// statement, answers every caller, and repeats until the log is dropped.
async fn write_batches(pool: AnyPool, receiver: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut queue = receiver.lock().await;
            match queue.recv().await {
                Some(first) => batch.push(first),
                None => return,
            }
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
        }
        let outcome = insert_batch(&pool, &batch).await;
        if let Err(failure) = &outcome {
            let why = match failure {
                Failure::Unavailable(e) => e.to_string(),
                Failure::Internal(why) => why.to_string(),
            };
            tracing::error!(records = batch.len(), error = %why, "issuance batch failed");
        }
        for pending in batch.drain(..) {
            let _ = pending.done.send(outcome.clone());
        }
    }
}

/// Inserts a batch of records in one statement (one transaction).
async fn insert_batch(pool: &AnyPool, batch: &[Pending]) -> Result<(), Failure> {
    let mut sql = String::with_capacity(200 + batch.len() * 60);
    sql.push_str(
        "insert into issuances (jti, client_id, scheme, subject, scopes, state, caller_ip, \
         declared_ip, kid, issued_at, expires_at) values ",
    );
    for row in 0..batch.len() {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..COLUMNS {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * COLUMNS + column + 1).to_string());
        }
        sql.push(')');
    }
    let mut query = sqlx::query(&sql);
    for Pending { record, .. } in batch {
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
            .bind(record.expires_at.timestamp_millis());
    }
    query.execute(pool).await.map(|_| ()).map_err(|e| {
        if db::is_unavailable(&e) {
            Failure::Unavailable(Arc::new(e))
        } else {
            Failure::Internal(e.to_string().into())
        }
    })
}
