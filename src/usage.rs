//! Refused token requests per client, UTC day, scheme and reason: the refusal half of a client's
//! usage report (`GET /admin/clients/{client_id}/usage`; the tokens issued come from the issuance
//! record's hourly figures).
//!
//! The observe layer notes each refusal of a token route whose client is known (it
//! authenticated, or it was named with a wrong secret) in memory; the service adds the counts to
//! `refusal_days` every few seconds and once more when it stops, each instance under its own
//! `writer`, so the token routes pay a map update, never a write. A failed flush keeps its
//! counts for the next. Reasons are the small fixed set of the metrics' refusal reasons, never
//! text a client sent. Nothing here knows HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AnyPool;

use crate::clock::Clock;
use crate::db::group_commit::values_placeholders;

const DAY_SECONDS: i64 = 86_400;

/// How many days of usage are kept and may be asked for: the retention job keeps the hourly
/// issuance figures and the refusal counts at least this long.
pub const KEPT_DAYS: i64 = 92;

/// Most counts one flush statement upserts (six parameters each).
const MAX_FLUSH_ROWS: usize = 500;

/// (day since the epoch, client, scheme, reason).
type Key = (i64, String, &'static str, &'static str);

/// One day's refusals of one scheme and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalCount {
    /// The UTC day.
    pub day: NaiveDate,
    /// The scheme that refused.
    pub scheme: String,
    /// Why (a refusal reason of the metrics).
    pub reason: String,
    /// How many requests.
    pub refusals: i64,
}

/// This instance's refusal counts, and where they go.
pub struct Refusals {
    pool: AnyPool,
    clock: Arc<dyn Clock>,
    pending: Mutex<HashMap<Key, i64>>,
    /// Held for a whole flush, so flushes run one at a time: when one returns, every count noted
    /// before it began is written (or kept after a failure), even if the periodic flush had
    /// taken some a moment earlier.
    flushing: tokio::sync::Mutex<()>,
    /// This instance's `writer` (random), so instances never add to one row at once.
    writer: i64,
}

impl std::fmt::Debug for Refusals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refusals")
            .field("pending", &self.lock().len())
            .finish_non_exhaustive()
    }
}

/// Days since the Unix epoch of an instant.
pub fn day_number(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(DAY_SECONDS)
}

/// The date of a day number.
pub fn date_of(day: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(day.checked_mul(DAY_SECONDS)?, 0).map(|at| at.date_naive())
}

