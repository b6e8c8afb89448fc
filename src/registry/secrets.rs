//! Client secrets as a credential kind: several live per client, each with an optional expiry,
//! revocable one by one. Values are shown once and stored only as argon2id hashes. Here too:
//! authenticating a client by id and secret ([`ClientRegistry::authenticate`]), and adding,
//! revoking and listing a client's secrets.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

use super::cache::Lookup;
use super::client::{self, millis_to_time};
use super::{secret, Client, ClientRegistry, ClientStatus, RegistryError};
use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::domain::ClientId;

/// A secret just created: the only moment its value exists in clear.
#[derive(Debug)]
pub struct IssuedSecret {
    /// The secret's id (not secret).
    pub secret_id: String,
    /// The value, shown once.
    pub secret: SecretString,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What may be shown about a stored secret.
#[derive(Clone, Debug)]
pub struct SecretInfo {
    /// The secret's id.
    pub secret_id: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request, if ever (written a few seconds late, in batches).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A client authenticated by one of its secrets: the client, and which secret it presented (to
/// note its use, `last_used_at`).
#[derive(Clone, Debug)]
pub struct AuthenticatedSecret {
    /// The secret's id (not secret).
    pub secret_id: Arc<str>,
    /// Its client (active).
    pub client: Arc<Client>,
}

/// A live secret as authentication picks it: its id and argon2id hash.
struct Candidate {
    secret_id: String,
    hash: String,
}

/// A client, its live secrets by locator, and the first of their expiries.
type ClientWithSecrets = (Client, Vec<(String, Candidate)>, Option<DateTime<Utc>>);

/// A generated secret with its hash, computed off the async threads before any transaction opens.
pub(super) struct Prepared {
    secret: SecretString,
    locator: String,
    hash: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

/// Generates and hashes a new secret (argon2 within the registry's budget).
pub(super) async fn prepare(
    registry: &ClientRegistry,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Prepared, RegistryError> {
    let (secret, locator, hash) = registry.new_secret().await?;
    Ok(Prepared {
        secret,
        locator,
        hash,
        created_at: now,
        expires_at,
    })
}

/// Stores a prepared secret for a client.
pub(super) async fn insert(
    tx: &mut Transaction<'_, Any>,
    client: &ClientId,
    p: Prepared,
) -> Result<IssuedSecret, RegistryError> {
    let secret_id = format!("sec_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(
        "insert into client_secrets (id, client_id, locator, hash, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&secret_id)
    .bind(client.as_str())
    .bind(&p.locator)
    .bind(&p.hash)
    .bind(p.created_at.timestamp_millis())
    .bind(p.expires_at.map(|t| t.timestamp_millis()))
    .execute(&mut **tx)
    .await?;
    Ok(IssuedSecret {
        secret_id,
        secret: p.secret,
        expires_at: p.expires_at,
    })
}

/// Marks a secret revoked; `NotFound` if the client has no such live secret.
pub(super) async fn revoke(
    conn: &mut AnyConnection,
    client: &str,
    secret_id: &str,
    now: DateTime<Utc>,
) -> Result<(), RegistryError> {
    let done = sqlx::query(
        "update client_secrets set revoked_at = $3 \
         where client_id = $1 and id = $2 and revoked_at is null",
    )
    .bind(client)
    .bind(secret_id)
    .bind(now.timestamp_millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(RegistryError::NotFound("secret"));
    }
    Ok(())
}

/// A client's secrets, oldest first.
pub(super) async fn list(
    pool: &AnyPool,
    client: &ClientId,
) -> Result<Vec<SecretInfo>, RegistryError> {
    let rows = sqlx::query(
        "select id, created_at, expires_at, revoked_at, last_used_at from client_secrets \
         where client_id = $1 order by created_at, id",
    )
    .bind(client.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SecretInfo {
                secret_id: row.try_get("id")?,
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
        })
        .collect()
}

/// Authentication by secret, and each client's secrets.
impl ClientRegistry {
    /// Authenticates a client by id and secret; says which secret matched.
    ///
    /// Exactly one argon2 verification runs whatever the outcome, so an unknown client, a client
    /// without live secrets and a wrong secret take the same time. A suspended client is reported
    /// only to a caller who presented a valid secret.
    #[tracing::instrument(skip_all, fields(client_id = %raw_id))]
    pub async fn authenticate(
        &self,
        raw_id: &str,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<AuthenticatedSecret, RegistryError> {
        let cache_key = self.verified_secrets.key(raw_id, presented);
        let fill = match self.verified_secrets.lookup(&cache_key, now).await {
            Lookup::Hit(authenticated) => return Ok(authenticated),
            Lookup::Miss(fill) => fill,
        };
        let found = match ClientId::parse(raw_id) {
            Some(id) if presented.len() <= 512 => self.client_with_secrets(&id, now).await?,
            _ => None,
        };
        let locator = secret::locator(presented);
        let chosen = found
            .as_ref()
            .and_then(|(_, candidates, _)| secret::select_candidate(&locator, candidates));
        let hash = chosen.map_or_else(|| self.decoy_hash.to_string(), |c| c.hash.clone());
        let secret_id: Option<Arc<str>> = chosen.map(|c| c.secret_id.as_str().into());
        let matches = self.verify_secret(presented, hash).await?;
        match (found, secret_id) {
            (None, _) => Err(RegistryError::UnknownClient),
            (Some(_), None) => Err(RegistryError::WrongSecret),
            (Some(_), Some(_)) if !matches => Err(RegistryError::WrongSecret),
            (Some((client, _, _)), Some(_)) if client.status == ClientStatus::Suspended => {
                Err(RegistryError::Suspended)
            }
            (Some((client, _, first_expiry)), Some(secret_id)) => {
                // Valid until the first of the client's live secrets expires: conservative.
                let valid_until = first_expiry;
                let authenticated = AuthenticatedSecret {
                    secret_id,
                    client: Arc::new(client),
                };
                self.verified_secrets.insert(
                    cache_key,
                    raw_id,
                    fill,
                    valid_until,
                    authenticated.clone(),
                );
                Ok(authenticated)
            }
        }
    }

    /// The client and its live secrets by locator, with the first of their expiries, in one query.
    async fn client_with_secrets(
        &self,
        id: &ClientId,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientWithSecrets>, RegistryError> {
        let sql = format!(
            "select {}, s.id as secret_id, s.locator, s.hash, \
             s.expires_at as secret_expires_at \
             from clients c left join client_secrets s \
             on s.client_id = c.id and s.revoked_at is null \
             and (s.expires_at is null or s.expires_at > $2) where c.id = $1",
            client::CLIENT_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(now.timestamp_millis())
            .fetch_all(self.db.pool())
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let client = client::from_row(first)?;
        let mut candidates = Vec::with_capacity(rows.len());
        let mut first_expiry: Option<DateTime<Utc>> = None;
        for row in &rows {
            let secret_id: Option<String> = row.try_get("secret_id")?;
            let locator: Option<String> = row.try_get("locator")?;
            let hash: Option<String> = row.try_get("hash")?;
            let expires_at: Option<i64> = row.try_get("secret_expires_at")?;
            if let (Some(secret_id), Some(locator), Some(hash)) = (secret_id, locator, hash) {
                candidates.push((locator, Candidate { secret_id, hash }));
                let expires_at = expires_at.and_then(DateTime::from_timestamp_millis);
                first_expiry = match (first_expiry, expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        Ok(Some((client, candidates, first_expiry)))
    }

    /// Adds a secret to a client (rotation with overlap); returned once in clear.
    pub async fn add_secret(
        &self,
        id: &str,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<IssuedSecret, RegistryError> {
        let client = self.client(id).await?;
        if expires_at.is_some_and(|at| at <= now) {
            return Err(RegistryError::invalid(
                "expires_at",
                "must be in the future",
            ));
        }
        let prepared = prepare(self, expires_at, now).await?;
        let mut tx = self.db.pool().begin().await?;
        let issued = insert(&mut tx, &client.id, prepared).await?;
        let event = Event::new("secret.create", &issued.secret_id).with(serde_json::json!({
            "client_id": client.id.as_str(),
            "expires_at": expires_at,
        }));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        tracing::info!(client_id = %client.id, secret_id = %issued.secret_id, "secret added");
        Ok(issued)
    }

    /// Revokes one secret of a client at once.
    pub async fn revoke_secret(
        &self,
        id: &str,
        secret_id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        let mut tx = self.db.pool().begin().await?;
        revoke(&mut tx, id, secret_id, now).await?;
        announce(&mut tx, Change::Client(id)).await?;
        let event =
            Event::new("secret.revoke", secret_id).with(serde_json::json!({"client_id": id}));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        self.forget_client(id);
        tracing::info!(client_id = %id, secret_id = %secret_id, "secret revoked");
        Ok(())
    }

    /// A client's secrets (never their values).
    pub async fn secrets(&self, id: &str) -> Result<Vec<SecretInfo>, RegistryError> {
        let client = self.client(id).await?;
        list(self.db.pool(), &client.id).await
    }
}
