//! Master-key rotation: re-seals every stored private signing key and sealed secret under the
//! current master key, opening the old ones with the previous key. Safe while instances run:
//! each value is replaced by its own statement, a compare-and-set on the sealed value that was
//! read (so on its fingerprint too), so a value re-sealed or replaced meanwhile is left alone;
//! and the plaintext never changes, so running instances (which hold it parsed in memory, or
//! hold both keys) notice nothing. Safe to re-run: what is already current is counted, not
//! touched.

use std::collections::BTreeMap;

use sqlx::{AnyPool, Row};

use super::error::SigningError;
use super::master_keys::{MasterKeys, Sealed};
use super::sealed_secrets;

/// Values read and replaced per query.
const BATCH: i64 = 100;

/// What a rotation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Values re-sealed under the current key.
    pub resealed: u64,
    /// Values already sealed under it (or re-sealed by a concurrent run).
    pub already_current: u64,
}

/// One table of sealed values: its name, key column, sealed-value column and associated data.
struct Table {
    name: &'static str,
    id: &'static str,
    sealed: &'static str,
    what: fn(&str) -> String,
    aad: fn(&str) -> String,
}

const TABLES: [Table; 2] = [
    Table {
        name: "signing_keys",
        id: "kid",
        sealed: "private_key_sealed",
        what: |kid| format!("signing key {kid}"),
        aad: |kid| kid.to_owned(),
    },
    Table {
        name: "sealed_secrets",
        id: "name",
        sealed: "sealed",
        what: |name| format!("sealed secret {name}"),
        aad: sealed_secrets::aad,
    },
];

/// How many stored values each master key sealed, by fingerprint (`None`: stored before
/// fingerprints were recorded).
pub async fn census(pool: &AnyPool) -> Result<BTreeMap<Option<String>, i64>, SigningError> {
    let mut counts = BTreeMap::new();
    for table in &TABLES {
        let rows = sqlx::query(&format!(
            "select sealed_by, count(*) as n from {} group by sealed_by",
            table.name
        ))
        .fetch_all(pool)
        .await?;
        for row in rows {
            let n: i64 = row.try_get("n")?;
            *counts.entry(row.try_get("sealed_by")?).or_insert(0) += n;
        }
    }
    Ok(counts)
}

/// Refuses, naming the fingerprint, when a stored value was sealed under a master key this
/// instance does not hold: at start, rather than at the first rotation that needs it.
pub async fn check_held(pool: &AnyPool, keys: &MasterKeys) -> Result<(), SigningError> {
    for (fingerprint, n) in census(pool).await? {
        if let Some(fingerprint) = fingerprint.filter(|f| !keys.holds(f)) {
            let what = format!("{n} stored value(s) (private signing keys or secrets) are");
            return Err(keys.unknown(&what, &fingerprint).into());
        }
    }
    Ok(())
}

/// Re-seals every stored value not yet sealed under the current key. Refuses before changing
/// anything when a value was sealed under a key this instance does not hold.
pub async fn reseal_all(pool: &AnyPool, keys: &MasterKeys) -> Result<Resealed, SigningError> {
    check_held(pool, keys).await?;
    let current = keys.current().fingerprint();
    let mut done = Resealed {
        already_current: census(pool)
            .await?
            .get(&Some(current.to_owned()))
            .copied()
            .unwrap_or(0)
            .try_into()
            .unwrap_or(0),
        ..Resealed::default()
    };
    for table in &TABLES {
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "select {id}, {sealed}, sealed_by from {name} \
                 where (sealed_by is null or sealed_by <> $1) and {id} > $2 order by {id} limit $3",
                id = table.id,
                sealed = table.sealed,
                name = table.name,
            ))
            .bind(current)
            .bind(&after)
            .bind(BATCH)
            .fetch_all(pool)
            .await?;
            for row in &rows {
                let id: String = row.try_get(table.id)?;
                let sealed = Sealed {
                    value: row.try_get(table.sealed)?,
                    sealed_by: row.try_get("sealed_by")?,
                };
                let changed = reseal_one(pool, keys, table, &id, &sealed).await?;
                if changed {
                    done.resealed += 1;
                } else {
                    done.already_current += 1;
                }
                after = id;
            }
            if rows.len() < BATCH as usize {
                break;
            }
        }
    }
    tracing::info!(
        master_key = current,
        resealed = done.resealed,
        already_current = done.already_current,
        "stored values re-sealed"
    );
    Ok(done)
}

/// Re-seals one value; `false` when nothing was re-encrypted (a value older than fingerprints
/// already under the current key only gets its fingerprint, or a concurrent run got there
/// first).
async fn reseal_one(
    pool: &AnyPool,
    keys: &MasterKeys,
    table: &Table,
    id: &str,
    sealed: &Sealed,
) -> Result<bool, SigningError> {
    let aad = (table.aad)(id);
    let opened = keys.open(&(table.what)(id), &aad, sealed)?;
    let under_current = opened.key.fingerprint() == keys.current().fingerprint();
    let replacement = if under_current {
        Sealed {
            value: sealed.value.clone(),
            sealed_by: Some(keys.current().fingerprint().to_owned()),
        }
    } else {
        keys.seal(&aad, &opened.plaintext)?
    };
    let updated = sqlx::query(&format!(
        "update {name} set {sealed} = $1, sealed_by = $2 where {id} = $3 and {sealed} = $4",
        name = table.name,
        sealed = table.sealed,
        id = table.id,
    ))
    .bind(replacement.value)
    .bind(replacement.sealed_by)
    .bind(id)
    .bind(&sealed.value)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1 && !under_current)
}
