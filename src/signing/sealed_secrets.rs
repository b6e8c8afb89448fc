//! The service's own secrets, stored in `sealed_secrets` sealed under the master key and shared
//! by every instance. Today one: the credential pepper, the key of the digests (HMAC-SHA256) of
//! API keys and the other random credentials stored only as digests. It is a secret of its own,
//! not a function of the master key, so that a master-key rotation re-seals it and every digest
//! stays what it was.
//!
//! A new deployment draws it at random on first start. A deployment older than stored peppers
//! computed its digests with a subkey of its master key, which no migration can compute (SQL
//! has no master key), so its first start stores that subkey instead: every API key keeps
//! working.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row};
use zeroize::Zeroizing;

use super::error::SigningError;
use super::master_keys::{MasterKeys, Sealed};
use crate::db;

/// The name of the credential pepper in `sealed_secrets`.
pub const CREDENTIAL_PEPPER: &str = "credential_pepper";
/// The label of the subkey that was the pepper before peppers were stored.
const LEGACY_PEPPER_LABEL: &str = "tokenmint credential digest v1";

/// The associated data a secret is sealed with: its name, apart from any signing key's `kid`.
pub fn aad(name: &str) -> String {
    format!("sealed_secrets:{name}")
}

/// The stored credential pepper, stored first if there is none yet (a new deployment, or the
/// first start of a release with stored peppers). Several instances starting at once store one:
/// a losing insert reads the winner's.
pub async fn credential_pepper(
    pool: &AnyPool,
    keys: &MasterKeys,
    now: DateTime<Utc>,
) -> Result<Zeroizing<[u8; 32]>, SigningError> {
    let what = "the credential pepper";
    for _ in 0..2 {
        if let Some(sealed) = read(pool, CREDENTIAL_PEPPER).await? {
            let opened = keys.open(what, &aad(CREDENTIAL_PEPPER), &sealed)?;
            let pepper: [u8; 32] = opened
                .plaintext
                .as_slice()
                .try_into()
                .map_err(|_| anyhow::anyhow!("{what} is not 32 bytes"))?;
            return Ok(Zeroizing::new(pepper));
        }
        let pepper = first_pepper(pool, keys).await?;
        let sealed = keys.seal(&aad(CREDENTIAL_PEPPER), pepper.as_slice())?;
        let inserted = sqlx::query(
            "insert into sealed_secrets (name, sealed, sealed_by, created_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(CREDENTIAL_PEPPER)
        .bind(sealed.value)
        .bind(sealed.sealed_by)
        .bind(now.timestamp_millis())
        .execute(pool)
        .await;
        match inserted {
            Ok(_) => {
                tracing::info!("credential pepper stored");
                return Ok(pepper);
            }
            Err(e) if db::is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(anyhow::anyhow!("{what} was neither stored nor readable").into())
}

/// The pepper to store when none is: the old derivation if signing keys exist (the deployment
/// predates stored peppers, and every signing key it has was sealed under the master key its
/// digests were made with), else a random one.
async fn first_pepper(
    pool: &AnyPool,
    keys: &MasterKeys,
) -> Result<Zeroizing<[u8; 32]>, SigningError> {
    let oldest = sqlx::query(
        "select kid, private_key_sealed, sealed_by from signing_keys \
         order by created_at, kid limit 1",
    )
    .fetch_optional(pool)
    .await?;
    if let Some(row) = oldest {
        let kid: String = row.try_get("kid")?;
        let sealed = Sealed {
            value: row.try_get("private_key_sealed")?,
            sealed_by: row.try_get("sealed_by")?,
        };
        let opened = keys.open(&format!("signing key {kid}"), &kid, &sealed)?;
        return Ok(opened.key.derive_subkey(LEGACY_PEPPER_LABEL));
    }
    let mut pepper = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(pepper.as_mut())
        .map_err(|_| anyhow::anyhow!("no randomness for the credential pepper"))?;
    Ok(pepper)
}

async fn read(pool: &AnyPool, name: &str) -> Result<Option<Sealed>, SigningError> {
    let row = sqlx::query("select sealed, sealed_by from sealed_secrets where name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        Ok(Sealed {
            value: row.try_get("sealed")?,
            sealed_by: row.try_get("sealed_by")?,
        })
    })
    .transpose()
}
