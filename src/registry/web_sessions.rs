//! The sessions of the web pages (portal and console), stored in the shared database so that
//! every instance serves them: signed in on one, continued on another; signed out on one, gone
//! for all. The session id is a bearer secret, so only its SHA-256 is stored (a copy of the table
//! signs nobody in). What a session holds is opaque JSON here: the web layer decides.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{ClientRegistry, RegistryError};

/// A stored session, not yet expired.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredWebSession {
    /// The session's data, as the web layer serialized it (JSON).
    pub data: String,
    /// When it expires unless used again.
    pub expires_at: DateTime<Utc>,
}

/// The stored form of a session id.
fn digest(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

impl ClientRegistry {
    /// Stores a new session; `false` when the id is taken (then the caller draws another).
    pub async fn insert_web_session(
        &self,
        session_id: &str,
        data: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, RegistryError> {
        let inserted = sqlx::query(
            "insert into web_sessions (id_digest, data, expires_at) values ($1, $2, $3) \
             on conflict (id_digest) do nothing",
        )
        .bind(digest(session_id))
        .bind(data)
        .bind(expires_at.timestamp_millis())
        .execute(self.db.pool())
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Stores a session's data and expiry, creating it if needed.
    pub async fn save_web_session(
        &self,
        session_id: &str,
        data: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "insert into web_sessions (id_digest, data, expires_at) values ($1, $2, $3) \
             on conflict (id_digest) do update \
             set data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(digest(session_id))
        .bind(data)
        .bind(expires_at.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The session with this id, unless it does not exist or expired before `now`.
    pub async fn web_session(
        &self,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredWebSession>, RegistryError> {
        let row = sqlx::query(
            "select data, expires_at from web_sessions where id_digest = $1 and expires_at > $2",
        )
        .bind(digest(session_id))
        .bind(now.timestamp_millis())
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_at: i64 = row.try_get("expires_at")?;
        Ok(Some(StoredWebSession {
            data: row.try_get("data")?,
            expires_at: DateTime::from_timestamp_millis(expires_at).unwrap_or(now),
        }))
    }

    /// Deletes a session (signing out): every instance stops honouring it at once.
    pub async fn delete_web_session(&self, session_id: &str) -> Result<(), RegistryError> {
        sqlx::query("delete from web_sessions where id_digest = $1")
            .bind(digest(session_id))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Deletes sessions that expired before `expired_before`, at most `batch_size` per
    /// statement, until none is left; returns how many this call deleted.
    pub async fn prune_web_sessions(
        &self,
        expired_before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, RegistryError> {
        Ok(crate::db::delete_in_batches(
            self.db.pool(),
            "delete from web_sessions where id_digest in \
                 (select id_digest from web_sessions where expires_at < $1 limit $2)",
            expired_before,
            batch_size,
        )
        .await?)
    }
}
