//! The used-assertion record: replay protection for service-account assertions (RFC 7523 §3,
//! item 7 lets the server keep used `jti` values until they expire).
//!
//! One row per (service account, `jti`) holds the expiry of the assertion that used it. Recording
//! is a single upsert that only overwrites an *expired* row, so when two instances race on the same
//! `jti` the database lets exactly one of them affect a row. The `jti` is stored as its SHA-256,
//! so any length fits the primary-key index and no caller-chosen text is kept.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::registry::{ClientRegistry, RegistryError};

fn digest(jti: &str) -> String {
    hex::encode(Sha256::digest(jti.as_bytes()))
}

impl ClientRegistry {
    /// Records that an accepted assertion used `jti` until `expires_at`. Returns `false` when a
    /// still-unexpired assertion of the same service account used it first (a replay).
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
        let done = sqlx::query(
            "insert into used_assertions (service_account_id, jti_digest, expires_at) \
             values ($1, $2, $3) \
             on conflict (service_account_id, jti_digest) \
             do update set expires_at = excluded.expires_at \
             where used_assertions.expires_at <= $4",
        )
        .bind(service_account_id)
        .bind(&jti_digest)
        .bind(expires_at.timestamp_millis())
        .bind(now_millis)
        .execute(self.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Housekeeping: rows of this account that can no longer block anything. A delete that
        // finds rows is one more durable commit, so it runs on about one use in 256 (the digest
        // is uniform), which keeps an account's expired rows bounded without making every
        // request wait for a second commit; the retention job catches accounts that went quiet.
        if !jti_digest.starts_with("00") {
            return Ok(true);
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
    pub async fn release_assertion_use(
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
