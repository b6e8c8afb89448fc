//! The used-assertion record: replay protection for service-account assertions (RFC 7523 §3,
//! item 7 lets the server keep used `jti` values until they expire), and for DPoP proofs.
//!
//! One row per use of a (service account, `jti`) holds the expiry of the assertion that used it,
//! and a `jti` is refused while a row of it is unexpired. The `jti` is stored as its SHA-256, so
//! any length fits the index and no caller-chosen text is kept. Concurrent uses share one
//! statement and one commit ([`GroupCommit`]), and when two instances race on the same `jti`
//! exactly one claims it:
//! - on PostgreSQL a batch takes a transaction-level advisory lock per `jti` (in one order, so
//!   batches cannot deadlock), removes expired uses of those `jti`s (only where a primary key
//!   would let them refuse new uses) and inserts the ones no unexpired row holds, in a statement
//!   that starts once the locks are held and so sees every earlier claim. That works whether the
//!   table is partitioned by day of expiry (its contract migrations, `db::partitions`), where no
//!   unique key can say "one unexpired row per `jti`", or still the plain table an earlier
//!   release upserts into, whose primary key then decides;
//! - on SQLite (one writer) an upsert that only overwrites an *expired* row.
//!
//! The scheme claims a `jti` with [`ClientRegistry::claim_assertion_use`] before asking for a
//! token and hands the [`ClaimedAssertion`] to the signing core, which compensates, not the
//! scheme: keeping it adds nothing (the row is already written), and when no token leaves it is
//! released (only the row this use wrote is deleted), so the assertion may be retried.

use chrono::{DateTime, Days, Utc};
use sha2::{Digest, Sha256};

use crate::db::group_commit::BatchError;
use crate::db::partitions::{DailyPartitions, Pruned};
use crate::registry::{ClientRegistry, RegistryError};
use crate::single_use::{IssuedRecord, SingleUse, SingleUseError};

mod writer;

use writer::AssertionUse;
pub(crate) use writer::{start, AssertionUses};

fn digest(jti: &str) -> String {
    hex::encode(Sha256::digest(jti.as_bytes()))
}

/// The single-use store, partitioned by day of expiry on PostgreSQL once its contract migrations
/// have run (see `db::partitions`).
pub(crate) const SINGLE_USE: DailyPartitions = DailyPartitions {
    table: "used_assertions",
    column: "expires_at",
};

/// The outcome of claiming an assertion's `jti` for an issuance.
#[derive(Debug)]
pub enum AssertionClaim<'a> {
    /// The `jti` was free and is now used: issue the token, consuming the claim.
    Claimed(ClaimedAssertion<'a>),
    /// A still-unexpired assertion of the same service account used it first.
    Replayed,
}

/// A recorded use of an assertion's `jti`, consumed by the issuance it allowed.
#[derive(Debug)]
pub struct ClaimedAssertion<'a> {
    registry: &'a ClientRegistry,
    service_account_id: &'a str,
    jti: &'a str,
    expires_at: DateTime<Utc>,
}

#[async_trait::async_trait]
impl SingleUse for ClaimedAssertion<'_> {
    /// Nothing to add: the use was recorded when it was claimed and stays until it expires.
    async fn keep(&self, _issued: &IssuedRecord<'_>) -> Result<(), SingleUseError> {
        Ok(())
    }

    /// Forgets the use, so the caller may retry with the same assertion.
    async fn release(&self) {
        let released = self
            .registry
            .release_assertion_use(self.service_account_id, self.jti, self.expires_at)
            .await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "could not release the jti of a failed issuance");
        }
    }
}

impl ClientRegistry {
    /// Claims `jti` for an accepted assertion of `service_account_id` valid until `expires_at`
    /// (see [`Self::record_assertion_use`]): the claim, or [`AssertionClaim::Replayed`].
    pub async fn claim_assertion_use<'a>(
        &'a self,
        service_account_id: &'a str,
        jti: &'a str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<AssertionClaim<'a>, RegistryError> {
        if !self
            .record_assertion_use(service_account_id, jti, expires_at, now)
            .await?
        {
            return Ok(AssertionClaim::Replayed);
        }
        Ok(AssertionClaim::Claimed(ClaimedAssertion {
            registry: self,
            service_account_id,
            jti,
            expires_at,
        }))
    }