impl Refusals {
    /// Counts kept for `pool`, dated by `clock`.
    pub fn new(pool: AnyPool, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            clock,
            pending: Mutex::default(),
            flushing: tokio::sync::Mutex::default(),
            writer: i64::from(rand::random::<u32>()) + 1,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, i64>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes one refused request of `client_id` by `scheme`, for `reason`, now.
    pub fn refused(&self, client_id: &str, scheme: &'static str, reason: &'static str) {
        let day = day_number(self.clock.now());
        *self
            .lock()
            .entry((day, client_id.to_owned(), scheme, reason))
            .or_default() += 1;
    }

    /// Adds the counts noted since the last flush to `refusal_days`; returns how many rows it
    /// wrote. What could not be written is kept for the next flush.
    pub async fn flush(&self) -> Result<usize, sqlx::Error> {
        let _turn = self.flushing.lock().await;
        let taken: Vec<(Key, i64)> = std::mem::take(&mut *self.lock()).into_iter().collect();
        let mut written = 0;
        for (at, chunk) in taken.chunks(MAX_FLUSH_ROWS).enumerate() {
            let sql = format!(
                "insert into refusal_days (day, client_id, scheme, reason, writer, refusals) \
                 values {} on conflict (day, client_id, scheme, reason, writer) \
                 do update set refusals = refusal_days.refusals + excluded.refusals",
                values_placeholders(chunk.len(), 6, 1)
            );
            let mut query = sqlx::query(&sql);
            for ((day, client_id, scheme, reason), refusals) in chunk {
                query = query
                    .bind(*day)
                    .bind(client_id.as_str())
                    .bind(*scheme)
                    .bind(*reason)
                    .bind(self.writer)
                    .bind(*refusals);
            }
            if let Err(e) = query.execute(&self.pool).await {
                let mut pending = self.lock();
                for (key, refusals) in taken.iter().skip(at * MAX_FLUSH_ROWS) {
                    *pending.entry(key.clone()).or_default() += refusals;
                }
                return Err(e);
            }
            written += chunk.len();
        }
        Ok(written)
    }

    /// A client's refusals per day, scheme and reason from day `first` to day `last` (day
    /// numbers, both included): every instance's flushed counts and this instance's pending
    /// ones, by day, scheme and reason.
    pub async fn per_day(
        &self,
        client_id: &str,
        first: i64,
        last: i64,
    ) -> Result<Vec<RefusalCount>, sqlx::Error> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "select day, scheme, reason, cast(sum(refusals) as bigint) from refusal_days \
             where client_id = $1 and day >= $2 and day <= $3 \
             group by day, scheme, reason",
        )
        .bind(client_id)
        .bind(first)
        .bind(last)
        .fetch_all(&self.pool)
        .await?;
        let mut counts: HashMap<(i64, String, String), i64> = rows
            .into_iter()
            .map(|(day, scheme, reason, refusals)| ((day, scheme, reason), refusals))
            .collect();
        for ((day, client, scheme, reason), refusals) in self.lock().iter() {
            if client == client_id && (first..=last).contains(day) {
                *counts
                    .entry((*day, (*scheme).to_owned(), (*reason).to_owned()))
                    .or_default() += refusals;
            }
        }
        let mut counts: Vec<RefusalCount> = counts
            .into_iter()
            .filter_map(|((day, scheme, reason), refusals)| {
                Some(RefusalCount {
                    day: date_of(day)?,
                    scheme,
                    reason,
                    refusals,
                })
            })
            .collect();
        counts.sort_by(|a, b| (a.day, &a.scheme, &a.reason).cmp(&(b.day, &b.scheme, &b.reason)));
        Ok(counts)
    }

    /// Removes the counts of days that ended before `before`, at most `batch` rows per
    /// statement; returns how many rows it removed.
    pub async fn prune(&self, before: DateTime<Utc>, batch: u32) -> Result<u64, sqlx::Error> {
        crate::db::delete_in_batches(
            &self.pool,
            "delete from refusal_days where day < $1 / 86400000 \
             and (day, client_id, scheme, reason, writer) in \
             (select day, client_id, scheme, reason, writer from refusal_days \
              where day < $1 / 86400000 limit $2)",
            before,
            batch,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::FixedClock;
    use crate::db::Database;

    /// 2030-03-17T17:46:40Z.
    const NOW_SECONDS: i64 = 1_900_000_000;

    async fn refusals() -> (Refusals, Arc<FixedClock>) {
        let db = Database::connect_url("sqlite::memory:", 1, Duration::from_secs(5))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let clock = Arc::new(FixedClock::at(
            DateTime::from_timestamp(NOW_SECONDS, 0).unwrap(),
        ));
        (Refusals::new(db.pool().clone(), clock.clone()), clock)
    }

    #[tokio::test]
    async fn counts_are_seen_before_and_after_a_flush_and_added_up_across_writers() {
        let (refusals, clock) = refusals().await;
        let today = day_number(clock.now());
        refusals.refused("c1", "auth_jwt", "invalid_scope");
        refusals.refused("c1", "auth_jwt", "invalid_scope");
        refusals.refused("c1", "oauth_token", "quota_exceeded");
        refusals.refused("c2", "auth_jwt", "invalid_scope");
        let before = refusals.per_day("c1", today, today).await.unwrap();

        assert_eq!(refusals.flush().await.unwrap(), 3);
        refusals.refused("c1", "auth_jwt", "invalid_scope");
        let after = refusals.per_day("c1", today, today).await.unwrap();

        let date = date_of(today).unwrap();
        let count = |scheme: &str, reason: &str, refusals| RefusalCount {
            day: date,
            scheme: scheme.into(),
            reason: reason.into(),
            refusals,
        };
        assert_eq!(
            before,
            vec![
                count("auth_jwt", "invalid_scope", 2),
                count("oauth_token", "quota_exceeded", 1)
            ]
        );
        assert_eq!(
            after,
            vec![
                count("auth_jwt", "invalid_scope", 3),
                count("oauth_token", "quota_exceeded", 1)
            ]
        );
    }

    #[tokio::test]
    async fn days_outside_the_range_are_left_out_and_old_days_pruned() {
        let (refusals, clock) = refusals().await;
        let today = day_number(clock.now());
        refusals.refused("c1", "auth_jwt", "invalid_scope");
        clock.advance_seconds(3 * DAY_SECONDS);
        refusals.refused("c1", "auth_jwt", "invalid_scope");
        refusals.flush().await.unwrap();

        assert_eq!(
            refusals
                .per_day("c1", today + 1, today + 3)
                .await
                .unwrap()
                .len(),
            1
        );
        let tomorrow = DateTime::from_timestamp((today + 1) * DAY_SECONDS, 0).unwrap();
        assert_eq!(refusals.prune(tomorrow, 10).await.unwrap(), 1);
        assert_eq!(
            refusals.per_day("c1", today, today).await.unwrap(),
            Vec::new()
        );
    }
}
