//! Following the changes other instances make: the listening side of [`crate::changes`].
//!
//! On PostgreSQL every instance holds one dedicated connection (application name
//! [`APPLICATION_NAME`]) that `LISTEN`s on [`changes::CHANNEL`], and applies each announcement to
//! its own memory: `client:<id>` forgets that client's cached authentications, `all` forgets
//! every one, `keys` re-reads the signing key set. Its own announcements come back too; applying
//! them again is harmless.
//!
//! It fails closed. A notification sent while the connection is down is lost for good, so from
//! the moment a loss is seen (the connection ends, or does not answer a heartbeat within
//! `[database] change_heartbeat_seconds` of silence) until it listens again, the registry's
//! caches are distrusted (every authentication takes the database and argon2 path). Once it
//! listens again it forgets everything cached and re-reads the keys, since changes may have been
//! missed, and only then trusts the caches again. The periodic key reload in [`crate::serve`]
//! stays as a safety net.
//!
//! SQLite serves a single instance by design, but the management commands are other processes
//! writing the same file. There the service reads the `change_log` entries it has not seen every
//! [`POLL_INTERVAL`] ([`changes::read_since`]) and applies them the same way. It fails closed
//! too: while a read fails, or when entries were pruned before it read them, the caches are
//! distrusted, then forgotten.

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use crate::changes::{self, Change};
use crate::db::Backend;
use crate::state::AppState;

/// The `application_name` of the listening connection, so operators can tell it apart.
pub const APPLICATION_NAME: &str = "tokenmint-changes";

/// Longest pause between two attempts to listen again.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// How often a service on SQLite reads the change log: a change another process commits reaches
/// it within this interval (plus the time to apply it).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Follows the changes other processes make until the task is aborted: the notification
/// channel on PostgreSQL, the change log on SQLite.
pub async fn follow_changes(state: AppState) {
    match state.db.backend() {
        Backend::Postgres => follow_channel(state).await,
        Backend::Sqlite => follow_log(state).await,
    }
}

/// Reads the SQLite change log every [`POLL_INTERVAL`] and applies what is new.
async fn follow_log(state: AppState) {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The last entry applied; `None` until the log has been read (or after a failed read).
    let mut seen: Option<i64> = None;
    loop {
        ticker.tick().await;
        let read = match seen {
            Some(seq) => changes::read_since(state.db.pool(), seq).await,
            None => changes::newest(state.db.pool())
                .await
                .map(|newest| (newest, Vec::new())),
        };
        match read {
            Ok((newest, entries)) => {
                let in_step = seen
                    .is_some_and(|seq| entries.first().is_none_or(|(first, _)| *first == seq + 1));
                if in_step {
                    for (_, payload) in &entries {
                        apply(&state, payload).await;
                    }
                } else {
                    // A start, a recovery or a gap: whatever changed meanwhile is unknown.
                    state.registry.forget_all();
                    reload_keys(&state).await;
                    state.registry.set_caches_trusted(true);
                }
                seen = Some(newest);
            }
            Err(err) => {
                if seen.take().is_some() {
                    state.registry.set_caches_trusted(false);
                    tracing::warn!(
                        error = %err,
                        "cannot read the change log; verified-credential caches bypassed until back"
                    );
                }
            }
        }
    }
}

/// Follows the change channel until the task is aborted, reconnecting whenever it is lost.
async fn follow_channel(state: AppState) {
    let heartbeat = Duration::from_secs(state.settings.database.change_heartbeat_seconds.max(1));
    let mut delay = Duration::from_millis(100);
    loop {
        // Until the next LISTEN is in place, changes elsewhere may go unseen.
        state.registry.set_caches_trusted(false);
        match listen(&state).await {
            Ok(mut listener) => {
                state.registry.forget_all();
                reload_keys(&state).await;
                state.registry.set_caches_trusted(true);
                tracing::info!("following change notifications");
                delay = Duration::from_millis(100);
                let why = receive(&state, &mut listener, heartbeat).await;
                state.registry.set_caches_trusted(false);
                tracing::warn!(
                    reason = why,
                    "change notifications lost; verified-credential caches bypassed until back"
                );
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for change notifications");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY_DELAY);
            }
        }
    }
}

/// A fresh connection listening on the channel.
async fn listen(state: &AppState) -> Result<PgListener, sqlx::Error> {
    let options = PgConnectOptions::from_str(state.settings.database.url.expose_secret())?
        .application_name(APPLICATION_NAME);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    // A loss is handled by `follow_changes` (distrust first, then listen again), not inside.
    listener.eager_reconnect(false);
    listener.listen(changes::CHANNEL).await?;
    Ok(listener)
}

/// Applies notifications until the connection is lost; returns why it ended.
async fn receive(state: &AppState, listener: &mut PgListener, heartbeat: Duration) -> &'static str {
    loop {
        // `try_recv` is cancel-safe: a heartbeat timeout loses no notification.
        match tokio::time::timeout(heartbeat, listener.try_recv()).await {
            Ok(Ok(Some(notification))) => apply(state, notification.payload()).await,
            Ok(Ok(None)) => return "connection closed",
            Ok(Err(_)) => return "connection failed",
            Err(_silence) => {
                let ping = sqlx::query("select 1").execute(&mut *listener);
                if !matches!(tokio::time::timeout(heartbeat, ping).await, Ok(Ok(_))) {
                    return "heartbeat unanswered";
                }
            }
        }
    }
}

/// Applies one announcement to this instance.
async fn apply(state: &AppState, payload: &str) {
    match Change::parse(payload) {
        Some(Change::Client(id)) => state.registry.forget_client(id),
        Some(Change::All) => state.registry.forget_all(),
        Some(Change::Keys) => reload_keys(state).await,
        None => tracing::debug!("unknown change notification ignored"),
    }
}

async fn reload_keys(state: &AppState) {
    if let Err(err) = state.signer.reload(state.clock.now()).await {
        tracing::warn!(error = %err, "could not reload signing keys");
    }
}
