//! Reading the audit trail: filtered by actor, action, target and time, newest first, in pages
//! linked by an opaque cursor (the same keyset pagination as the issuance record).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::AnyPool;

use crate::db::keyset::Cursor;

/// Which events to read, and which page.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only events by this actor (its name as the trail shows it).
    pub actor: Option<String>,
    /// Only events of this action.
    pub action: Option<String>,
    /// Only events about this target.
    pub target: Option<String>,
    /// Only events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only events after this position (the previous page's cursor).
    pub after: Option<Cursor>,
    /// Most events to return.
    pub limit: u32,
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    /// Its id.
    pub id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// To what.
    pub target: String,
    /// The new values of what changed.
    pub details: Value,
}

/// One page, newest first.
#[derive(Clone, Debug)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<RecordedEvent>,
    /// Where the next page starts; `None` on the last.
    pub next: Option<Cursor>,
}

type Row = (String, i64, String, String, String, String);

/// A value bound to the query being built.
enum Bind<'a> {
    Text(&'a str),
    Number(i64),
}

/// One page of the trail.
pub async fn list(pool: &AnyPool, filter: &AuditFilter) -> Result<AuditPage, sqlx::Error> {
    let mut binds: Vec<Bind<'_>> = Vec::new();
    let mut param = |value| {
        binds.push(value);
        format!("${}", binds.len())
    };
    let mut sql =
        String::from("select id, at, actor, action, target, details from audit_events where 1 = 1");
    for (column, value) in [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("target", &filter.target),
    ] {
        if let Some(value) = value {
            sql.push_str(&format!(" and {column} = {}", param(Bind::Text(value))));
        }
    }
    if let Some(since) = filter.since {
        sql.push_str(&format!(
            " and at >= {}",
            param(Bind::Number(since.timestamp_millis()))
        ));
    }
    if let Some(until) = filter.until {
        sql.push_str(&format!(
            " and at < {}",
            param(Bind::Number(until.timestamp_millis()))
        ));
    }
    if let Some(after) = &filter.after {
        let at = param(Bind::Number(after.at_millis));
        let id = param(Bind::Text(&after.id));
        sql.push_str(&format!(" and (at, id) < ({at}, {id})"));
    }
    let fetch = i64::from(filter.limit) + 1;
    sql.push_str(&format!(
        " order by at desc, id desc limit {}",
        param(Bind::Number(fetch))
    ));
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for value in binds {
        query = match value {
            Bind::Text(text) => query.bind(text),
            Bind::Number(number) => query.bind(number),
        };
    }
    let rows = query.fetch_all(pool).await?;
    let more = rows.len() > filter.limit as usize;
    let events: Vec<RecordedEvent> = rows
        .into_iter()
        .take(filter.limit as usize)
        .map(|(id, at, actor, action, target, details)| RecordedEvent {
            at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
            details: serde_json::from_str(&details).unwrap_or(Value::Null),
            id,
            actor,
            action,
            target,
        })
        .collect();
    let next = match events.last() {
        Some(last) if more => Some(Cursor {
            at_millis: last.at.timestamp_millis(),
            id: last.id.clone(),
        }),
        _ => None,
    };
    Ok(AuditPage { events, next })
}
