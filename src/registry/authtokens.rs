//! The lineage of refreshed AuthTokens: which token was refreshed, and which token each refresh
//! issued. Rows are written only when a refresh happens (issuing a token writes nothing here,
//! keeping `generate` to the one issuance record): refreshing T claims T with one conditional
//! upsert (insert it as refreshed, or mark its row from an earlier refresh as refreshed, only if
//! it was not refreshed yet), so of two concurrent refreshes exactly one wins, and a second
//! presentation is detected as reuse, answered with the chain of tokens issued from it. Revoking
//! those tokens is the signing core's business (the scheme hands it the list).
//!
//! A won claim comes as a [`ClaimedRefresh`] that the scheme hands to the signing core with the
//! successor's grant, and the signing core compensates, not the scheme: once the successor's
//! issuance record has committed, keeping the claim records the successor (its `parent_jti` is
//! the refreshed token); when no successor leaves, releasing it clears `refreshed_at` again, so
//! the caller may retry with the same token.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{AuthenticatedCredential, ClientRegistry, RegistryError};
use crate::single_use::{IssuedRecord, SingleUse, SingleUseError};

/// The outcome of claiming a token for a refresh.
#[derive(Debug)]
pub enum RefreshClaim<'a> {
    /// The token was not refreshed before and now is: issue its successor, consuming the claim.
    Claimed(Box<AuthenticatedCredential>, ClaimedRefresh<'a>),
    /// The token was refreshed before: a reuse. Carries every token issued from it, in order.
    Reused(Vec<String>),
}

/// A won claim on refreshing one AuthToken, consumed by the issuance of its successor.
#[derive(Debug)]
pub struct ClaimedRefresh<'a> {
    registry: &'a ClientRegistry,
    jti: &'a str,
    credential_key: String,
    claimed_at: DateTime<Utc>,
}

#[async_trait::async_trait]
impl SingleUse for ClaimedRefresh<'_> {
    /// Records the successor in the lineage, so a reuse of the refreshed token finds it.
    async fn keep(&self, issued: &IssuedRecord<'_>) -> Result<(), SingleUseError> {
        self.registry
            .record_refreshed_successor(
                issued.jti,
                &self.credential_key,
                self.jti,
                issued.issued_at,
                issued.expires_at,
            )
            .await?;
        Ok(())
    }

    /// Undoes the claim, so the caller may retry the refresh with the same token.
    async fn release(&self) {
        let released = self
            .registry
            .release_authtoken_refresh(self.jti, self.claimed_at)
            .await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "could not release a failed refresh");
        }
    }
}

impl ClientRegistry {
    /// Records the AuthToken a refresh of `parent` just issued for `credential_key`; called only
    /// by [`ClaimedRefresh::keep`].
    async fn record_refreshed_successor(
        &self,
        jti: &str,
        credential_key: &str,
        parent: &str,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "insert into authtokens (jti, credential_key, parent_jti, issued_at, expires_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(jti)
        .bind(credential_key)
        .bind(parent)
        .bind(issued_at.timestamp_millis())
        .bind(expires_at.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Claims the AuthToken `jti` of `credential_key` (issued at `issued_at`, expiring at
    /// `expires_at`: read from the verified token) for a refresh at `now`, once. Its credential and
    /// client must be active (checked first, so a refused refresh does not consume the token).
    #[tracing::instrument(skip_all, fields(jti = %jti))]
    pub async fn claim_authtoken_refresh<'a>(
        &'a self,
        jti: &'a str,
        credential_key: &str,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RefreshClaim<'a>, RegistryError> {
        let credential = self.active_jwt_credential(credential_key).await?;
        let claimed = sqlx::query(
            "insert into authtokens (jti, credential_key, parent_jti, issued_at, expires_at, \
             refreshed_at) values ($1, $2, null, $3, $4, $5) \
             on conflict (jti) do update set refreshed_at = excluded.refreshed_at \
             where authtokens.refreshed_at is null",
        )
        .bind(jti)
        .bind(credential_key)
        .bind(issued_at.timestamp_millis())
        .bind(expires_at.timestamp_millis())
        .bind(now.timestamp_millis())
        .execute(self.db.pool())
        .await?
        .rows_affected();
        if claimed == 1 {
            let claim = ClaimedRefresh {
                registry: self,
                jti,
                credential_key: credential.credential.key.clone(),
                claimed_at: now,
            };
            return Ok(RefreshClaim::Claimed(Box::new(credential), claim));
        }
        let descendants = self.authtoken_descendants(jti).await?;
        tracing::warn!(
            descendants = descendants.len(),
            "an AuthToken was presented for refresh again"
        );
        Ok(RefreshClaim::Reused(descendants))
    }

    /// Undoes a claim made at `claimed_at` whose successor could not be issued, so the caller
    /// may retry with the same token; called only by [`ClaimedRefresh::release`].
    async fn release_authtoken_refresh(
        &self,
        jti: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "update authtokens set refreshed_at = null where jti = $1 and refreshed_at = $2",
        )
        .bind(jti)
        .bind(claimed_at.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Every token issued from `jti` by refreshes: its successor, that one's successor, and so on.
    pub async fn authtoken_descendants(&self, jti: &str) -> Result<Vec<String>, RegistryError> {
        let rows = sqlx::query(
            "with recursive chain (jti, depth) as ( \
                 select jti, 1 from authtokens where parent_jti = $1 \
                 union \
                 select a.jti, c.depth + 1 from authtokens a join chain c on a.parent_jti = c.jti \
             ) select jti from chain order by depth, jti",
        )
        .bind(jti)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| row.try_get("jti").map_err(RegistryError::from))
            .collect()
    }

    /// Deletes lineage rows of AuthTokens that expired before `expired_before`, at most
    /// `batch_size` per statement, until none is left; returns how many this call deleted.
    ///
    /// A row is needed while its token can still be presented for refresh (until its expiry plus
    /// the refresh window and leeway: the row is what refuses a second refresh) and while any
    /// *ancestor* can, since a reuse of the ancestor walks `parent_jti` links through it to revoke
    /// the live descendants. A descendant is issued no earlier than its ancestor, while the
    /// ancestor lives at most the TTL cap; the retention margin already covers refresh window and
    /// leeway (checked at start-up). So the caller passes `now - margin - TTL cap`: once a token
    /// expired before that, neither it nor any ancestor of it can be presented again, and the
    /// revocations a reuse would send its way concern dead tokens only.
    #[tracing::instrument(skip_all, fields(batch_size = batch_size))]
    pub async fn prune_authtoken_lineage(
        &self,
        expired_before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, RegistryError> {
        Ok(crate::db::delete_in_batches(
            self.db.pool(),
            "delete from authtokens where expires_at < $1 and jti in \
                 (select jti from authtokens where expires_at < $1 limit $2)",
            expired_before,
            batch_size,
        )
        .await?)
    }
}
