//! When each credential was last used (`last_used_at`), noted in memory and written in batches.
//!
//! A successful authentication notes (credential kind, credential id) -> the latest `now` in a
//! map behind a mutex: no database write on the request path, and no allocation for a credential
//! already noted since the last flush. The service flushes every few seconds and once more when it
//! stops ([`ClientRegistry::flush_credential_uses`]): one `update ... from (values ...)` per kind
//! and chunk of [`MAX_FLUSH_ROWS`], which only ever moves `last_used_at` forward, so instances
//! flushing at once cannot move it back. A failed flush puts back what it did not write, for the
//! next (as the hourly issuance figures do, `signing::record`). Nothing here is secret: ids only.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use sqlx::AnyPool;

use super::{ClientRegistry, RegistryError};
use crate::db::group_commit::values_placeholders;

/// Most credentials one flush statement updates (two parameters each).
const MAX_FLUSH_ROWS: usize = 500;

/// The credential kinds whose uses are noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// A client secret (`client_secrets.id`).
    ClientSecret,
    /// An API key (`api_keys.id`).
    ApiKey,
    /// A JWT credential (`jwt_credentials.key`).
    JwtCredential,
    /// A service account (`service_accounts.id`).
    ServiceAccount,
}

impl CredentialKind {
    /// Every kind, in the order of [`Uses`]'s maps.
    pub const ALL: [Self; 4] = [
        Self::ClientSecret,
        Self::ApiKey,
        Self::JwtCredential,
        Self::ServiceAccount,
    ];

    /// The table holding this kind, and its id column.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Self::ClientSecret => ("client_secrets", "id"),
            Self::ApiKey => ("api_keys", "id"),
            Self::JwtCredential => ("jwt_credentials", "key"),
            Self::ServiceAccount => ("service_accounts", "id"),
        }
    }

    fn index(self) -> usize {
        match self {
            Self::ClientSecret => 0,
            Self::ApiKey => 1,
            Self::JwtCredential => 2,
            Self::ServiceAccount => 3,
        }
    }
}

/// Per kind: credential id -> the latest use noted since the last flush (epoch milliseconds).
type Noted = [HashMap<String, i64>; 4];

/// The uses noted on this instance and not yet written.
#[derive(Debug, Default)]
pub(crate) struct Uses {
    noted: Mutex<Noted>,
    /// Held for a whole flush, so flushes run one at a time: when one returns, every use noted
    /// before it began is written (or kept after a failure), even if the periodic flush had
    /// taken some of them a moment earlier.
    flushing: tokio::sync::Mutex<()>,
}

impl Uses {
    fn lock(&self) -> MutexGuard<'_, Noted> {
        self.noted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes a use of credential `id` at `at` (a later use of the same credential wins).
    pub(crate) fn note(&self, kind: CredentialKind, id: &str, at: DateTime<Utc>) {
        let at = at.timestamp_millis();
        let mut noted = self.lock();
        let uses = &mut noted[kind.index()];
        match uses.get_mut(id) {
            Some(latest) => *latest = (*latest).max(at),
            None => {
                uses.insert(id.to_owned(), at);
            }
        }
    }

    /// Takes everything noted so far.
    fn take(&self) -> Noted {
        std::mem::take(&mut *self.lock())
    }

    /// Puts back uses a flush did not write, keeping any later use noted meanwhile.
    fn restore(&self, kind: CredentialKind, unwritten: &[(String, i64)]) {
        let mut noted = self.lock();
        let uses = &mut noted[kind.index()];
        for (id, at) in unwritten {
            let latest = uses.entry(id.clone()).or_insert(*at);
            *latest = (*latest).max(*at);
        }
    }

    /// How many credentials have a use waiting to be written.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.lock().iter().map(HashMap::len).sum()
    }
}

/// The statement setting `last_used_at` of `rows` credentials of one kind: a portable
/// `update ... from` (PostgreSQL, and SQLite since 3.33) over a common table expression, as
/// SQLite names no columns of a bare `values` list.
fn update_statement(kind: CredentialKind, rows: usize) -> String {
    let (table, id) = kind.table();
    format!(
        "with used (id, used_at) as (values {}) \
         update {table} set last_used_at = used.used_at from used \
         where {table}.{id} = used.id \
         and ({table}.last_used_at is null or {table}.last_used_at < used.used_at)",
        values_placeholders(rows, 2, 1)
    )
}

/// Writes what `uses` noted (see [`ClientRegistry::flush_credential_uses`]).
async fn flush(pool: &AnyPool, uses: &Uses) -> Result<usize, RegistryError> {
    let _turn = uses.flushing.lock().await;
    let mut taken = uses.take();
    let mut written = 0;
    for kind in CredentialKind::ALL {
        let noted: Vec<(String, i64)> = taken[kind.index()].drain().collect();
        for (at, chunk) in noted.chunks(MAX_FLUSH_ROWS).enumerate() {
            let sql = update_statement(kind, chunk.len());
            let mut query = sqlx::query(&sql);
            for (id, used_at) in chunk {
                query = query.bind(id.as_str()).bind(*used_at);
            }
            if let Err(e) = query.execute(pool).await {
                // Put back what was not written: this chunk on, and every kind after it.
                uses.restore(kind, &noted[at * MAX_FLUSH_ROWS..]);
                for later in CredentialKind::ALL.iter().skip(kind.index() + 1) {
                    let rest: Vec<_> = taken[later.index()].drain().collect();
                    uses.restore(*later, &rest);
                }
                return Err(e.into());
            }
            written += chunk.len();
        }
    }
    Ok(written)
}

