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
//! SQLite serves a single instance by design (one file, no notifications): nothing runs there.

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use crate::changes::{self, Change};
use crate::state::AppState;

/// The `application_name` of the listening connection, so operators can tell it apart.
pub const APPLICATION_NAME: &str = "tokenmint-changes";

/// Longest pause between two attempts to listen again.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Follows the change channel until the task is aborted, reconnecting whenever it is lost.
pub async fn follow_changes(state: AppState) {
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
