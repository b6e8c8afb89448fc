//! Emergency revocation of a signing key (`POST /admin/keys/{kid}/revoke`): for a key that may
//! have leaked. The key is retired with `publish_until` and `revoked_at` at the revocation time,
//! so it leaves the JWKS and its tokens stop verifying on every instance at its next key reload
//! (at once here, within a second elsewhere through the `keys` change notification). Revoking
//! the active key promotes the pre-published next one, which signs at once; revoking the next
//! key replaces it. One transaction, with its audit event.

use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row};

use super::error::SigningError;
use super::keystore::{generate, insert, retrying, rotate_one};
use super::master_keys::MasterKeys;
use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::domain::Algorithm;

/// What a revocation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The key was revoked now; it had this status.
    Now {
        /// `active`, `next` or `retired`.
        was: String,
        /// Its algorithm.
        algorithm: Algorithm,
    },
    /// It had been revoked before: nothing changed.
    Already,
}

/// Revokes `kid` (see the module docs); `None` when no stored key has that kid.
pub async fn revoke(
    pool: &AnyPool,
    master: &MasterKeys,
    kid: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Revoked>, SigningError> {
    let Some(algorithm) = algorithm_of(pool, kid).await? else {
        return Ok(None);
    };
    let fresh_next = generate(algorithm).await?;
    // A revocation racing a rotation retries, as rotations do.
    let done = retrying(|| revoke_once(pool, master, kid, algorithm, &fresh_next, actor, now));
    Ok(Some(done.await?))
}

async fn algorithm_of(pool: &AnyPool, kid: &str) -> Result<Option<Algorithm>, SigningError> {
    let row = sqlx::query("select algorithm from signing_keys where kid = $1")
        .bind(kid)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        row.try_get::<String, _>("algorithm")?
            .parse()
            .map_err(|e: String| SigningError::from(anyhow::anyhow!(e)))
    })
    .transpose()
}

/// One attempt; `None` when a concurrent rotation held the slots (rolled back).
#[allow(clippy::too_many_arguments)]
async fn revoke_once(
    pool: &AnyPool,
    master: &MasterKeys,
    kid: &str,
    algorithm: Algorithm,
    fresh_next: &super::keys::KeyMaterial,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Revoked>, SigningError> {
    let alg = algorithm.as_str();
    let mut tx = pool.begin().await?;
    // Locks first, as a rotation does, so a concurrent one waits for this (see `rotate_one`).
    sqlx::query("update signing_keys set algorithm = algorithm where algorithm = $1")
        .bind(alg)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("select status, revoked_at from signing_keys where kid = $1")
        .bind(kid)
        .fetch_one(&mut *tx)
        .await?;
    if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
        return Ok(Some(Revoked::Already));
    }
    let was: String = row.try_get("status")?;
    match was.as_str() {
        // The next key signs from now on; the revoked one is unpublished at once.
        "active" => {
            let promoted = rotate_one(&mut tx, master, algorithm, fresh_next, now, now).await?;
            let Some(_) = promoted else {
                return Ok(None);
            };
        }
        // A new next key takes its place.
        "next" => {
            sqlx::query(
                "update signing_keys set status = 'retired', next_for = null, retired_at = $2 \
                 where kid = $1",
            )
            .bind(kid)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
            if !insert(&mut *tx, master, fresh_next, "next", now).await? {
                return Ok(None);
            }
        }
        _ => {}
    }
    sqlx::query("update signing_keys set publish_until = $2, revoked_at = $2 where kid = $1")
        .bind(kid)
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?;
    announce(&mut tx, Change::Keys).await?;
    let event =
        Event::new("key.revoke", kid).with(serde_json::json!({"algorithm": alg, "was": was}));
    audit::record(&mut tx, actor, event, now).await?;
    tx.commit().await?;
    tracing::warn!(kid, algorithm = alg, was = %was, "signing key revoked");
    Ok(Some(Revoked::Now { was, algorithm }))
}
