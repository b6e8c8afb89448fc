//! tokenmint: issues signed JWT access tokens to third-party backends through several documented
//! token schemes, over one client registry and one signing core.
//!
//! Module map, from the top floor down (dependencies run one way: `app` → `schemes`/`admin` →
//! `http` → `state` → `registry` + `signing` → `db`, `config`, `domain`):
//! - [`app`]: the router assembled from every scheme in `schemes::ALL`, the admin API, health,
//!   `/v1/me`, the metrics endpoint, the RFC 8414 metadata, OpenAPI and Swagger UI.
//! - [`cli`]: the subcommands of the binary, over the same registry and signing functions.
//! - [`schemes`]: one adapter per token route, each declared once, and the one list of them;
//!   the standard OAuth routes (introspection, revocation).
//! - [`admin`]: the admin API (imports no scheme).
//! - [`web`]: the web pages (the landing page at `/`), server-rendered over the same floors.
//! - [`sandbox`]: development conveniences of sandbox mode.
//! - [`http`]: the toolkit: errors, extractors, the observe layer, the one guarded
//!   authentication path, Basic parsing, grant-type URIs and the shape of a scheme declaration.
//! - [`state`]: `AppState`, handles only.
//! - [`limits`]: the failure budgets (brute-force limits) the guarded path checks.
//! - [`telemetry`]: logging set-up, Prometheus metrics and per-request facts.
//! - [`registry`]: clients and credentials, and all of their SQL.
//! - [`signing`]: policy, keys, signing, verification and the issuance record.
//! - [`remote_keys`]: outsiders' public keys (a client's `jwks_uri` or registered `jwks`, an
//!   external issuer's JWKS), fetched under the URL policy and cached per source.
//! - [`single_use`]: a record an issuance consumes (an assertion's `jti`, a refreshed AuthToken),
//!   claimed by the registry and kept or released by the signing core.
//! - [`mail`]: outgoing e-mail through the configured SMTP relay.
//! - [`usage`]: refused token requests per client, day, scheme and reason (the usage report's
//!   refusals), counted in memory and flushed every few seconds.
//! - [`retention`]: the job that prunes rows long past expiry (through `signing` and `registry`).
//! - [`audit`]: the audit trail: who changed what, written in the transaction of the change.
//! - [`changes`]: announcing committed changes to the other processes (PostgreSQL NOTIFY, or
//!   the SQLite change log).
//! - [`sync`]: following those announcements: caches and keys, failing closed when cut off.
//! - [`db`]: the pool and migrations for PostgreSQL and SQLite.
//! - [`config`]: `Settings`, the only reader of environment variables.
//! - [`jws`]: the header rules every JWS from outside passes first (no `crit`, RFC 7515 §4.1.11).
//! - [`domain`]: value types shared by registry and signing (`ClientId`, `ClientPolicy`, ...).
//! - [`clock`]: the source of "now" (`SystemClock`, and `FixedClock` for tests).
//! - `fuzzing` (hidden): entry points for the fuzz targets in `fuzz/`.

pub mod admin;
pub mod app;
pub mod audit;
pub mod changes;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod jws;
pub mod limits;
pub mod mail;
pub mod registry;
pub mod remote_keys;
pub mod retention;
pub mod sandbox;
pub mod schemes;
pub mod signing;
pub mod single_use;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod usage;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

pub use state::AppState;

/// Serves the application on `listener` until `shutdown` completes, then finishes in-flight
/// requests. Also keeps this instance's key set fresh, follows the changes other instances make
/// (other instances, or management commands on SQLite), prunes its failure budgets, adds its
/// issued tokens to the hourly figures, writes its credentials' uses (`last_used_at`) and, when
/// enabled, runs the retention job; the background tasks stop with the service.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let reload = tokio::spawn(reload_keys(state.clone()));
    let follow = tokio::spawn(sync::follow_changes(state.clone()));
    let prune = tokio::spawn(prune_failure_budgets(state.clone()));
    let flush = tokio::spawn(flush_periodically(state.clone()));
    // The retention job starts no pass once shutdown begins; one still running is cut short
    // below, between or inside its bounded delete statements, each of which is atomic.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let retention = state
        .settings
        .retention
        .enabled
        .then(|| tokio::spawn(retention::run_periodically(state.clone(), stop)));
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let tallies = state.clone();
    let app = app::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    reload.abort();
    follow.abort();
    prune.abort();
    if let Some(retention) = retention {
        retention.abort();
    }
    flush.abort();
    // What was counted since the last flush is written before the process ends.
    flush_tallies(&tallies, true).await;
    served
}

/// Seconds between two flushes of this instance's in-memory tallies.
const FLUSH_SECONDS: u64 = 5;

/// Flushes this instance's tallies every few seconds (see [`flush_tallies`]).
async fn flush_periodically(state: AppState) {
    let mut ticker = tokio::time::interval(Duration::from_secs(FLUSH_SECONDS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        flush_tallies(&state, false).await;
    }
}

/// Adds the tokens this instance issued to the hourly figures the console's chart and the usage
/// report read (see `signing::record`), the refusals it counted to the usage report's (see
/// [`usage`]), and writes the uses of credentials it noted into their `last_used_at` (see
/// `registry::last_use`); a failed flush keeps its tally for the next.
async fn flush_tallies(state: &AppState, at_shutdown: bool) {
    if let Err(err) = state.signer.flush_hours().await {
        tracing::warn!(error = %err, at_shutdown, "could not flush the hourly issuance figures");
    }
    if let Err(err) = state.refusals.flush().await {
        tracing::warn!(error = %err, at_shutdown, "could not flush the refusal counts");
    }
    if let Err(err) = state.registry.flush_credential_uses().await {
        tracing::warn!(error = %err, at_shutdown, "could not write the credentials' last uses");
    }
}

/// Re-reads the key set periodically: the safety net behind the `keys` change notification, so
/// keys rotated by another instance are published and used here too.
async fn reload_keys(state: AppState) {
    let period = Duration::from_secs(state.settings.signing.key_reload_seconds.max(1));
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(err) = state.signer.reload(state.clock.now()).await {
            tracing::warn!(error = %err, "could not reload signing keys");
        }
    }
}

/// Forgets, periodically, the identifiers and addresses whose failure budget is full again, so
/// the limiter's memory follows recent failures (see `limits`).
async fn prune_failure_budgets(state: AppState) {
    let period = Duration::from_secs(state.settings.rate_limit.prune_interval_seconds.max(1));
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        state.limits.prune();
    }
}
