//! Reading and pruning the issuance record: the administrator's report (filtered, newest first,
//! keyset-paginated) and the retention pass that deletes records long past their expiry.
//!
//! Writing stays in [`super::record`]; this module only reads and deletes `issuances` rows, with
//! plain SQL over the pool it is given. It never speaks HTTP: parsing query strings into an
//! [`IssuanceFilter`] is the caller's work.

use chrono::{DateTime, Days, TimeDelta, Utc};
use sqlx::AnyPool;

use crate::db::partitions::{DailyPartitions, Pruned};
use crate::db::Database;

use super::error::SigningError;
pub use crate::db::keyset::Cursor;

/// Rows per page when the caller names no limit.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most rows one page may hold.
pub const MAX_LIMIT: u32 = 1000;
/// Which records to report, and which page.
#[derive(Clone, Debug)]
pub struct IssuanceFilter {
    /// Only records of this client.
    pub client_id: Option<String>,
    /// Only records of this scheme.
    pub scheme: Option<String>,
    /// Only records issued at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only records issued before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only records after this position (the previous page's cursor).
    pub after: Option<Cursor>,
    /// Most records to return, 1..=[`MAX_LIMIT`].
    pub limit: u32,
}

impl Default for IssuanceFilter {
    fn default() -> Self {
        Self {
            client_id: None,
            scheme: None,
            since: None,
            until: None,
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// One issuance as recorded (never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedIssuance {
    /// The token's `jti`.
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The scheme that issued it.
    pub scheme: String,
    /// Its `sub`.
    pub subject: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its state, if any.
    pub state: Option<String>,
    /// The caller's network address.
    pub caller_ip: Option<String>,
    /// The address the caller declared.
    pub declared_ip: Option<String>,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// For an exchanged token: its trust policy and the outside token's issuer and subject.
    pub provenance: Option<crate::signing::Provenance>,
}

/// One page of the report, newest first.
#[derive(Clone, Debug)]
pub struct IssuancePage {
    /// The records.
    pub items: Vec<RecordedIssuance>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A value bound to a numbered placeholder.
enum Bind<'a> {
    Text(&'a str),
    Number(i64),
}

/// One page of the issuance record matching `filter`, newest first (ties by `jti`, descending).
///
/// Every page is read from an index in exactly its order: `(client_id, issued_at, jti)` when the
/// filter names a client, else `(scheme, issued_at, jti)`. Without a client or a scheme, the
/// newest rows of each recorded scheme are read that way and merged, which costs one short index
/// scan per scheme (a handful) instead of a third index on every token's insert.
#[tracing::instrument(skip_all, fields(limit = filter.limit))]
pub async fn list(pool: &AnyPool, filter: &IssuanceFilter) -> Result<IssuancePage, SigningError> {
    let limit = filter.limit.clamp(1, MAX_LIMIT);
    // One row more than asked tells whether another page exists.
    let fetch = i64::from(limit) + 1;
    if filter.client_id.is_some() || filter.scheme.is_some() {
        let rows = rows(pool, filter, filter.scheme.as_deref(), fetch).await?;
        return page(rows, limit as usize);
    }
    let mut merged = Vec::new();
    for scheme in recorded_schemes(pool).await? {
        merged.extend(rows(pool, filter, Some(&scheme), fetch).await?);
    }
    merged.sort_by(|a, b| (b.8, &b.0).cmp(&(a.8, &a.0)));
    merged.truncate(fetch as usize);
    page(merged, limit as usize)
}

/// Every scheme the record holds, by a loose index scan of `(scheme, issued_at, jti)`: one index
/// probe per scheme, however many rows each has.
async fn recorded_schemes(pool: &AnyPool) -> Result<Vec<String>, SigningError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "with recursive schemes (scheme) as ( \
             select min(scheme) from issuances \
             union all \
             select (select min(i.scheme) from issuances i where i.scheme > s.scheme) \
             from schemes s where s.scheme is not null) \
         select scheme from schemes where scheme is not null",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(scheme,)| scheme).collect())
}

