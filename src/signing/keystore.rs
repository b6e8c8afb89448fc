//! Signing keys in the database, shared by every instance: the only I/O of keys.
//!
//! Each algorithm has one `active` key (signs), one `next` key (published before it signs, so
//! verifiers have it by the time it does) and any number of `retired` keys, published until the
//! last token they signed has expired (`publish_until`). Rotation promotes `next` to `active`,
//! retires the old one and creates a new `next`, in one transaction; unique constraints on
//! `active_for`/`next_for` keep two instances from both creating or promoting keys. Private keys
//! are sealed under the current master key, with its fingerprint in `sealed_by` (`master_keys`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{AnyConnection, AnyPool, Row};

use super::error::SigningError;
use super::keys::{KeyMaterial, KeySet};
pub use super::master_key::MasterKey;
use super::master_keys::{MasterKeys, Sealed};
use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::db;
use crate::domain::Algorithm;

/// What may be shown about a stored key.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// `next`, `active` or `retired`.
    pub status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it started signing.
    pub activated_at: Option<DateTime<Utc>>,
    /// When it stopped signing.
    pub retired_at: Option<DateTime<Utc>>,
    /// Until when it is published (retired keys).
    pub publish_until: Option<DateTime<Utc>>,
    /// When it was revoked (an emergency: unpublished at once), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Makes sure every algorithm has an active and a next key; safe to run on several instances at
/// once (a losing insert is simply dropped).
pub async fn ensure_keys(
    pool: &AnyPool,
    master: &MasterKeys,
    now: DateTime<Utc>,
) -> Result<(), SigningError> {
    for algorithm in Algorithm::ALL {
        for slot in ["active", "next"] {
            let column = if slot == "active" {
                "active_for"
            } else {
                "next_for"
            };
            let exists = sqlx::query(&format!("select kid from signing_keys where {column} = $1"))
                .bind(algorithm.as_str())
                .fetch_optional(pool)
                .await?
                .is_some();
            if exists {
                continue;
            }
            let key = generate(algorithm).await?;
            if insert(pool, master, &key, slot, now).await? {
                tracing::info!(kid = key.kid(), algorithm = %algorithm, slot, "signing key created");
            }
        }
    }
    Ok(())
}

pub(super) async fn generate(algorithm: Algorithm) -> Result<KeyMaterial, SigningError> {
    tokio::task::spawn_blocking(move || KeyMaterial::generate(algorithm))
        .await
        .map_err(|e| anyhow::anyhow!("key generation task failed: {e}"))?
        .map_err(SigningError::from)
}

