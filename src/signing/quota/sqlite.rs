//! SQLite: a batch counted in the caller's transaction, before its fitting records are inserted.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::{decide, place, take_back_extra, OverQuota, Period, Window};
use crate::db::group_commit::values_placeholders;
use crate::signing::issuance::Issuance;

/// Counts the batch's tokens against their clients' quotas on `connection`, inside the caller's
/// transaction: one upsert adds every window's records to its counter (rows in key order,
/// locked until the transaction ends) and returns the new totals, from which each window's
/// room follows; what did not fit is taken back. Says for each record, in order, whether it fits.
pub(in crate::signing) async fn admit(
    connection: &mut AnyConnection,
    batch: &[Issuance],
) -> Result<Vec<Result<(), OverQuota>>, sqlx::Error> {
    let placed = place(batch);
    if placed.windows.is_empty() {
        return Ok(vec![Ok(()); batch.len()]);
    }
    let sql = format!(
        "insert into quota_windows (client_id, period, window_start, tokens) values {} \
         on conflict (client_id, period, window_start) \
         do update set tokens = quota_windows.tokens + excluded.tokens \
         returning client_id, period, window_start, tokens",
        values_placeholders(placed.windows.len(), 4, 1)
    );
    let mut query = sqlx::query(&sql);
    for ((client_id, period, start), (_, asked)) in &placed.windows {
        query = query
            .bind(*client_id)
            .bind(period.as_str())
            .bind(*start)
            .bind(*asked);
    }
    let mut room: BTreeMap<Window<'_>, i64> = BTreeMap::new();
    for row in query.fetch_all(&mut *connection).await? {
        let client_id: String = row.try_get("client_id")?;
        let period: String = row.try_get("period")?;
        let start: i64 = row.try_get("window_start")?;
        let tokens: i64 = row.try_get("tokens")?;
        let found = placed.windows.iter().find(|((id, p, s), _)| {
            *id == client_id && Some(*p) == Period::parse(&period) && *s == start
        });
        if let Some((key, (limit, asked))) = found {
            let before = tokens - asked;
            room.insert(*key, (limit - before).clamp(0, *asked));
        }
    }
    let (outcomes, admitted) = decide(batch, &placed, &room);
    let counted: BTreeMap<Window<'_>, i64> = placed
        .windows
        .iter()
        .map(|(window, (_, asked))| (*window, *asked))
        .collect();
    take_back_extra(connection, &counted, &admitted).await?;
    Ok(outcomes)
}