/// At most `fetch` rows matching `filter`, with `scheme` in place of the filter's, newest first.
async fn rows(
    pool: &AnyPool,
    filter: &IssuanceFilter,
    scheme: Option<&str>,
    fetch: i64,
) -> Result<Vec<Row>, SigningError> {
    let mut binds: Vec<Bind<'_>> = Vec::new();
    let mut param = |value| {
        binds.push(value);
        format!("${}", binds.len())
    };
    let mut sql = String::from(
        "select jti, client_id, scheme, subject, scopes, state, caller_ip, declared_ip, \
         issued_at, expires_at, revoked_at, trust_policy_id, external_issuer, external_subject \
         from issuances where 1 = 1",
    );
    if let Some(client_id) = &filter.client_id {
        sql.push_str(&format!(
            " and client_id = {}",
            param(Bind::Text(client_id))
        ));
    }
    if let Some(scheme) = scheme {
        sql.push_str(&format!(" and scheme = {}", param(Bind::Text(scheme))));
    }
    if let Some(since) = filter.since {
        let since = param(Bind::Number(since.timestamp_millis()));
        sql.push_str(&format!(" and issued_at >= {since}"));
    }
    if let Some(until) = filter.until {
        let until = param(Bind::Number(until.timestamp_millis()));
        sql.push_str(&format!(" and issued_at < {until}"));
    }
    if let Some(after) = &filter.after {
        let at = param(Bind::Number(after.at_millis));
        let jti = param(Bind::Text(&after.id));
        // A row-value comparison, which both databases use as a bound on the (…, issued_at, jti)
        // indexes, so the page after a cursor starts there instead of filtering newer rows.
        sql.push_str(&format!(" and (issued_at, jti) < ({at}, {jti})"));
    }
    let fetch = param(Bind::Number(fetch));
    sql.push_str(&format!(" order by issued_at desc, jti desc limit {fetch}"));
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for value in binds {
        query = match value {
            Bind::Text(text) => query.bind(text),
            Bind::Number(number) => query.bind(number),
        };
    }
    Ok(query.fetch_all(pool).await?)
}

fn page(rows: Vec<Row>, limit: usize) -> Result<IssuancePage, SigningError> {
    let more = rows.len() > limit;
    let items = rows
        .into_iter()
        .take(limit)
        .map(recorded)
        .collect::<Result<Vec<_>, _>>()?;
    let next = match items.last() {
        Some(last) if more => Some(Cursor {
            at_millis: last.issued_at.timestamp_millis(),
            id: last.jti.clone(),
        }),
        _ => None,
    };
    Ok(IssuancePage { items, next })
}

fn recorded(row: Row) -> Result<RecordedIssuance, SigningError> {
    let (jti, client_id, scheme, subject, scopes, state, caller_ip, declared_ip, iat, exp, rev) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10,
    );
    let provenance = match (row.11, row.12, row.13) {
        (Some(trust_policy_id), Some(issuer), Some(subject)) => Some(crate::signing::Provenance {
            trust_policy_id,
            issuer,
            subject,
        }),
        _ => None,
    };
    let instant = |millis: i64| {
        DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| anyhow::anyhow!("issuance {jti} has an impossible timestamp {millis}"))
    };
    Ok(RecordedIssuance {
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        issued_at: instant(iat)?,
        expires_at: instant(exp)?,
        revoked_at: rev.map(instant).transpose()?,
        jti,
        client_id,
        scheme,
        subject,
        state,
        caller_ip,
        declared_ip,
        provenance,
    })
}

/// The issuance record, partitioned by day of expiry on PostgreSQL (see `db::partitions`).
pub const RECORD: DailyPartitions = DailyPartitions {
    table: "issuances",
    column: "expires_at",
};

/// Days of partitions kept ready past the longest token life, so that a retention pass that
/// fails (or an instance that is down) for a day still leaves every new record a partition.
const DAYS_AHEAD: u64 = 2;

