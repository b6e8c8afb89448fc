//! The retention job: keeps the per-request tables from growing without bound by deleting rows
//! long past the last moment they can matter, `[retention] margin_seconds` after it.
//!
//! It only decides *when* and *with which cut-off*; the deletes belong to the modules that own
//! the tables: the issuance record and its hourly figures to `signing::report`, used assertions
//! and AuthToken lineage to the registry. Every statement deletes a bounded batch of rows that
//! still match, so several instances may run passes at once. Tables that grow per request but are not pruned here, and
//! why: `api_keys` (credentials the administrator lists and revokes; expired ones stay listed),
//! `access_requests` and `notifications` (the portal's history, one per human action).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::registry::RegistryError;
use crate::signing::{quota, report, SigningError};
use crate::state::AppState;
use crate::usage;

/// The longest wait before the first pass after start-up, so instances restarted more often than
/// the interval still prune.
const FIRST_PASS_AFTER_AT_MOST: std::time::Duration = std::time::Duration::from_secs(300);

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// Pruning the issuance record failed.
    #[error("pruning issuance records: {0}")]
    Signing(#[from] SigningError),
    /// Pruning registry rows failed.
    #[error("pruning registry rows: {0}")]
    Registry(#[from] RegistryError),
    /// Pruning the usage report's refusal counts failed.
    #[error("pruning refusal counts: {0}")]
    Usage(#[from] sqlx::Error),
}

/// Rows deleted by one pass, per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Deleted {
    /// Issuance records deleted one by one (`issuances`: every expired one on SQLite; on
    /// PostgreSQL those of the default and legacy partitions, see `db::partitions`).
    pub issuances: u64,
    /// Days of the issuance record dropped whole (PostgreSQL): each partition whose every expiry
    /// lies before the cut-off.
    pub issuance_partitions: u64,
    /// Used service-account assertion ids deleted one by one (`used_assertions`: every expired
    /// one on SQLite and on a store not yet partitioned; otherwise those of the default and
    /// legacy partitions).
    pub used_assertions: u64,
    /// Days of the used-assertion store dropped whole (PostgreSQL, once partitioned).
    pub used_assertion_partitions: u64,
    /// AuthToken refresh lineage (`authtokens`).
    pub authtoken_lineage: u64,
    /// Hourly issuance figures (`issuance_hours`, the console chart's rollup).
    pub issuance_hours: u64,
    /// DPoP proofs' `jti`s past their 60 s window (`used_assertions`, issuer `dpop:…`).
    pub dpop_proofs: u64,
    /// Quota counters of minutes and days that have ended (`quota_windows`).
    pub quota_windows: u64,
    /// Refusal counts per client and day older than the usage report's reach (`refusal_days`).
    pub refusal_days: u64,
}

/// What one pass did: its cut-offs and the rows it deleted (what `tokenmint retention run` prints).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// When the pass ran.
    pub ran_at: DateTime<Utc>,
    /// Issuance records and used assertions that expired before this instant were deleted.
    pub expired_before: DateTime<Utc>,
    /// AuthToken lineage rows that expired before this (earlier) instant were deleted, and the
    /// hourly issuance figures of hours that ended before it.
    pub lineage_expired_before: DateTime<Utc>,
    /// How many rows of each table this pass deleted.
    pub deleted: Deleted,
}

/// Runs one pruning pass at the state's current time.
#[tracing::instrument(skip_all)]
pub async fn run_pass(state: &AppState) -> Result<RetentionReport, RetentionError> {
    let settings = &state.settings.retention;
    let now = state.clock.now();
    let expired_before = keep_back(now, settings.margin_seconds);
    // See ClientRegistry::prune_authtoken_lineage for why lineage rows also wait the TTL cap.
    let cap_seconds = state
        .settings
        .signing
        .max_ttl_cap_minutes
        .saturating_mul(60);
    let lineage_expired_before = keep_back(expired_before, cap_seconds);
    let batch = settings.batch_size;
    let usage_kept = keep_back(now, usage::KEPT_DAYS * 24 * 3600);
    let pool = state.db.pool();
    // Days ahead first: a pass also repairs what an instance down for days left undone.
    let cap_minutes = state.settings.signing.max_ttl_cap_minutes;
    report::prepare_partitions(&state.db, now, cap_minutes).await?;
    state.registry.prepare_single_use_partitions(now).await?;
    let record = report::prune_expired(&state.db, expired_before, batch).await?;
    // A single-use row refuses only while unexpired: its days need no margin, only the leeway.
    let leeway = state.settings.signing.verify_leeway_seconds.max(0);
    let single_use = state
        .registry
        .prune_used_assertions(expired_before, keep_back(now, leeway), batch)
        .await?;
    let deleted = Deleted {
        issuances: record.rows,
        issuance_partitions: record.partitions,
        used_assertions: single_use.rows,
        used_assertion_partitions: single_use.partitions,
        authtoken_lineage: state
            .registry
            .prune_authtoken_lineage(lineage_expired_before, batch)
            .await?,
        // Every token issued in an hour that ended before this cut-off expired at most the TTL
        // cap later, before `expired_before`, so its record is gone too: the figures outlive
        // the records they count, never the other way round.
        // The usage report reads them too, so they also stay as long as it reaches back.
        issuance_hours: report::prune_hours(pool, lineage_expired_before.min(usage_kept), batch)
            .await?,
        // A proof's jti matters only within its window, so these go without the margin.
        dpop_proofs: state.registry.prune_dpop_proofs(now, batch).await?,
        // A counter matters only until its window ends.
        quota_windows: quota::prune_windows(pool, now, batch)
            .await
            .map_err(SigningError::from)?,
        refusal_days: state.refusals.prune(usage_kept, batch).await?,
    };
    tracing::info!(
        issuances = deleted.issuances,
        issuance_partitions = deleted.issuance_partitions,
        used_assertions = deleted.used_assertions,
        used_assertion_partitions = deleted.used_assertion_partitions,
        authtoken_lineage = deleted.authtoken_lineage,
        issuance_hours = deleted.issuance_hours,
        dpop_proofs = deleted.dpop_proofs,
        quota_windows = deleted.quota_windows,
        refusal_days = deleted.refusal_days,
        "retention pass done"
    );
    Ok(RetentionReport {
        ran_at: now,
        expired_before,
        lineage_expired_before,
        deleted,
    })
}

/// `seconds` before `at`; the earliest instant there is (so nothing is deleted) when a huge
/// setting would overflow.
fn keep_back(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    TimeDelta::try_seconds(seconds)
        .and_then(|keep| at.checked_sub_signed(keep))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Runs a pass every `[retention] interval_seconds` until `stop` turns true or its sender is
/// gone (shutdown); a failed pass is logged and the next one tries again.
pub async fn run_periodically(state: AppState, mut stop: watch::Receiver<bool>) {
    let period = std::time::Duration::from_secs(state.settings.retention.interval_seconds.max(1));
    let first = tokio::time::Instant::now() + period.min(FIRST_PASS_AFTER_AT_MOST);
    let mut ticker = tokio::time::interval_at(first, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
        if let Err(err) = run_pass(&state).await {
            tracing::warn!(error = %err, "retention pass failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_offs_lie_the_margin_back_and_never_overflow() {
        let at = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        let week = keep_back(at, 7 * 24 * 3600);
        assert_eq!((at - week).num_seconds(), 7 * 24 * 3600);
        assert_eq!(keep_back(at, i64::MAX), DateTime::<Utc>::MIN_UTC);
        assert_eq!(keep_back(at, i64::MAX / 1000), DateTime::<Utc>::MIN_UTC);
    }
}
