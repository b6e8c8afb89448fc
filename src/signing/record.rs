//! The issuance record: one durable row per token, written before the token leaves.
//!
//! `IssuanceLog` is the one writer; it awaits the commit, so a caller that gets `Ok` may send the
//! token and a caller that gets `Err` must not.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AnyPool, Connection as _};

use super::error::SigningError;
pub use super::issuance::Issuance;
use super::issuance::{bind_record, COLUMNS, RECORD_COLUMNS};
use super::quota::{self, OverQuota};
use super::report::{self, HourlyCount, IssuanceFilter, HOUR_MILLIS};
use crate::db;
use crate::db::group_commit::{
    values_placeholders, BatchError, BatchWrite, GroupCommit, SizedStatements,
};

/// Most records written by one statement.
const MAX_BATCH: usize = 256;

/// Tokens per (hour since the epoch, scheme, client) this instance recorded and has not yet added
/// to the hourly figures (`issuance_hours`, the console chart's rollup). Counted in memory after
/// each batch commits and flushed every few seconds by the service, so the token routes pay for
/// the figures with a map update instead of a write (a trigger adding to them in the insert's
/// statement cost ~12% of `/auth/jwt`'s rate; BENCHMARKS.md, session 12).
#[derive(Debug, Default)]
struct Tally(std::sync::Mutex<HashMap<(i64, &'static str, String), i64>>);

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, &'static str, String), i64>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add<'a>(&self, batch: impl IntoIterator<Item = &'a Issuance>) {
        let mut counts = self.lock();
        for record in batch {
            let hour = record.issued_at.timestamp_millis().div_euclid(HOUR_MILLIS);
            *counts
                .entry((hour, record.scheme, record.client_id.clone()))
                .or_default() += 1;
        }
    }
}

/// Most figures one flush statement upserts (five parameters each).
const MAX_FLUSH_ROWS: usize = 500;

/// Writes a batch of issuance records as one multi-row insert.
struct IssuanceWriter {
    /// The insert of each batch size written so far.
    statements: SizedStatements,
    /// Where committed records are counted for the hourly figures.
    tally: Arc<Tally>,
    /// Which database it writes to (quotas are counted differently on each).
    backend: db::Backend,
}

impl IssuanceWriter {
    fn new(tally: Arc<Tally>, backend: db::Backend) -> Self {
        Self {
            tally,
            backend,
            statements: SizedStatements::new(|rows| {
                format!(
                    "insert into issuances ({RECORD_COLUMNS}) values {}",
                    values_placeholders(rows, COLUMNS, 1)
                )
            }),
        }
    }
}

impl IssuanceWriter {
    /// Inserts `records` (at least one) in one statement.
    async fn insert(
        &self,
        connection: &mut AnyConnection,
        records: &[&Issuance],
    ) -> Result<(), sqlx::Error> {
        let sql = self.statements.get(records.len());
        let mut query = sqlx::query(&sql);
        for record in records {
            query = bind_record(query, record);
        }
        query.execute(connection).await?;
        Ok(())
    }

    /// A batch with tokens under a quota: counted, and the records of those that fit written,
    /// in one statement on PostgreSQL ([`quota::postgres::write`]), in one transaction on SQLite.
    async fn write_counted(
        &self,
        connection: &mut AnyConnection,
        batch: &[Issuance],
    ) -> Result<Vec<Result<(), OverQuota>>, sqlx::Error> {
        if self.backend == db::Backend::Postgres {
            let outcomes = quota::postgres::write(connection, batch).await?;
            self.tally.add(
                batch
                    .iter()
                    .zip(&outcomes)
                    .filter_map(|(record, outcome)| outcome.is_ok().then_some(record)),
            );
            return Ok(outcomes);
        }
        let mut transaction = connection.begin().await?;
        let outcomes = quota::sqlite::admit(&mut transaction, batch).await?;
        let admitted: Vec<&Issuance> = batch
            .iter()
            .zip(&outcomes)
            .filter_map(|(record, outcome)| outcome.is_ok().then_some(record))
            .collect();
        if !admitted.is_empty() {
            self.insert(&mut transaction, &admitted).await?;
        }
        transaction.commit().await?;
        self.tally.add(admitted);
        Ok(outcomes)
    }
}

impl BatchWrite for IssuanceWriter {
    type Item = Issuance;
    type Outcome = Result<(), OverQuota>;

    async fn write(
        &self,
        connection: &mut AnyConnection,
        batch: &[Issuance],
    ) -> Result<Vec<Self::Outcome>, sqlx::Error> {
        if quota::applies(batch) {
            return self.write_counted(connection, batch).await;
        }
        let records: Vec<&Issuance> = batch.iter().collect();
        self.insert(connection, &records).await?;
        self.tally.add(batch);
        Ok(vec![Ok(()); batch.len()])
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
///
/// Records of clients with a quota go through a lane of their own with one writer (on
/// PostgreSQL; SQLite has one writer for everything): their batches lock the clients' quota
/// counters until they commit (see [`quota`]), so several writers would mostly wait on each
/// other's locks with small batches, where one writer takes whatever queued during its last
/// commit in one batch.
#[derive(Clone, Debug)]
pub struct IssuanceLog {
    pool: AnyPool,
    batches: GroupCommit<IssuanceWriter>,
    /// The lane of records under a quota; `None` on SQLite, where `batches` takes them.
    counted: Option<GroupCommit<IssuanceWriter>>,
    tally: Arc<Tally>,
    /// Held for a whole flush of the hourly figures, so flushes run one at a time: when one
    /// returns, every token counted before it began is written (or kept after a failure).
    flushing: Arc<tokio::sync::Mutex<()>>,
    /// This instance's `writer` in `issuance_hours` (random; 0 is the migration's backfill), so
    /// instances never add to one row at once.
    writer: i64,
}

impl IssuanceLog {
    /// A log writing to `pool` with `postgres_writers` concurrent writers on PostgreSQL (one on
    /// SQLite); starts its writer tasks (they end when the log is dropped).
    pub fn new(pool: AnyPool, backend: db::Backend, postgres_writers: usize) -> Self {
        let tally = Arc::new(Tally::default());
        let batches = GroupCommit::start(
            pool.clone(),
            backend,
            postgres_writers,
            MAX_BATCH,
            IssuanceWriter::new(Arc::clone(&tally), backend),
        );
        let counted = (backend == db::Backend::Postgres).then(|| {
            GroupCommit::start(
                pool.clone(),
                backend,
                1,
                MAX_BATCH,
                IssuanceWriter::new(Arc::clone(&tally), backend),
            )
        });
        Self {
            pool,
            batches,
            counted,
            tally,
            flushing: Arc::default(),
            writer: i64::from(rand::random::<u32>()) + 1,
        }
    }

    /// Adds the tokens counted since the last flush to the hourly figures (one upsert per
    /// [`MAX_FLUSH_ROWS`] figures); returns how many figures it wrote. The service calls it every
    /// few seconds and once more when it stops. A failed flush keeps its counts for the next.
    pub async fn flush_hours(&self) -> Result<usize, SigningError> {
        let _turn = self.flushing.lock().await;
        let taken: Vec<_> = std::mem::take(&mut *self.tally.lock())
            .into_iter()
            .collect();
        let mut written = 0;
        for (at, chunk) in taken.chunks(MAX_FLUSH_ROWS).enumerate() {
            let sql = format!(
                "insert into issuance_hours (hour, scheme, client_id, writer, tokens) values {} \
                 on conflict (hour, scheme, client_id, writer) \
                 do update set tokens = issuance_hours.tokens + excluded.tokens",
                values_placeholders(chunk.len(), 5, 1)
            );
            let mut query = sqlx::query(&sql);
            for ((hour, scheme, client_id), tokens) in chunk {
                query = query
                    .bind(*hour)
                    .bind(*scheme)
                    .bind(client_id.as_str())
                    .bind(self.writer)
                    .bind(*tokens);
            }
            if let Err(e) = query.execute(&self.pool).await {
                // Put back what was not written, for the next flush.
                let mut counts = self.tally.lock();
                for (key, tokens) in taken.iter().skip(at * MAX_FLUSH_ROWS) {
                    *counts.entry(key.clone()).or_default() += tokens;
                }
                return Err(e.into());
            }
            written += chunk.len();
        }
        Ok(written)
    }

    /// Tokens per hour and scheme between `since` and `until` (whole hours) under the filter's
    /// client and scheme: the hourly figures, plus what this instance counted and has not
    /// flushed yet (other instances' tokens join within their flush interval).
    pub async fn hourly_counts(
        &self,
        filter: &IssuanceFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<HourlyCount>, SigningError> {
        let mut counts = report::hourly_counts(&self.pool, filter, since, until).await?;
        let (first, end) = (
            since.timestamp_millis().div_euclid(HOUR_MILLIS),
            report::hour_ceiling(until),
        );
        let pending: Vec<(i64, &'static str, i64)> = self
            .tally
            .lock()
            .iter()
            .filter(|((hour, scheme, client_id), _)| {
                (first..end).contains(hour)
                    && filter.scheme.as_deref().is_none_or(|s| s == *scheme)
                    && filter.client_id.as_deref().is_none_or(|c| c == client_id)
            })
            .map(|((hour, scheme, _), tokens)| (*hour, *scheme, *tokens))
            .collect();
        for (hour, scheme, tokens) in pending {
            let Some(at) = DateTime::from_timestamp_millis(hour * HOUR_MILLIS) else {
                continue;
            };
            match counts
                .iter_mut()
                .find(|c| c.hour == at && c.scheme == scheme)
            {
                Some(count) => count.tokens += tokens,
                None => counts.push(HourlyCount {
                    hour: at,
                    scheme: scheme.to_owned(),
                    tokens,
                }),
            }
        }
        counts.sort_by(|a, b| (a.hour, &a.scheme).cmp(&(b.hour, &b.scheme)));
        Ok(counts)
    }

    /// Records waiting for their batch to be written (read-only, for metrics).
    pub fn queued(&self) -> usize {
        self.batches.queued() + self.counted.as_ref().map_or(0, GroupCommit::queued)
    }

    /// Queues one issuance for the next batch; the returned future resolves once its row has
    /// committed, and the token must not leave before it has resolved to `Ok`.
    pub async fn enqueue(
        &self,
        record: Issuance,
    ) -> Result<impl Future<Output = Result<(), SigningError>> + use<>, SigningError> {
        let lane = match &self.counted {
            Some(counted) if !record.quota.is_unlimited() => counted,
            _ => &self.batches,
        };
        let committed = lane.enqueue(record).await.map_err(batch_failed)?;
        Ok(async move {
            committed
                .await
                .map_err(batch_failed)?
                .map_err(SigningError::OverQuota)
        })
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
    /// `expiry`, the token's `exp` (epoch seconds), lets PostgreSQL read the one partition of
    /// the record that holds it; a record not found there is looked for by `jti` alone, so a
    /// token whose `exp` and record disagree is still checked, only slower.
    pub async fn is_revoked(&self, jti: &str, expiry: Option<i64>) -> Result<bool, SigningError> {
        let within_second = expiry.and_then(|exp| {
            let from = exp.checked_mul(1000)?;
            Some((from, from.checked_add(1000)?))
        });
        if let Some((from, to)) = within_second {
            let row: Option<(Option<i64>,)> = sqlx::query_as(
                "select revoked_at from issuances \
                 where jti = $1 and expires_at >= $2 and expires_at < $3",
            )
            .bind(jti)
            .bind(from)
            .bind(to)
            .fetch_optional(&self.pool)
            .await?;
            if let Some((revoked_at,)) = row {
                return Ok(revoked_at.is_some());
            }
        }
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("select revoked_at from issuances where jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await?;
        Ok(matches!(row, Some((Some(_),))))
    }
}