    /// Records that an accepted assertion used `jti` until `expires_at`. Returns `false` when a
    /// still-unexpired assertion of the same service account used it first (a replay). Uses that
    /// arrive together are recorded in one statement and one commit; each answer comes after it.
    #[tracing::instrument(skip_all, fields(service_account_id = %service_account_id))]
    pub async fn record_assertion_use(
        &self,
        service_account_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, RegistryError> {
        let now_millis = now.timestamp_millis();
        let jti_digest = digest(jti);
        self.assertion_uses
            .submit(AssertionUse {
                service_account_id: service_account_id.to_owned(),
                jti_digest,
                expires_at: expires_at.timestamp_millis(),
                now: now_millis,
            })
            .await
            .map_err(|failure| match failure {
                BatchError::Unavailable(e) => RegistryError::Unavailable(e),
                other => RegistryError::Internal(anyhow::anyhow!(
                    "recording the assertion's use failed: {other}"
                )),
            })
    }

    /// Forgets a use recorded by [`Self::record_assertion_use`] whose token could not be issued,
    /// so the caller may retry with the same assertion. Only the row this use wrote is removed.
    /// Called only by [`ClaimedAssertion::release`].
    async fn release_assertion_use(
        &self,
        service_account_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "delete from used_assertions \
             where service_account_id = $1 and jti_digest = $2 and expires_at = $3",
        )
        .bind(service_account_id)
        .bind(digest(jti))
        .bind(expires_at.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Deletes the rows of DPoP proofs (issuer `dpop:<thumbprint>`, see `http::dpop`) whose window
    /// ended before `now`: a proof that old is refused by its `iat` anyway, so its `jti` need not
    /// be kept (RFC 9449 §11.1). At most `batch_size` per statement; returns how many went. On a
    /// partitioned store only the default and legacy partitions are pruned so: in a day's
    /// partition a proof's row goes with its day (see [`Self::prune_used_assertions`]).
    #[tracing::instrument(skip_all, fields(batch_size = batch_size))]
    pub async fn prune_dpop_proofs(
        &self,
        now: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, RegistryError> {
        // No day is dropped here: in a day's partition a proof's row waits for its day.
        Ok(SINGLE_USE
            .prune(
                &self.db,
                None,
                now,
                "delete from {table} where expires_at < $1 \
                 and service_account_id like 'dpop:%' \
                 and (service_account_id, jti_digest) in (select service_account_id, jti_digest \
                 from {table} where expires_at < $1 \
                 and service_account_id like 'dpop:%' limit $2)",
                batch_size,
            )
            .await?
            .rows)
    }

    /// Removes used-assertion rows that can no longer refuse anything (a `jti` is refused only
    /// while a use of it is unexpired). Rows deleted one by one (SQLite, a store not yet
    /// partitioned, and its default and legacy partitions) go once they expired before
    /// `expired_before`, at most `batch_size` per statement, until none is left. A partitioned
    /// store's days go whole once their last expiry is before `days_before`, which may be later
    /// (no margin is needed for rows the store alone reads). Safe on several instances at once.
    #[tracing::instrument(skip_all, fields(batch_size = batch_size))]
    pub async fn prune_used_assertions(
        &self,
        expired_before: DateTime<Utc>,
        days_before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<Pruned, RegistryError> {
        // The outer condition is repeated so that a row a concurrent use just renewed (SQLite's
        // upsert) is re-checked and kept.
        Ok(SINGLE_USE
            .prune(
                &self.db,
                Some(days_before),
                expired_before,
                "delete from {table} where expires_at < $1 \
                 and (service_account_id, jti_digest) in (select service_account_id, jti_digest \
                 from {table} where expires_at < $1 limit $2)",
                batch_size,
            )
            .await?)
    }

    /// Creates the single-use store's partitions (PostgreSQL, once partitioned) for every day
    /// from `now`'s through two days later; returns how many it created. Its rows expire within
    /// an hour (assertions) or a minute (DPoP proofs) of their use: the two days leave room for
    /// retention passes that fail, or an instance that is down.
    pub async fn prepare_single_use_partitions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, RegistryError> {
        let through = now
            .checked_add_days(Days::new(2))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Ok(SINGLE_USE.prepare(&self.db, now, through).await?)
    }
}