/// Creates the issuance record's partitions (PostgreSQL) for every day a token issued from `now`
/// on can expire in, and a margin ahead: `max_ttl_cap_minutes` plus [`DAYS_AHEAD`]. Returns how
/// many it created; safe on several instances at once.
pub async fn prepare_partitions(
    db: &Database,
    now: DateTime<Utc>,
    max_ttl_cap_minutes: i64,
) -> Result<u64, SigningError> {
    let through = now
        .checked_add_signed(TimeDelta::try_minutes(max_ttl_cap_minutes).unwrap_or(TimeDelta::MAX))
        .and_then(|at| at.checked_add_days(Days::new(DAYS_AHEAD)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    Ok(RECORD.prepare(db, now, through).await?)
}

/// Removes the records of tokens that expired before `expired_before`. On PostgreSQL a day's
/// partition goes whole once its last expiry is before the cut-off (so a record may stay up to a
/// day longer than on SQLite), and only the default and legacy partitions are pruned row by row;
/// on SQLite rows are deleted, at most `batch_size` per statement, until none is left. Safe to run
/// on several instances at once: each statement deletes only rows that still match, and each
/// partition is dropped by one of them.
#[tracing::instrument(skip_all, fields(batch_size = batch_size))]
pub async fn prune_expired(
    db: &Database,
    expired_before: DateTime<Utc>,
    batch_size: u32,
) -> Result<Pruned, SigningError> {
    // The outer condition repeats the inner one so that PostgreSQL re-checks it on rows a
    // concurrent transaction changed while this statement waited for their locks.
    Ok(RECORD
        .prune(
            db,
            Some(expired_before),
            expired_before,
            "delete from {table} where expires_at < $1 and jti in \
             (select jti from {table} where expires_at < $1 limit $2)",
            batch_size,
        )
        .await?)
}

/// How many tokens one scheme issued in one hour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HourlyCount {
    /// The hour's first instant (UTC).
    pub hour: DateTime<Utc>,
    /// The scheme.
    pub scheme: String,
    /// Tokens issued in that hour by that scheme.
    pub tokens: i64,
}

/// Tokens issued per hour and scheme between `since` (inclusive) and `until` (exclusive), under
/// the filter's client and scheme (its cursor and limit do not apply), by hour then scheme.
///
/// Both bounds are taken to whole hours (`since` down, `until` up). The figures come from the
/// hourly rollup (`issuance_hours`), which the database adds to in the statement that inserts the
/// records, so they agree with the record while its rows are kept and cost a few rows per hour
/// to read however many tokens an hour holds.
pub async fn hourly_counts(
    pool: &AnyPool,
    filter: &IssuanceFilter,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<HourlyCount>, SigningError> {
    let mut sql = String::from(
        "select hour, scheme, cast(sum(tokens) as bigint) as tokens from issuance_hours \
         where hour >= $1 and hour < $2",
    );
    let mut next = 3;
    if filter.client_id.is_some() {
        sql.push_str(&format!(" and client_id = ${next}"));
        next += 1;
    }
    if filter.scheme.is_some() {
        sql.push_str(&format!(" and scheme = ${next}"));
    }
    sql.push_str(" group by hour, scheme order by hour, scheme");
    let mut query = sqlx::query_as::<_, (i64, String, i64)>(&sql)
        .bind(since.timestamp_millis().div_euclid(HOUR_MILLIS))
        .bind(hour_ceiling(until));
    if let Some(client_id) = &filter.client_id {
        query = query.bind(client_id.as_str());
    }
    if let Some(scheme) = &filter.scheme {
        query = query.bind(scheme.as_str());
    }
    let rows = query.fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(hour, scheme, tokens)| {
            let hour = DateTime::from_timestamp_millis(hour.checked_mul(HOUR_MILLIS)?)?;
            Some(HourlyCount {
                hour,
                scheme,
                tokens,
            })
        })
        .collect())
}

/// Deletes the hourly figures of hours that ended before `ended_before` (whole hours only), at
/// most `batch_size` rows per statement; returns how many rows it deleted.
#[tracing::instrument(skip_all, fields(batch_size = batch_size))]
pub async fn prune_hours(
    pool: &AnyPool,
    ended_before: DateTime<Utc>,
    batch_size: u32,
) -> Result<u64, SigningError> {
    // An hour ended before the cut-off when the next one starts at or before it: `hour` is below
    // the cut-off's whole hours. The outer condition is re-checked as in `prune_expired`.
    Ok(crate::db::delete_in_batches(
        pool,
        "delete from issuance_hours where hour < $1 / 3600000 \
         and (hour, scheme, client_id, writer) in (select hour, scheme, client_id, writer \
         from issuance_hours where hour < $1 / 3600000 limit $2)",
        ended_before,
        batch_size,
    )
    .await?)
}

/// Milliseconds in an hour, the rollup's unit.
pub(crate) const HOUR_MILLIS: i64 = 3_600_000;

/// The first whole hour (hours since the epoch) at or after `at`.
pub(crate) fn hour_ceiling(at: DateTime<Utc>) -> i64 {
    let millis = at.timestamp_millis();
    millis.div_euclid(HOUR_MILLIS) + i64::from(millis.rem_euclid(HOUR_MILLIS) > 0)
}

#[cfg(test)]
mod tests;
