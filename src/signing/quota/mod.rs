//! Per-client token quotas: at most so many tokens per UTC minute and per UTC day, over every
//! scheme and every instance (CONTRACT.md, Admin API, "Quotas").
//!
//! Counting rides on the issuance record's group commit instead of adding a round trip per
//! token: a batch holding tokens of clients with a quota adds them to their windows' counters
//! (`quota_windows`) and writes records only for the tokens that fit, together: in one statement
//! on PostgreSQL ([`postgres`]), in one transaction on SQLite ([`sqlite`]). Both admit by one
//! rule ([`decide`]): a record fits when its rank among the batch's records of each of its
//! windows is within the room that window had.
//! The counters' rows stay locked until the batch commits, so batches of one client written at
//! once by several writers (of this instance or another) are counted one after the other and the
//! count is exact; the rows are upserted in key order, so two batches never wait on each other in
//! a circle. Such records have a lane of their own with one writer per instance
//! (`record::IssuanceLog`), whose batches grow with the load instead of queueing on each other's
//! locks; a batch without them is written as before. Windows are fixed ([`window`]): a minute
//! from :00 to :59 on the UTC clock, a day from UTC midnight; a refused request is told to retry
//! when the window that refused it ends.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::issuance::Issuance;
use crate::domain::Quota;
pub use window::{OverQuota, Period};

pub(super) mod postgres;
pub(super) mod sqlite;
pub mod window;

/// The limits of a quota, each with its period.
fn limits(quota: &Quota) -> impl Iterator<Item = (Period, i64)> {
    [
        quota.per_minute.map(|n| (Period::Minute, n)),
        quota.per_day.map(|n| (Period::Day, n)),
    ]
    .into_iter()
    .flatten()
}

/// One counter: a client's window.
type Window<'a> = (&'a str, Period, i64);

/// Whether any record of the batch is under a quota (otherwise nothing here runs).
pub(super) fn applies(batch: &[Issuance]) -> bool {
    batch.iter().any(|record| !record.quota.is_unlimited())
}

/// The windows of the batch's records under a quota, and for each record (in order) its place in
/// each of its windows.
struct Placed<'a> {
    /// Each window with its limit and how many of the batch's records fall in it, in key order
    /// (the order counters are upserted in, so two batches never lock them in a circle).
    windows: BTreeMap<Window<'a>, (i64, i64)>,
    /// Per record: its minute window's start and its 1-based rank among the batch's records of
    /// that window, then the same for its day window.
    places: Vec<[Option<(i64, i64)>; 2]>,
}

fn place(batch: &[Issuance]) -> Placed<'_> {
    let mut windows: BTreeMap<Window<'_>, (i64, i64)> = BTreeMap::new();
    let places = batch
        .iter()
        .map(|record| {
            let mut place = [None, None];
            for (period, limit) in limits(&record.quota) {
                let start = period.window_start(record.issued_at);
                let (_, asked) = windows
                    .entry((record.client_id.as_str(), period, start))
                    .or_insert((limit, 0));
                *asked += 1;
                place[usize::from(period == Period::Day)] = Some((start, *asked));
            }
            place
        })
        .collect();
    Placed { windows, places }
}

/// The rule both databases admit by: a record fits when, in each of its windows, its rank is
/// within the room that window had (`room`: how many of the batch's records of that window
/// fit). Returns each record's outcome, in order, and how many records each window admitted.
fn decide<'a>(
    batch: &'a [Issuance],
    placed: &Placed<'a>,
    room: &BTreeMap<Window<'a>, i64>,
) -> (Vec<Result<(), OverQuota>>, BTreeMap<Window<'a>, i64>) {
    let mut admitted: BTreeMap<Window<'a>, i64> = BTreeMap::new();
    let outcomes = batch
        .iter()
        .zip(&placed.places)
        .map(|(record, place)| {
            let windows: Vec<(Window<'a>, i64)> = [Period::Minute, Period::Day]
                .into_iter()
                .zip(place)
                .filter_map(|(period, at)| {
                    at.map(|(start, rank)| ((record.client_id.as_str(), period, start), rank))
                })
                .collect();
            let full = windows
                .iter()
                .find(|(window, rank)| *rank > room.get(window).copied().unwrap_or(0));
            match full {
                None => {
                    for (window, _) in windows {
                        *admitted.entry(window).or_default() += 1;
                    }
                    Ok(())
                }
                Some((window, _)) => Err(OverQuota {
                    period: window.1,
                    limit: placed.windows.get(window).map_or(0, |(limit, _)| *limit),
                    retry_after_seconds: window.1.seconds_left(record.issued_at),
                }),
            }
        })
        .collect();
    (outcomes, admitted)
}

/// Takes back off each window's counter what it counted (`counted`) beyond the records it
/// admitted: a counter holds exactly the tokens issued.
async fn take_back_extra(
    connection: &mut AnyConnection,
    counted: &BTreeMap<Window<'_>, i64>,
    admitted: &BTreeMap<Window<'_>, i64>,
) -> Result<(), sqlx::Error> {
    for (window @ (client_id, period, start), count) in counted {
        let extra = count - admitted.get(window).copied().unwrap_or(0);
        if extra > 0 {
            sqlx::query(
                "update quota_windows set tokens = tokens - $4 \
                 where client_id = $1 and period = $2 and window_start = $3",
            )
            .bind(*client_id)
            .bind(period.as_str())
            .bind(*start)
            .bind(extra)
            .execute(&mut *connection)
            .await?;
        }
    }
    Ok(())
}

/// Tokens counted so far in the minute and the day holding `now` for a client with a quota.
pub async fn used(
    pool: &sqlx::AnyPool,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<(i64, i64), sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select period, tokens from quota_windows where client_id = $1 \
         and ((period = 'minute' and window_start = $2) or (period = 'day' and window_start = $3))",
    )
    .bind(client_id)
    .bind(Period::Minute.window_start(now))
    .bind(Period::Day.window_start(now))
    .fetch_all(pool)
    .await?;
    let of = |period: Period| {
        rows.iter()
            .find(|(p, _)| p == period.as_str())
            .map_or(0, |(_, tokens)| *tokens)
    };
    Ok((of(Period::Minute), of(Period::Day)))
}

/// Removes the counters of windows that ended by `now`, at most `batch` rows per statement;
/// returns how many it removed.
pub async fn prune_windows(
    pool: &sqlx::AnyPool,
    now: DateTime<Utc>,
    batch: u32,
) -> Result<u64, sqlx::Error> {
    const ENDED: &str = "window_start + case when period = 'minute' then 60000 \
         else 86400000 end <= $1";
    crate::db::delete_in_batches(
        pool,
        &format!(
            "delete from quota_windows where {ENDED} and (client_id, period, window_start) in \
             (select client_id, period, window_start from quota_windows where {ENDED} limit $2)"
        ),
        now,
        batch,
    )
    .await
}

#[cfg(test)]
mod tests;
