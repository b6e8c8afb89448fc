//! API keys: a credential kind of a client (scheme C), each for one environment (sandbox or
//! production), with an optional expiry, revocable one by one.
//!
//! A key is a recognisable prefix (`tmk_sandbox_` or `tmk_live_`, so people and secret scanners
//! can tell what leaked) plus 256 random bits, base64url. It is shown once, at creation, and
//! stored only as its keyed digest ([`ClientRegistry::keyed_digest`]); authentication is one
//! indexed equality lookup on that digest. The prefix is never trusted: the environment that
//! counts is the stored one. This module never logs a key, only key and client ids.

mod key;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::cache::Lookup;
use super::client::{self, millis_to_time, CLIENT_COLUMNS};
use super::{Client, ClientRegistry, ClientStatus, RegistryError};
use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::domain::ClientId;

pub use key::{generate_key, test_key_expiry, Environment};

/// Longest presented key looked up; anything longer is no key of ours.
const MAX_PRESENTED_LEN: usize = 128;

/// A key just created: the only moment its value exists in clear.
#[derive(Debug)]
pub struct IssuedApiKey {
    /// The key's id (not secret), for listing and revocation.
    pub api_key_id: String,
    /// The client it belongs to.
    pub client_id: ClientId,
    /// Where it works.
    pub environment: Environment,
    /// The key, shown once; `Debug` prints it redacted.
    pub key: SecretString,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What may be shown about a stored key (never the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The key's id.
    pub api_key_id: String,
    /// The client it belongs to.
    pub client_id: String,
    /// Where it works.
    pub environment: Environment,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last got a token, if ever (written a few seconds late, in batches).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A presented key that is live, of the right environment, and whose client is active.
#[derive(Clone, Debug)]
pub struct AuthenticatedKey {
    /// The key's id, for logs.
    pub api_key_id: String,
    /// Its client, whose policy the token must obey.
    pub client: Client,
}

impl ClientRegistry {
    /// Creates an API key for a client; the key is returned once, in clear, and stored only as
    /// its keyed digest. Keys may be created for a suspended client; they work once it is active.
    #[tracing::instrument(skip_all, fields(client_id = %client_id, environment = %environment))]
    pub async fn create_api_key(
        &self,
        client_id: &str,
        environment: Environment,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<IssuedApiKey, RegistryError> {
        let client = self.client(client_id).await?;
        if expires_at.is_some_and(|at| at <= now) {
            return Err(RegistryError::invalid(
                "expires_at",
                "must be in the future",
            ));
        }
        let key = generate_key(environment);
        let digest = self.keyed_digest(secrecy::ExposeSecret::expose_secret(&key));
        let api_key_id = format!("key_{}", uuid::Uuid::now_v7().simple());
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "insert into api_keys (id, client_id, environment, digest, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&api_key_id)
        .bind(client.id.as_str())
        .bind(environment.as_str())
        .bind(&digest)
        .bind(now.timestamp_millis())
        .bind(expires_at.map(|t| t.timestamp_millis()))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                // api_keys_digest_key: two equal 256-bit random keys; a broken RNG, not input.
                RegistryError::Internal(anyhow::anyhow!("api key digest collision"))
            } else {
                e.into()
            }
        })?;
        let event = Event::new("api_key.create", &api_key_id).with(serde_json::json!({
            "client_id": client.id.as_str(),
            "environment": environment.as_str(),
            "expires_at": expires_at,
        }));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        tracing::info!(api_key_id = %api_key_id, "api key created");
        Ok(IssuedApiKey {
            api_key_id,
            client_id: client.id,
            environment,
            key,
            created_at: now,
            expires_at,
        })
    }

