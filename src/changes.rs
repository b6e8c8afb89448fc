//! Change notifications between instances that share one PostgreSQL database.
//!
//! Every committed change that invalidates what an instance keeps in memory (a client's cached
//! authentications, or the signing key set) is announced on the PostgreSQL channel [`CHANNEL`]
//! from inside its own transaction: `pg_notify` is delivered only when that transaction commits,
//! so the announcement can neither precede the change nor be lost while the change commits. The
//! payload names what changed and never carries a secret: `client:<id>`, `all` or `keys`.
//!
//! This is the one place that knows PostgreSQL's NOTIFY; on SQLite, which serves exactly one
//! instance by design, [`announce`] does nothing. The receiving side, which applies a change to
//! this instance's caches and keys, is [`crate::sync`]. This module must not import `registry`
//! or `signing`: both of them call it.

use sqlx::AnyConnection;

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

/// Announces `change` on `conn`, which should be the transaction making the change (delivery
/// happens at its commit). A no-op on SQLite.
pub async fn announce(conn: &mut AnyConnection, change: Change<'_>) -> Result<(), sqlx::Error> {
    if conn.backend_name() != "PostgreSQL" {
        return Ok(());
    }
    // As text: the Any driver has no mapping for PostgreSQL's `void`.
    sqlx::query("select pg_notify($1, $2)::text as notified")
        .bind(CHANNEL)
        .bind(change.payload())
        .execute(conn)
        .await
        .map(|_| ())
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
