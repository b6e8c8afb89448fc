//! Signing keys in the database, shared by every instance: the only I/O of keys.
//!
//! Each algorithm has one `active` key (signs), one `next` key (published before it signs, so
//! verifiers have it by the time it does) and any number of `retired` keys, published until the
//! last token they signed has expired (`publish_until`). Rotation promotes `next` to `active`,
//! retires the old one and creates a new `next`, in one transaction; unique constraints on
//! `active_for`/`next_for` keep two instances from both creating or promoting keys. Private keys
//! are sealed with AES-256-GCM under the master key, with the `kid` as associated data.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{AnyPool, Row};
use zeroize::Zeroizing;

use super::error::SigningError;
use super::keys::{KeyMaterial, KeySet};
use crate::changes::{announce, Change};
use crate::db;
use crate::domain::Algorithm;

/// The key that seals private keys at rest.
pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Parses base64 of exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> anyhow::Result<Self> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| anyhow::anyhow!("the master key is not valid base64"))?,
        );
        anyhow::ensure!(
            bytes.len() == 32,
            "the master key must be 32 bytes (base64 of 32 random bytes)"
        );
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("the master key was rejected"))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A 32-byte subkey of a base64 master key for another purpose, named by `label`
    /// (HMAC-SHA256 of the label under the master key), so one configured secret serves several
    /// independent uses.
    pub fn derive_subkey(encoded: &str, label: &str) -> anyhow::Result<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| anyhow::anyhow!("the master key is not valid base64"))?,
        );
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&bytes)
            .map_err(|_| anyhow::anyhow!("the master key was rejected"))?;
        mac.update(label.as_bytes());
        Ok(mac.finalize().into_bytes().into())
    }

    /// A new random master key, base64.
    pub fn generate_base64() -> anyhow::Result<Zeroizing<String>> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| anyhow::anyhow!("no randomness for the master key"))?;
        Ok(Zeroizing::new(STANDARD.encode(bytes.as_ref())))
    }

    fn seal(&self, kid: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut buffer = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| anyhow::anyhow!("sealing a private key failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(STANDARD.encode(out))
    }

    fn open(&self, kid: &str, sealed: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let raw = STANDARD.decode(sealed)?;
        anyhow::ensure!(raw.len() > NONCE_LEN, "sealed key {kid} is truncated");
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plain_len = self
            .0
            .open_in_place(nonce, Aad::from(kid.as_bytes()), buffer.as_mut_slice())
            .map_err(|_| {
                anyhow::anyhow!("cannot decrypt signing key {kid}: wrong TOKENMINT_MASTER_KEY?")
            })?
            .len();
        buffer.truncate(plain_len);
        Ok(buffer)
    }
}

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
}

/// Makes sure every algorithm has an active and a next key; safe to run on several instances at
/// once (a losing insert is simply dropped).
pub async fn ensure_keys(
    pool: &AnyPool,
    master: &MasterKey,
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

async fn generate(algorithm: Algorithm) -> Result<KeyMaterial, SigningError> {
    tokio::task::spawn_blocking(move || KeyMaterial::generate(algorithm))
        .await
        .map_err(|e| anyhow::anyhow!("key generation task failed: {e}"))?
        .map_err(SigningError::from)
}

/// Stores a key in a slot; `false` when another instance filled that slot first.
async fn insert<'e, E>(
    executor: E,
    master: &MasterKey,
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
    let result = sqlx::query(
        "insert into signing_keys (kid, algorithm, status, active_for, next_for, public_jwk, \
         private_key_sealed, created_at, activated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(key.kid())
    .bind(algorithm)
    .bind(slot)
    .bind(active)
    .bind(next)
    .bind(key.public_jwk().to_string())
    .bind(master.seal(key.kid(), key.pkcs8())?)
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
/// ones whose `publish_until` has not passed).
pub async fn load(
    pool: &AnyPool,
    master: &MasterKey,
    now: DateTime<Utc>,
) -> Result<KeySet, SigningError> {
    let rows = sqlx::query(
        "select kid, algorithm, status, public_jwk, private_key_sealed from signing_keys \
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
            let sealed: String = row.try_get("private_key_sealed")?;
            let key = KeyMaterial::from_pkcs8(algorithm, master.open(&kid, &sealed)?)?;
            if key.kid() != kid {
                return Err(anyhow::anyhow!("stored key {kid} does not match its kid").into());
            }
            active.push(key);
        }
        published.push((kid, algorithm, jwk));
    }
    Ok(KeySet::new(active, published)?)
}

/// Rotates one algorithm's keys: `next` becomes `active` (it has been published since it was
/// created), the old active key is retired and stays published until `publish_until`, and a new
/// `next` key is created. Returns the new active kid.
pub async fn rotate(
    pool: &AnyPool,
    master: &MasterKey,
    algorithm: Algorithm,
    publish_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, SigningError> {
    let fresh_next = generate(algorithm).await?;
    let mut tx = pool.begin().await?;
    let alg = algorithm.as_str();
    let next: Option<String> = sqlx::query("select kid from signing_keys where next_for = $1")
        .bind(alg)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("kid"))
        .transpose()?;
    sqlx::query(
        "update signing_keys set status = 'retired', active_for = null, retired_at = $2, \
         publish_until = $3 where active_for = $1",
    )
    .bind(alg)
    .bind(now.timestamp_millis())
    .bind(publish_until.timestamp_millis())
    .execute(&mut *tx)
    .await?;
    let promoted = match next {
        Some(kid) => {
            sqlx::query(
                "update signing_keys set status = 'active', next_for = null, active_for = $2, \
                 activated_at = $3 where kid = $1",
            )
            .bind(&kid)
            .bind(alg)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
            kid
        }
        None => {
            // No pre-published key (never expected after `ensure_keys`): sign with a fresh one.
            let key = generate(algorithm).await?;
            insert_or_conflict(insert(&mut *tx, master, &key, "active", now).await?)?;
            key.kid().to_owned()
        }
    };
    insert_or_conflict(insert(&mut *tx, master, &fresh_next, "next", now).await?)?;
    announce(&mut tx, Change::Keys).await?;
    tx.commit().await?;
    tracing::info!(algorithm = alg, kid = %promoted, next = fresh_next.kid(), "signing key rotated");
    Ok(promoted)
}

fn insert_or_conflict(inserted: bool) -> Result<(), SigningError> {
    if inserted {
        Ok(())
    } else {
        Err(anyhow::anyhow!("a concurrent key rotation won; try again").into())
    }
}

/// Every stored key that is still published, plus retired ones, newest first.
pub async fn list(pool: &AnyPool) -> Result<Vec<KeyInfo>, SigningError> {
    let rows = sqlx::query(
        "select kid, algorithm, status, created_at, activated_at, retired_at, publish_until \
         from signing_keys order by created_at desc, kid",
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
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_under_its_kid_and_master_key() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64().unwrap()).unwrap();
        let sealed = master.seal("kid-1", b"private").unwrap();
        assert_eq!(
            master.open("kid-1", &sealed).unwrap().as_slice(),
            b"private"
        );
        assert!(master.open("kid-2", &sealed).is_err());
        let other = MasterKey::from_base64(&MasterKey::generate_base64().unwrap()).unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
    }

    #[test]
    fn a_master_key_must_be_32_bytes_of_base64() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }
}
