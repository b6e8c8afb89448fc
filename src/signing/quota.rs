//! Per-client token quotas: at most so many tokens per UTC minute and per UTC day, over every
//! scheme and every instance (CONTRACT.md, Admin API, "Quotas").
//!
//! Counting rides on the issuance record's group commit instead of adding a round trip per
//! token: a batch holding tokens of clients with a quota adds them to their windows' counters
//! (`quota_windows`) and writes records only for the tokens that fit, together: in one statement
//! on PostgreSQL ([`write_postgres`]), in one transaction on SQLite ([`admit`], then the insert).
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
use sqlx::{AnyConnection, Row};

use super::issuance::Issuance;
use crate::db::group_commit::values_placeholders;
use crate::domain::Quota;
pub use window::{OverQuota, Period};

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

/// What a batch asks of one counter.
struct Demand {
    limit: i64,
    /// Tokens of the batch in this window.
    asked: i64,
    /// How many more fit, known once the counter was read.
    room: i64,
    /// How many were admitted.
    admitted: i64,
}

/// Whether any record of the batch is under a quota (otherwise nothing here runs).
pub(super) fn applies(batch: &[Issuance]) -> bool {
    batch.iter().any(|record| !record.quota.is_unlimited())
}

/// Counts the batch's tokens against their clients' quotas on `connection`, inside the caller's
/// transaction, and says for each record, in order, whether it fits. Counters end up holding
/// exactly the tokens admitted.
pub(super) async fn admit(
    connection: &mut AnyConnection,
    batch: &[Issuance],
) -> Result<Vec<Result<(), OverQuota>>, sqlx::Error> {
    let mut demands: BTreeMap<Window<'_>, Demand> = BTreeMap::new();
    for record in batch {
        for (period, limit) in limits(&record.quota) {
            let window = (
                record.client_id.as_str(),
                period,
                period.window_start(record.issued_at),
            );
            let demand = demands.entry(window).or_insert(Demand {
                limit,
                asked: 0,
                room: 0,
                admitted: 0,
            });
            demand.asked += 1;
        }
    }
    if demands.is_empty() {
        return Ok(vec![Ok(()); batch.len()]);
    }
    add_to_counters(connection, &mut demands).await?;
    let outcomes = batch
        .iter()
        .map(|record| {
            let windows: Vec<Window<'_>> = limits(&record.quota)
                .map(|(period, _)| {
                    (
                        record.client_id.as_str(),
                        period,
                        period.window_start(record.issued_at),
                    )
                })
                .collect();
            let full = windows.iter().find_map(|window| {
                let demand = demands.get(window)?;
                (demand.admitted >= demand.room).then_some((window.1, demand.limit))
            });
            match full {
                Some((period, limit)) => Err(OverQuota {
                    period,
                    limit,
                    retry_after_seconds: period.seconds_left(record.issued_at),
                }),
                None => {
                    for window in &windows {
                        if let Some(demand) = demands.get_mut(window) {
                            demand.admitted += 1;
                        }
                    }
                    Ok(())
                }
            }
        })
        .collect();
    take_back_refused(connection, &demands).await?;
    Ok(outcomes)
}

/// The windows of the batch's records under a quota, and for each record (in order) its place in
/// each of its windows: (window key, 1-based rank among the batch's records of that window).
struct Placed<'a> {
    /// Each window with its limit and how many of the batch's records fall in it, in key order.
    windows: BTreeMap<Window<'a>, (i64, i64)>,
    /// Per record: its minute window's start and rank, then its day window's.
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

