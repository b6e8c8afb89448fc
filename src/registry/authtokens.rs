//! The lineage of issued AuthTokens: which credential each belongs to, which token it replaced,
//! and whether it was refreshed. The database decides "once": a refresh claims a token with a
//! conditional update, so of two concurrent refreshes exactly one wins, and a second
//! presentation is detected as reuse, answered with the chain of tokens issued from it.
//! Revoking those tokens is the signing core's business (the scheme hands it the list).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{AuthenticatedCredential, ClientRegistry, RegistryError};

/// The outcome of claiming a token for a refresh.
#[derive(Debug)]
pub enum RefreshClaim {
    /// The token was not refreshed before and now is: issue its successor.
    Claimed(Box<AuthenticatedCredential>),
    /// The token was refreshed before: a reuse. Carries every token issued from it, in order.
    Reused(Vec<String>),
}

impl ClientRegistry {
    /// Records an AuthToken just issued for `credential_key` (the successor of `parent`, if any).
    pub async fn record_authtoken(
        &self,
        jti: &str,
        credential_key: &str,
        parent: Option<&str>,
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

    /// Claims the AuthToken `jti` for a refresh at `now`, once. Its credential and client must be
    /// active (checked first, so a refused refresh does not consume the token); a token this
    /// registry has no record of is an `UnknownCredential`.
    #[tracing::instrument(skip_all, fields(jti = %jti))]
    pub async fn claim_authtoken_refresh(
        &self,
        jti: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshClaim, RegistryError> {
        let key: String = sqlx::query("select credential_key from authtokens where jti = $1")
            .bind(jti)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(RegistryError::UnknownCredential)?
            .try_get("credential_key")?;
        let credential = self.active_jwt_credential(&key).await?;
        let claimed = sqlx::query(
            "update authtokens set refreshed_at = $2 where jti = $1 and refreshed_at is null",
        )
        .bind(jti)
        .bind(now.timestamp_millis())
        .execute(self.db.pool())
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(RefreshClaim::Claimed(Box::new(credential)));
        }
        let descendants = self.authtoken_descendants(jti).await?;
        tracing::warn!(
            descendants = descendants.len(),
            "an AuthToken was presented for refresh again"
        );
        Ok(RefreshClaim::Reused(descendants))
    }

    /// Undoes a claim made at `claimed_at` whose successor could not be issued, so the caller
    /// may retry with the same token.
    pub async fn release_authtoken_refresh(
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

    /// The AuthTokens of a credential that have not expired at `now`.
    pub async fn live_authtokens(
        &self,
        credential_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, RegistryError> {
        let rows = sqlx::query(
            "select jti from authtokens where credential_key = $1 and expires_at > $2 \
             order by issued_at, jti",
        )
        .bind(credential_key)
        .bind(now.timestamp_millis())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| row.try_get("jti").map_err(RegistryError::from))
            .collect()
    }
}
