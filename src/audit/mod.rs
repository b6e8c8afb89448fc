//! The audit trail: who changed what. Every state-changing administrative action, from the admin
//! API, the console or the command line, writes one [`Event`] with [`record`] on the transaction
//! that makes the change, so the change and its event commit together or not at all. The trail
//! is read page by page with [`list`] (`GET /admin/audit-events`).
//!
//! An event names its actor (an administrator's name, `bootstrap`, `cli:<os user>`,
//! `client:<id>` for a client's own changes in the portal, or `service:<what>`), an action (`client.create`, `api_key.revoke`, ...), a target (the id of
//! what changed) and details: the changed fields' new values, never a secret, API key, token or
//! private key. Its callers are `registry`, `signing` and the adapters above them; this module
//! imports neither (like `changes`, it is a leaf both call).

mod report;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::AnyConnection;

pub use report::{list, AuditFilter, AuditPage, RecordedEvent};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An administrator, by name (admin API or console).
    Administrator(String),
    /// The bootstrap administrator (`TOKENMINT_ADMIN_TOKEN`).
    Bootstrap,
    /// The command line, run by this operating-system user.
    CommandLine(String),
    /// A client acting on its own credentials (the portal, the sandbox's `POST /test-api-keys`).
    Client(String),
    /// The service itself (the sandbox's demo client, for instance).
    Service(&'static str),
}

impl Actor {
    /// The command line's actor: the operating-system user running it (`USER`, else `LOGNAME`,
    /// else `unknown`).
    pub fn command_line(user: Option<String>) -> Self {
        Self::CommandLine(
            user.filter(|u| !u.is_empty())
                .unwrap_or_else(|| "unknown".into()),
        )
    }

    /// The name the trail shows and filters by.
    pub fn name(&self) -> String {
        match self {
            Self::Administrator(name) => name.clone(),
            Self::Bootstrap => "bootstrap".into(),
            Self::CommandLine(user) => format!("cli:{user}"),
            Self::Client(id) => format!("client:{id}"),
            Self::Service(what) => format!("service:{what}"),
        }
    }
}

/// One change, as the trail records it.
#[derive(Clone, Debug)]
pub struct Event {
    /// What was done: `<kind>.<verb>`, e.g. `client.update`.
    pub action: &'static str,
    /// The id of what it was done to.
    pub target: String,
    /// The new values of what changed, without secrets; `{}` when nothing more is worth saying.
    pub details: Value,
}

impl Event {
    /// An event without details.
    pub fn new(action: &'static str, target: impl Into<String>) -> Self {
        Self {
            action,
            target: target.into(),
            details: Value::Object(Default::default()),
        }
    }

    /// The same event with these details.
    pub fn with(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Writes `event` by `actor` at `at` on `conn`, which should be the transaction making the
/// change.
pub async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    event: Event,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_events (id, at, actor, action, target, details) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(at.timestamp_millis())
    .bind(actor.name())
    .bind(event.action)
    .bind(event.target)
    .bind(event.details.to_string())
    .execute(conn)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_named_apart() {
        assert_eq!(Actor::Administrator("alice".into()).name(), "alice");
        assert_eq!(Actor::Bootstrap.name(), "bootstrap");
        assert_eq!(Actor::command_line(Some("root".into())).name(), "cli:root");
        assert_eq!(Actor::command_line(None).name(), "cli:unknown");
        assert_eq!(Actor::Service("sandbox").name(), "service:sandbox");
        assert_eq!(Actor::Client("demo".into()).name(), "client:demo");
    }
}