/// PostgreSQL: counts a batch against its clients' quotas and writes the records that fit, in
/// one statement (one round trip, one commit, as a batch without a quota):
///
/// 1. one upsert adds to each window's counter only what fits (`added`: the batch's records of
///    that window up to the room left), locking the counters' rows, in key order, until the
///    statement commits, and returns `added`;
/// 2. the records whose rank in each of their windows is within that window's `added` are
///    inserted.
///
/// A record refused by one window while another had room for it leaves that other window
/// counting one token too many; a second statement takes those back (only ever for a client at
/// one of its limits, and conservative until it runs: a token too few, never one too many).
pub(super) async fn write_postgres(
    connection: &mut AnyConnection,
    batch: &[Issuance],
) -> Result<Vec<Result<(), OverQuota>>, sqlx::Error> {
    use super::issuance::{bind_record, COLUMNS, RECORD_COLUMNS};
    const WINDOW_PARAMETERS: usize = 5;
    const RECORD_PARAMETERS: usize = COLUMNS + 4;
    let placed = place(batch);
    let window_values = (0..placed.windows.len())
        .map(|w| {
            let p = |i: usize| w * WINDOW_PARAMETERS + i;
            format!(
                "(${}, ${}, ${}, least(${}, ${}), least(${}, ${}), ${}, ${})",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(4),
                p(5),
                p(4),
                p(5)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "with counted as ( \
           insert into quota_windows as q \
             (client_id, period, window_start, tokens, added, requested, ceiling) \
           values {window_values} \
           on conflict (client_id, period, window_start) do update set \
             tokens = q.tokens + least(excluded.requested, greatest(0, excluded.ceiling - q.tokens)), \
             added = least(excluded.requested, greatest(0, excluded.ceiling - q.tokens)), \
             requested = excluded.requested, ceiling = excluded.ceiling \
           returning client_id, period, window_start, added \
         ), record ({RECORD_COLUMNS}, minute_start, minute_rank, day_start, day_rank) as ( \
           values {records} \
         ), inserted as ( \
           insert into issuances ({RECORD_COLUMNS}) \
           select {RECORD_COLUMNS} from record r \
           where (r.minute_start is null or r.minute_rank <= (select c.added from counted c \
                  where c.client_id = r.client_id and c.period = 'minute' \
                  and c.window_start = r.minute_start)) \
             and (r.day_start is null or r.day_rank <= (select c.added from counted c \
                  where c.client_id = r.client_id and c.period = 'day' \
                  and c.window_start = r.day_start)) \
           returning jti \
         ) \
         select client_id as name, period, window_start, added from counted \
         union all select jti, null, null, null from inserted",
        records = values_placeholders(
            batch.len(),
            RECORD_PARAMETERS,
            placed.windows.len() * WINDOW_PARAMETERS + 1
        ),
    );
    let mut query = sqlx::query(&sql);
    for ((client_id, period, start), (limit, asked)) in &placed.windows {
        query = query
            .bind(*client_id)
            .bind(period.as_str())
            .bind(*start)
            .bind(*asked)
            .bind(*limit);
    }
    for (record, [minute, day]) in batch.iter().zip(&placed.places) {
        query = bind_record(query, record)
            .bind(minute.map(|(start, _)| start))
            .bind(minute.map(|(_, rank)| rank))
            .bind(day.map(|(start, _)| start))
            .bind(day.map(|(_, rank)| rank));
    }
    let mut added: BTreeMap<Window<'_>, i64> = BTreeMap::new();
    let mut inserted = std::collections::HashSet::new();
    for row in query.fetch_all(&mut *connection).await? {
        let name: String = row.try_get("name")?;
        let period: Option<String> = row.try_get("period")?;
        match period.as_deref().and_then(Period::parse) {
            None => {
                inserted.insert(name);
            }
            Some(period) => {
                let start: Option<i64> = row.try_get("window_start")?;
                let count: Option<i64> = row.try_get("added")?;
                if let Some(key) = placed
                    .windows
                    .keys()
                    .find(|(id, p, s)| *id == name && *p == period && Some(*s) == start)
                {
                    added.insert(*key, count.unwrap_or(0));
                }
            }
        }
    }
    let mut admitted: BTreeMap<Window<'_>, i64> = BTreeMap::new();
    let outcomes = batch
        .iter()
        .zip(&placed.places)
        .map(|(record, place)| {
            let windows = [Period::Minute, Period::Day]
                .into_iter()
                .zip(place)
                .filter_map(|(period, at)| {
                    at.map(|(start, rank)| ((record.client_id.as_str(), period, start), rank))
                });
            if inserted.contains(&record.jti) {
                for (window, _) in windows {
                    *admitted.entry(window).or_default() += 1;
                }
                return Ok(());
            }
            let (period, limit) = windows
                .filter(|(window, rank)| *rank > added.get(window).copied().unwrap_or(0))
                .find_map(|(window, _)| placed.windows.get(&window).map(|(l, _)| (window.1, *l)))
                .unwrap_or((Period::Minute, 0));
            Err(OverQuota {
                period,
                limit,
                retry_after_seconds: period.seconds_left(record.issued_at),
            })
        })
        .collect();
    for (window, count) in &added {
        let extra = count - admitted.get(window).copied().unwrap_or(0);
        if extra > 0 {
            take_back(connection, window, extra).await?;
        }
    }
    Ok(outcomes)
}

/// Takes `tokens` that were counted but not issued back off a window's counter.
async fn take_back(
    connection: &mut AnyConnection,
    (client_id, period, start): &Window<'_>,
    tokens: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update quota_windows set tokens = tokens - $4 \
         where client_id = $1 and period = $2 and window_start = $3",
    )
    .bind(*client_id)
    .bind(period.as_str())
    .bind(*start)
    .bind(tokens)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Adds every demand's tokens to its counter in one upsert (rows in key order), locking the rows
/// until the transaction ends, and notes how many fitted before them.
async fn add_to_counters(
    connection: &mut AnyConnection,
    demands: &mut BTreeMap<Window<'_>, Demand>,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "insert into quota_windows (client_id, period, window_start, tokens) values {} \
         on conflict (client_id, period, window_start) \
         do update set tokens = quota_windows.tokens + excluded.tokens \
         returning client_id, period, window_start, tokens",
        values_placeholders(demands.len(), 4, 1)
    );
    let mut query = sqlx::query(&sql);
    for ((client_id, period, start), demand) in demands.iter() {
        query = query
            .bind(*client_id)
            .bind(period.as_str())
            .bind(*start)
            .bind(demand.asked);
    }
    for row in query.fetch_all(&mut *connection).await? {
        let client_id: String = row.try_get("client_id")?;
        let period: String = row.try_get("period")?;
        let start: i64 = row.try_get("window_start")?;
        let tokens: i64 = row.try_get("tokens")?;
        let Some(period) = Period::parse(&period) else {
            continue;
        };
        let found = demands
            .iter_mut()
            .find(|((id, p, s), _)| *id == client_id && *p == period && *s == start);
        if let Some((_, demand)) = found {
            let before = tokens - demand.asked;
            demand.room = (demand.limit - before).clamp(0, demand.asked);
        }
    }
    Ok(())
}

/// Takes the tokens that did not fit back off their counters.
async fn take_back_refused(
    connection: &mut AnyConnection,
    demands: &BTreeMap<Window<'_>, Demand>,
) -> Result<(), sqlx::Error> {
    for (window, demand) in demands {
        let refused = demand.asked - demand.admitted;
        if refused > 0 {
            take_back(connection, window, refused).await?;
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

pub mod window;

#[cfg(test)]
mod tests;