/// Stores a key in a slot; `false` when another instance filled that slot first.
pub(super) async fn insert<'e, E>(
    executor: E,
    master: &MasterKeys,
    key: &KeyMaterial,
    slot: &str,
    now: DateTime<Utc>,
) -> Result<bool, SigningError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let algorithm = key.algorithm().as_str();
    let active = (slot == "active").then_some(algorithm);
    let next = (slot == "next").then_some(algorithm);
    let sealed = master.seal(key.kid(), key.pkcs8())?;
    let result = sqlx::query(
        "insert into signing_keys (kid, algorithm, status, active_for, next_for, public_jwk, \
         private_key_sealed, sealed_by, created_at, activated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(key.kid())
    .bind(algorithm)
    .bind(slot)
    .bind(active)
    .bind(next)
    .bind(key.public_jwk().to_string())
    .bind(sealed.value)
    .bind(sealed.sealed_by)
    .bind(now.timestamp_millis())
    .bind(active.map(|_| now.timestamp_millis()))
    .execute(executor)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Reads the key set: active keys decrypted, and every published key (active, next, and retired
/// ones whose `publish_until` has not passed). Keys already parsed in `previous` (same `kid`,
/// which is the public key's thumbprint) are reused, so a periodic reload that finds nothing
/// new decrypts and parses nothing (an RSA private key's checks take milliseconds).
pub async fn load(
    pool: &AnyPool,
    master: &MasterKeys,
    now: DateTime<Utc>,
    previous: Option<&KeySet>,
) -> Result<KeySet, SigningError> {
    let rows = sqlx::query(
        "select kid, algorithm, status, public_jwk, private_key_sealed, sealed_by from signing_keys \
         where status in ('active', 'next') or publish_until > $1 order by created_at, kid",
    )
    .bind(now.timestamp_millis())
    .fetch_all(pool)
    .await?;
    let mut active = Vec::new();
    let mut published = Vec::new();
    for row in rows {
        let kid: String = row.try_get("kid")?;
        let algorithm: Algorithm = row
            .try_get::<String, _>("algorithm")?
            .parse()
            .map_err(anyhow::Error::msg)?;
        let jwk: Value = serde_json::from_str(&row.try_get::<String, _>("public_jwk")?)
            .map_err(anyhow::Error::from)?;
        if row.try_get::<String, _>("status")? == "active" {
            let known = previous
                .and_then(|set| set.active_key(&kid))
                .filter(|key| key.algorithm() == algorithm);
            if let Some(key) = known {
                active.push(key);
                published.push((kid, algorithm, jwk));
                continue;
            }
            let sealed = Sealed {
                value: row.try_get("private_key_sealed")?,
                sealed_by: row.try_get("sealed_by")?,
            };
            let opened = master.open(&format!("signing key {kid}"), &kid, &sealed)?;
            let key = KeyMaterial::from_pkcs8(algorithm, opened.plaintext)?;
            if key.kid() != kid {
                return Err(anyhow::anyhow!("stored key {kid} does not match its kid").into());
            }
            active.push(Arc::new(key));
        }
        published.push((kid, algorithm, jwk));
    }
    Ok(KeySet::new(active, published, previous)?)
}

/// Rotates some algorithms' keys in one transaction, recorded as one audit event by `actor`:
/// for each, `next` becomes `active` (it has been published since it was created), the old
/// active key is retired and stays published until `publish_until`, and a new `next` key is
/// created. Returns the new active kid of each.
pub async fn rotate(
    pool: &AnyPool,
    master: &MasterKeys,
    algorithms: &[Algorithm],
    publish_until: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<(Algorithm, String)>, SigningError> {
    let mut fresh = Vec::with_capacity(algorithms.len());
    for algorithm in algorithms {
        fresh.push((*algorithm, generate(*algorithm).await?));
    }
    retrying(|| rotate_all(pool, master, &fresh, publish_until, actor, now)).await
}

/// Runs a change of the key slots until it commits: an attempt answers `None`, or fails with a
/// lost race, when a concurrent rotation committed first; each loss means another one won.
pub(super) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, SigningError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, SigningError>>,
{
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        match attempt().await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {}
            Err(err) if lost_race(&err) => {}
            Err(err) => return Err(err),
        }
    }
    Err(anyhow::anyhow!("concurrent key rotations kept winning; try again").into())
}

/// One attempt of [`rotate`]; `None` when a concurrent rotation committed first (rolled back).
async fn rotate_all(
    pool: &AnyPool,
    master: &MasterKeys,
    fresh: &[(Algorithm, KeyMaterial)],
    publish_until: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Vec<(Algorithm, String)>>, SigningError> {
    let mut tx = pool.begin().await?;
    let mut kids = Vec::with_capacity(fresh.len());
    for (algorithm, fresh_next) in fresh {
        match rotate_one(&mut tx, master, *algorithm, fresh_next, publish_until, now).await? {
            Some(kid) => kids.push((*algorithm, kid)),
            None => return Ok(None),
        }
    }
    announce(&mut tx, Change::Keys).await?;
    let rotated: serde_json::Map<String, serde_json::Value> = kids
        .iter()
        .map(|(algorithm, kid)| (algorithm.as_str().to_owned(), kid.as_str().into()))
        .collect();
    let target = kids
        .iter()
        .map(|(_, kid)| kid.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let event = Event::new("keys.rotate", target).with(serde_json::json!({"active": rotated}));
    audit::record(&mut tx, actor, event, now).await?;
    tx.commit().await?;
    Ok(Some(kids))
}

/// One algorithm's rotation inside the caller's transaction; `None` when a concurrent rotation
/// holds the slots (the caller rolls back).
pub(super) async fn rotate_one(
    tx: &mut AnyConnection,
    master: &MasterKeys,
    algorithm: Algorithm,
    fresh_next: &KeyMaterial,
    publish_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<String>, SigningError> {
    let alg = algorithm.as_str();
    // Write first, to every key of the algorithm: the transaction takes its locks before it reads,
    // so a concurrent rotation waits here for this one and then sees its result (on SQLite a read
    // followed by a write in one transaction fails with SQLITE_BUSY_SNAPSHOT instead of waiting).
    // A rotation that still meets another's keys in the unique slots rolls back and retries.
    sqlx::query("update signing_keys set algorithm = algorithm where algorithm = $1")
        .bind(alg)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update signing_keys set status = 'retired', active_for = null, retired_at = $2, \
         publish_until = $3 where active_for = $1",
    )
    .bind(alg)
    .bind(now.timestamp_millis())
    .bind(publish_until.timestamp_millis())
    .execute(&mut *tx)
    .await?;
    let next: Option<String> = sqlx::query("select kid from signing_keys where next_for = $1")
        .bind(alg)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("kid"))
        .transpose()?;
    let promoted = match next {
        Some(kid) => {
            let promotion = sqlx::query(
                "update signing_keys set status = 'active', next_for = null, active_for = $2, \
                 activated_at = $3 where kid = $1",
            )
            .bind(&kid)
            .bind(alg)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await;
            match promotion {
                Ok(_) => kid,
                Err(e) if db::is_unique_violation(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        None => {
            // No pre-published key (never expected after `ensure_keys`): sign with a fresh one.
            let key = generate(algorithm).await?;
            if !insert(&mut *tx, master, &key, "active", now).await? {
                return Ok(None);
            }
            key.kid().to_owned()
        }
    };
    if !insert(&mut *tx, master, fresh_next, "next", now).await? {
        return Ok(None);
    }
    tracing::info!(algorithm = alg, kid = %promoted, next = fresh_next.kid(), "signing key rotated");
    Ok(Some(promoted))
}

/// Whether a rotation failed only because a concurrent one got in its way (PostgreSQL's deadlock
/// or serialization failure), so that retrying it is right.
fn lost_race(err: &SigningError) -> bool {
    let SigningError::Internal(err) = err else {
        return false;
    };
    err.downcast_ref::<sqlx::Error>()
        .and_then(sqlx::Error::as_database_error)
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// Every stored key that is still published, plus retired ones, newest first.
pub async fn list(pool: &AnyPool) -> Result<Vec<KeyInfo>, SigningError> {
    let rows = sqlx::query(
        "select kid, algorithm, status, created_at, activated_at, retired_at, publish_until, \
         revoked_at from signing_keys order by created_at desc, kid",
    )
    .fetch_all(pool)
    .await?;
    let time = |v: Option<i64>| v.and_then(DateTime::from_timestamp_millis);
    rows.iter()
        .map(|row| {
            Ok(KeyInfo {
                kid: row.try_get("kid")?,
                algorithm: row
                    .try_get::<String, _>("algorithm")?
                    .parse()
                    .map_err(anyhow::Error::msg)?,
                status: row.try_get("status")?,
                created_at: time(Some(row.try_get("created_at")?)).unwrap_or_default(),
                activated_at: time(row.try_get("activated_at")?),
                retired_at: time(row.try_get("retired_at")?),
                publish_until: time(row.try_get("publish_until")?),
                revoked_at: time(row.try_get("revoked_at")?),
            })
        })
        .collect()
}
