//! PostgreSQL: a batch counted and its fitting records written in one statement.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::{decide, place, take_back_extra, OverQuota, Period, Window};
use crate::db::group_commit::values_placeholders;
use crate::signing::issuance::{bind_record, Issuance, COLUMNS, RECORD_COLUMNS};

/// Counts a batch against its clients' quotas and writes the records that fit, in
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
pub(in crate::signing) async fn write(
    connection: &mut AnyConnection,
    batch: &[Issuance],
) -> Result<Vec<Result<(), OverQuota>>, sqlx::Error> {
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
         ) \
         select client_id, period, window_start, added from counted",
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
    // The counters' `added` is the room each window had; the statement inserted exactly the
    // records `decide` admits by it.
    let mut added: BTreeMap<Window<'_>, i64> = BTreeMap::new();
    for row in query.fetch_all(&mut *connection).await? {
        let client_id: String = row.try_get("client_id")?;
        let period: String = row.try_get("period")?;
        let start: i64 = row.try_get("window_start")?;
        let count: i64 = row.try_get("added")?;
        let key = placed.windows.keys().find(|(id, p, s)| {
            *id == client_id && Some(*p) == Period::parse(&period) && *s == start
        });
        if let Some(key) = key {
            added.insert(*key, count);
        }
    }
    let (outcomes, admitted) = decide(batch, &placed, &added);
    take_back_extra(connection, &added, &admitted).await?;
    Ok(outcomes)
}