impl ClientRegistry {
    /// Notes that a credential authenticated a request at `now`; written by the next
    /// [`ClientRegistry::flush_credential_uses`], never on the request path.
    pub fn note_credential_use(&self, kind: CredentialKind, id: &str, now: DateTime<Utc>) {
        self.uses.note(kind, id, now);
    }

    /// Writes every use noted since the last flush into `last_used_at` (one statement per kind
    /// and [`MAX_FLUSH_ROWS`] credentials); returns how many credentials it wrote. The service
    /// calls it every few seconds and once more when it stops. A failed flush keeps what it did
    /// not write for the next.
    pub async fn flush_credential_uses(&self) -> Result<usize, RegistryError> {
        flush(self.db.pool(), &self.uses).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    #[test]
    fn the_latest_use_of_a_credential_wins() {
        let uses = Uses::default();
        uses.note(CredentialKind::ApiKey, "key_1", at(2_000));
        uses.note(CredentialKind::ApiKey, "key_1", at(1_000));
        uses.note(CredentialKind::ClientSecret, "key_1", at(500));
        let noted = uses.take();
        assert_eq!(noted[CredentialKind::ApiKey.index()]["key_1"], 2_000);
        assert_eq!(noted[CredentialKind::ClientSecret.index()]["key_1"], 500);
        assert_eq!(uses.pending(), 0, "taking empties the tally");
    }

    #[test]
    fn restoring_keeps_a_later_use_noted_meanwhile() {
        let uses = Uses::default();
        uses.note(CredentialKind::JwtCredential, "k", at(3_000));
        uses.restore(
            CredentialKind::JwtCredential,
            &[("k".into(), 1_000), ("other".into(), 1_000)],
        );
        let noted = uses.take();
        assert_eq!(noted[CredentialKind::JwtCredential.index()]["k"], 3_000);
        assert_eq!(noted[CredentialKind::JwtCredential.index()]["other"], 1_000);
    }

    #[test]
    fn one_statement_updates_a_chunk_and_never_moves_a_use_back() {
        let sql = update_statement(CredentialKind::JwtCredential, 2);
        assert!(
            sql.starts_with("with used (id, used_at) as (values ($1, $2), ($3, $4)) "),
            "{sql}"
        );
        assert!(sql.contains("where jwt_credentials.key = used.id"), "{sql}");
        assert!(
            sql.contains("jwt_credentials.last_used_at < used.used_at"),
            "{sql}"
        );
    }

    /// A migrated SQLite database in memory with one client and `keys` API keys never used.
    async fn database_with_api_keys(keys: usize) -> crate::db::Database {
        let db = crate::db::Database::connect_url(
            "sqlite::memory:",
            1,
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
        db.migrate().await.unwrap();
        sqlx::query(
            "insert into clients (id, name, allowed_scopes, default_scopes, allowed_states, \
             max_ttl_minutes, algorithm, status, phones, created_at, updated_at) \
             values ('c1', 'c1', '[]', '[]', '[]', 60, 'ES256', 'active', '[]', 0, 0)",
        )
        .execute(db.pool())
        .await
        .unwrap();
        for n in 0..keys {
            sqlx::query(
                "insert into api_keys (id, client_id, environment, digest, created_at) \
                 values ($1, 'c1', 'sandbox', $1, 0)",
            )
            .bind(format!("key_{n}"))
            .execute(db.pool())
            .await
            .unwrap();
        }
        db
    }

    async fn last_used(db: &crate::db::Database) -> Vec<Option<i64>> {
        let rows: Vec<(Option<i64>,)> =
            sqlx::query_as("select last_used_at from api_keys order by id")
                .fetch_all(db.pool())
                .await
                .unwrap();
        rows.into_iter().map(|(at,)| at).collect()
    }

    #[tokio::test]
    async fn one_flush_writes_every_noted_use_in_chunks_and_only_forward() {
        let keys = 2 * MAX_FLUSH_ROWS + 1; // three statements
        let db = database_with_api_keys(keys).await;
        let uses = Uses::default();
        for n in 0..keys {
            uses.note(CredentialKind::ApiKey, &format!("key_{n}"), at(5_000));
        }
        uses.note(CredentialKind::ApiKey, "key_unknown", at(5_000));

        let written = flush(db.pool(), &uses).await.unwrap();

        assert_eq!(written, keys + 1, "an unknown id costs nothing but its row");
        assert_eq!(uses.pending(), 0);
        assert!(last_used(&db).await.iter().all(|at| *at == Some(5_000)));
        uses.note(CredentialKind::ApiKey, "key_0", at(4_000)); // a slower instance's older use
        flush(db.pool(), &uses).await.unwrap();
        assert_eq!(last_used(&db).await[0], Some(5_000), "never moved back");
    }

    #[tokio::test]
    async fn a_failed_flush_keeps_its_notes_for_the_next() {
        let db = database_with_api_keys(3).await;
        let uses = Uses::default();
        for n in 0..3 {
            uses.note(CredentialKind::ApiKey, &format!("key_{n}"), at(7_000));
        }
        uses.note(CredentialKind::ServiceAccount, "sa", at(7_000));
        let closed = db.pool().clone();
        closed.close().await;

        assert!(flush(&closed, &uses).await.is_err());

        assert_eq!(
            uses.pending(),
            4,
            "every kind is kept, the failed one and those after it"
        );
    }
}