    /// Authenticates a presented API key for the environment the service runs in.
    ///
    /// The key is looked up by its keyed digest (one indexed equality, whatever the key looks
    /// like; its prefix is not inspected). Unknown, revoked, expired and other-environment keys
    /// all fail as a wrong credential, the reason going only to the log; a suspended client is
    /// reported only to a caller who presented a live key.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate_api_key(
        &self,
        presented: &str,
        environment: Environment,
        now: DateTime<Utc>,
    ) -> Result<AuthenticatedKey, RegistryError> {
        if presented.is_empty() || presented.len() > MAX_PRESENTED_LEN {
            tracing::info!(reason = "malformed", "api key refused");
            return Err(RegistryError::UnknownClient);
        }
        let cache_key = self.verified_api_keys.key(environment.as_str(), presented);
        let fill = match self.verified_api_keys.lookup(&cache_key, now).await {
            Lookup::Hit(hit) => return Ok(hit),
            Lookup::Miss(fill) => fill,
        };
        let digest = self.keyed_digest(presented);
        let sql = format!(
            "select k.id as key_id, k.environment as key_environment, \
             k.expires_at as key_expires_at, k.revoked_at as key_revoked_at, {CLIENT_COLUMNS} \
             from api_keys k join clients c on c.id = k.client_id where k.digest = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(&digest)
            .fetch_optional(self.db.pool())
            .await?
        else {
            tracing::info!(reason = "unknown", "api key refused");
            return Err(RegistryError::UnknownClient);
        };
        let api_key_id: String = row.try_get("key_id")?;
        let stored_environment: String = row.try_get("key_environment")?;
        let expires_at: Option<i64> = row.try_get("key_expires_at")?;
        let revoked_at: Option<i64> = row.try_get("key_revoked_at")?;
        let refusal = if revoked_at.is_some() {
            Some("revoked")
        } else if expires_at.is_some_and(|at| at <= now.timestamp_millis()) {
            Some("expired")
        } else if Environment::parse(&stored_environment) != Some(environment) {
            Some("wrong environment")
        } else {
            None
        };
        if let Some(reason) = refusal {
            tracing::info!(api_key_id = %api_key_id, reason, "api key refused");
            return Err(RegistryError::WrongSecret);
        }
        let client = client::from_row(&row)?;
        if client.status == ClientStatus::Suspended {
            tracing::info!(api_key_id = %api_key_id, client_id = %client.id, "client suspended");
            return Err(RegistryError::Suspended);
        }
        let authenticated = AuthenticatedKey { api_key_id, client };
        let valid_until = expires_at.and_then(DateTime::from_timestamp_millis);
        self.verified_api_keys.insert(
            cache_key,
            authenticated.client.id.as_str(),
            fill,
            valid_until,
            authenticated.clone(),
        );
        Ok(authenticated)
    }

    /// A client's API keys, oldest first (never the keys themselves).
    pub async fn api_keys(&self, client_id: &str) -> Result<Vec<ApiKeyInfo>, RegistryError> {
        let client = self.client(client_id).await?;
        let rows = sqlx::query(
            "select id, client_id, environment, created_at, expires_at, revoked_at, last_used_at \
             from api_keys where client_id = $1 order by created_at, id",
        )
        .bind(client.id.as_str())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// Revokes an API key at once; `NotFound` for an unknown or already revoked key.
    #[tracing::instrument(skip_all, fields(api_key_id = %api_key_id))]
    pub async fn revoke_api_key(
        &self,
        api_key_id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        let mut tx = self.db.pool().begin().await?;
        let done =
            sqlx::query("update api_keys set revoked_at = $2 where id = $1 and revoked_at is null")
                .bind(api_key_id)
                .bind(now.timestamp_millis())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::NotFound("api key"));
        }
        // The key's client is not at hand here; revocations are rare, so forget everything.
        announce(&mut tx, Change::All).await?;
        audit::record(
            &mut tx,
            actor,
            Event::new("api_key.revoke", api_key_id),
            now,
        )
        .await?;
        tx.commit().await?;
        self.forget_all();
        tracing::info!("api key revoked");
        Ok(())
    }
}

fn info_from_row(row: &AnyRow) -> Result<ApiKeyInfo, RegistryError> {
    let environment: String = row.try_get("environment")?;
    Ok(ApiKeyInfo {
        api_key_id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        environment: Environment::parse(&environment)
            .ok_or_else(|| anyhow::anyhow!("stored api key environment {environment:?}"))?,
        created_at: millis_to_time(row.try_get("created_at")?),
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .map(millis_to_time),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(millis_to_time),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(millis_to_time),
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn an_issued_key_is_redacted_in_debug_output() {
        let key = generate_key(Environment::Sandbox);
        let issued = IssuedApiKey {
            api_key_id: "key_1".into(),
            client_id: ClientId::generate(),
            environment: Environment::Sandbox,
            created_at: DateTime::default(),
            expires_at: None,
            key: key.clone(),
        };
        assert!(!format!("{issued:?}").contains(key.expose_secret()));
    }
}
