//! Change notifications between the processes that share one database: instances on
//! PostgreSQL, the service and the management commands on SQLite.
//!
//! Every committed change that invalidates what an instance keeps in memory (a client's cached
//! authentications, or the signing key set) is announced on the PostgreSQL channel [`CHANNEL`]
//! from inside its own transaction: `pg_notify` is delivered only when that transaction commits,
//! so the announcement can neither precede the change nor be lost while the change commits. The
//! payload names what changed and never carries a secret: `client:<id>`, `all` or `keys`.
//!
//! SQLite has no NOTIFY. There the same payload is appended to the `change_log` table, again
//! inside the transaction making the change, and the service reads the entries after the last
//! one it saw a few times a second ([`read_since`]): a `tokenmint client suspend` run while
//! `cargo run` serves reaches it within [`crate::sync::POLL_INTERVAL`]. Only the newest
//! [`KEPT_ENTRIES`] entries are kept.
//!
//! This is the one place that knows how changes travel. The receiving side, which applies a
//! change to this instance's caches and keys, is [`crate::sync`]. This module must not import
//! `registry` or `signing`: both of them call it.

use sqlx::{AnyConnection, AnyPool};

/// The PostgreSQL notification channel every instance listens on.
pub const CHANNEL: &str = "tokenmint_changes";

/// What changed, as announced to the other instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    /// A client, its policy or one of its credentials (by client id).
    Client(&'a str),
    /// Something whose client is not at hand: every cached authentication is suspect.
    All,
    /// The signing key set (a rotation).
    Keys,
}

impl<'a> Change<'a> {
    /// The notification payload.
    pub fn payload(&self) -> String {
        match self {
            Self::Client(id) => format!("client:{id}"),
            Self::All => "all".to_owned(),
            Self::Keys => "keys".to_owned(),
        }
    }

    /// Reads a payload; `None` for one this version does not know (ignored by the listener).
    pub fn parse(payload: &'a str) -> Option<Self> {
        match payload {
            "all" => Some(Self::All),
            "keys" => Some(Self::Keys),
            _ => payload
                .strip_prefix("client:")
                .filter(|id| !id.is_empty())
                .map(Self::Client),
        }
    }
}

/// How many `change_log` entries SQLite keeps: far more than a reader polling a few times a
/// second could fall behind by; one that does sees a gap and forgets everything.
pub const KEPT_ENTRIES: i64 = 1000;

/// Announces `change` on `conn`, which should be the transaction making the change (delivery
/// happens at its commit): a notification on PostgreSQL, a `change_log` entry on SQLite.
pub async fn announce(conn: &mut AnyConnection, change: Change<'_>) -> Result<(), sqlx::Error> {
    if conn.backend_name() == "PostgreSQL" {
        // As text: the Any driver has no mapping for PostgreSQL's `void`.
        sqlx::query("select pg_notify($1, $2)::text as notified")
            .bind(CHANNEL)
            .bind(change.payload())
            .execute(conn)
            .await
            .map(|_| ())
    } else {
        sqlx::query("insert into change_log (change) values ($1)")
            .bind(change.payload())
            .execute(&mut *conn)
            .await?;
        sqlx::query("delete from change_log where seq <= last_insert_rowid() - $1")
            .bind(KEPT_ENTRIES)
            .execute(conn)
            .await
            .map(|_| ())
    }
}

/// The `change_log` entries after `seq` (SQLite), oldest first, as `(seq, payload)`, and the
/// newest sequence number there is (`seq` itself when nothing is new).
pub async fn read_since(
    pool: &AnyPool,
    seq: i64,
) -> Result<(i64, Vec<(i64, String)>), sqlx::Error> {
    let entries: Vec<(i64, String)> =
        sqlx::query_as("select seq, change from change_log where seq > $1 order by seq")
            .bind(seq)
            .fetch_all(pool)
            .await?;
    let newest = entries.last().map_or(seq, |(last, _)| *last);
    Ok((newest, entries))
}

/// The newest `change_log` sequence number (SQLite), 0 for an empty log: where a reader
/// starting now begins.
pub async fn newest(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select coalesce(max(seq), 0) from sqlite_sequence where name = 'change_log'",
    )
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_as_the_change_they_name() {
        for change in [Change::Client("c-1"), Change::All, Change::Keys] {
            assert_eq!(Change::parse(&change.payload()), Some(change));
        }
        assert_eq!(Change::parse("client:"), None);
        assert_eq!(Change::parse("something-new"), None);
    }
}
