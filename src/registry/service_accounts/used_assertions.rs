//! The used-assertion record: replay protection for service-account assertions (RFC 7523 §3,
//! item 7 lets the server keep used `jti` values until they expire).
//!
//! One row per (service account, `jti`) holds the expiry of the assertion that used it. Recording
//! is an upsert that only overwrites an *expired* row, so when two instances race on the same `jti`
//! the database lets exactly one of them affect a row; concurrent uses share one statement and
//! one commit ([`GroupCommit`]). The `jti` is stored as its SHA-256,
//! so any length fits the primary-key index and no caller-chosen text is kept.
//!
//! The scheme claims a `jti` with [`ClientRegistry::claim_assertion_use`] before asking for a
//! token and hands the [`ClaimedAssertion`] to the signing core, which compensates, not the
//! scheme: keeping it adds nothing (the row is already written), and when no token leaves it is
//! released (only the row this use wrote is deleted), so the assertion may be retried.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::db::group_commit::{
    values_placeholders, BatchError, BatchWrite, GroupCommit, SizedStatements,
};
use crate::db::Database;
use crate::registry::{ClientRegistry, RegistryError};
use crate::single_use::{IssuedRecord, SingleUse, SingleUseError};

fn digest(jti: &str) -> String {
    hex::encode(Sha256::digest(jti.as_bytes()))
}

/// Most uses recorded by one statement (three parameters each).
const MAX_BATCH: usize = 256;

/// One accepted assertion's use of its `jti`, waiting for its batch.
pub(crate) struct AssertionUse {
    service_account_id: String,
    jti_digest: String,
    expires_at: i64,
    now: i64,
}

/// Records uses with group commit: one multi-row upsert per batch, answering per use whether it
/// claimed its `jti` (see [`ClientRegistry::record_assertion_use`]).
pub(crate) struct AssertionUseWriter {
    /// The upsert of each batch size written so far.
    statements: SizedStatements,
}

/// The group-committed used-assertion record.
pub(crate) type AssertionUses = GroupCommit<AssertionUseWriter>;

/// Starts the used-assertion writers for `db`: `postgres_writers` on PostgreSQL, as for the
/// issuance record (`[signing] issuance_writers`), one on SQLite.
pub(crate) fn start(db: &Database, postgres_writers: usize) -> AssertionUses {
    GroupCommit::start(
        db.pool().clone(),
        db.backend(),
        postgres_writers,
        MAX_BATCH,
        AssertionUseWriter {
            statements: SizedStatements::new(|rows| {
                format!(
                    "insert into used_assertions (service_account_id, jti_digest, expires_at) \
                     values {} on conflict (service_account_id, jti_digest) \
                     do update set expires_at = excluded.expires_at \
                     where used_assertions.expires_at <= $1 \
                     returning service_account_id, jti_digest",
                    values_placeholders(rows, 3, 2)
                )
            }),
        },
    )
}

impl BatchWrite for AssertionUseWriter {
    type Item = AssertionUse;
    type Outcome = bool;

    /// The upsert only overwrites an *expired* row, so a use claims its `jti` when it inserts a
    /// row or renews an expired one, and `returning` names exactly those rows. One statement
    /// cannot touch a row twice, so a second use of the same `jti` in the batch is not sent: it
    /// is a replay of the first whatever the first's outcome. "Expired" is judged at the earliest
    /// `now` of the batch, which can only refuse more (the uses are concurrent).
    async fn write(
        &self,
        connection: &mut AnyConnection,
        uses: &[AssertionUse],
    ) -> Result<Vec<bool>, sqlx::Error> {
        let mut first_of: HashMap<(&str, &str), usize> = HashMap::with_capacity(uses.len());
        let mut sent = Vec::with_capacity(uses.len());
        for (index, used) in uses.iter().enumerate() {
            let key = (used.service_account_id.as_str(), used.jti_digest.as_str());
            if let Entry::Vacant(slot) = first_of.entry(key) {
                slot.insert(index);
                sent.push(used);
            }
        }
        let now = uses.iter().map(|u| u.now).min().unwrap_or_default();
        let sql = self.statements.get(sent.len());
        let mut query = sqlx::query(&sql).bind(now);
        for used in &sent {
            query = query
                .bind(used.service_account_id.as_str())
                .bind(used.jti_digest.as_str())
                .bind(used.expires_at);
        }
        let mut claimed = vec![false; uses.len()];
        for row in query.fetch_all(connection).await? {
            let account: String = row.try_get(0)?;
            let digest: String = row.try_get(1)?;
            if let Some(&index) = first_of.get(&(account.as_str(), digest.as_str())) {
                claimed[index] = true;
            }
        }
        Ok(claimed)
    }
}

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
        let housekeeping = jti_digest.starts_with("00");
        let claimed = self
            .assertion_uses
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
            })?;
        // Housekeeping: rows of this account that can no longer block anything. A delete that
        // finds rows is one more durable commit, so it runs on about one use in 256 (the digest
        // is uniform), which keeps an account's expired rows bounded without making every
        // request wait for a second commit; the retention job catches accounts that went quiet.
        if !claimed || !housekeeping {
            return Ok(claimed);
        }
        sqlx::query(
            "delete from used_assertions where service_account_id = $1 and expires_at <= $2",
        )
        .bind(service_account_id)
        .bind(now_millis)
        .execute(self.db.pool())
        .await?;
        Ok(true)
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
    /// be kept (RFC 9449 §11.1). At most `batch_size` per statement; returns how many went.
    #[tracing::instrument(skip_all, fields(batch_size = batch_size))]
    pub async fn prune_dpop_proofs(
        &self,
        now: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, RegistryError> {
        Ok(crate::db::delete_in_batches(
            self.db.pool(),
            "delete from used_assertions where expires_at < $1 \
                 and service_account_id like 'dpop:%' \
                 and (service_account_id, jti_digest) in (select service_account_id, jti_digest \
                 from used_assertions where expires_at < $1 \
                 and service_account_id like 'dpop:%' limit $2)",
            now,
            batch_size,
        )
        .await?)
    }

    /// Deletes used-assertion rows whose assertion expired before `expired_before`, at most
    /// `batch_size` per statement, until none is left; returns how many this call deleted. Such a
    /// row can no longer refuse anything (a `jti` is refused only while its first assertion is
    /// unexpired); [`Self::record_assertion_use`] tidies the rows of accounts in use, this catches
    /// the accounts that went quiet. Safe on several instances at once.
    #[tracing::instrument(skip_all, fields(batch_size = batch_size))]
    pub async fn prune_used_assertions(
        &self,
        expired_before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, RegistryError> {
        // The outer condition is repeated so that a row a concurrent use just renewed (the
        // upsert above) is re-checked and kept.
        Ok(crate::db::delete_in_batches(
            self.db.pool(),
            "delete from used_assertions where expires_at < $1 \
                 and (service_account_id, jti_digest) in (select service_account_id, jti_digest \
                 from used_assertions where expires_at < $1 limit $2)",
            expired_before,
            batch_size,
        )
        .await?)
    }
}
