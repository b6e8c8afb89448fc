//! Client secrets as a credential kind: several live per client, each with an optional expiry,
//! revocable one by one. Values are shown once and stored only as argon2id hashes.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

use super::client::millis_to_time;
use super::{ClientRegistry, RegistryError};
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
}

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
        "select id, created_at, expires_at, revoked_at from client_secrets \
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
            })
        })
        .collect()
}
