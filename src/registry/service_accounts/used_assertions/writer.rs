//! The used-assertion record's group-committed writer: the statements that claim a batch's
//! `jti`s on each backend (see the parent module for the rules they keep).

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Connection, Row};

use crate::db::group_commit::{values_placeholders, BatchWrite, GroupCommit, SizedStatements};
use crate::db::{Backend, Database};
#[cfg(doc)]
use crate::registry::ClientRegistry;

/// Most uses recorded by one statement (three parameters each).
const MAX_BATCH: usize = 256;

/// PostgreSQL: how a batch's claim begins. Its statements must find each `jti` of the batch by a
/// probe of the `(service_account_id, jti_digest, expires_at)` index of each partition that may
/// hold it, and nothing else will do for a table that grows by millions of rows a day. The
/// planner need not agree, and it did not in `bench/run.sh` (1-33 ms a batch within seconds,
/// growing with every row): its statistics of a day's partition are those of its last analysis,
/// possibly when it held a few rows, and each connection keeps the plan it made then (the
/// statements are prepared) while the day fills up. Given a join, or a list of pairs, it read
/// the whole partition or the whole of its index. So the insert checks each pair in a sub-query
/// of its own that cannot become a join (`offset 0`), the delete runs only where a primary key
/// would let expired rows refuse new uses (see [`AssertionUseWriter`]), and sequential scans are
/// priced out for this transaction, so that no statistics make a probe a scan.
const BEGIN_CLAIM: &str = "begin; set local enable_seqscan = off";

/// One accepted assertion's use of its `jti`, waiting for its batch.
pub(crate) struct AssertionUse {
    pub(super) service_account_id: String,
    pub(super) jti_digest: String,
    pub(super) expires_at: i64,
    pub(super) now: i64,
}

/// Records uses with group commit: one transaction (PostgreSQL) or one upsert (SQLite) per
/// batch, answering per use whether it claimed its `jti` (see
/// [`ClientRegistry::record_assertion_use`]).
pub(crate) struct AssertionUseWriter {
    backend: Backend,
    /// SQLite: the upsert of each batch size written so far.
    upserts: SizedStatements,
    /// PostgreSQL: the advisory locks of a batch's `jti`s, in one order.
    locks: SizedStatements,
    /// PostgreSQL: the removal of expired uses of a batch's `jti`s where a primary key
    /// `(service_account_id, jti_digest)` would make them refuse a new use: on the table as it is
    /// before its contract migrations, and on the partition they make of it
    /// (`used_assertions_legacy`) until retention drops it. Partitioned without it, the table
    /// has no such key (expired rows refuse nothing and go with their day), and the statement
    /// stops before reading anything.
    expired: SizedStatements,
    /// PostgreSQL: the insert of the uses whose `jti` no unexpired row holds.
    inserts: SizedStatements,
}

/// The group-committed used-assertion record.
pub(crate) type AssertionUses = GroupCommit<AssertionUseWriter>;

/// Starts the used-assertion writers for `db`: `postgres_writers` on PostgreSQL, as for the
/// issuance record (`[signing] issuance_writers`), one on SQLite.
pub(crate) fn start(db: &Database, postgres_writers: usize) -> AssertionUses {
    GroupCommit::start(
        db.pool().clone(),
        db.backend(),
        postgres_writers,
        MAX_BATCH,
        AssertionUseWriter {
            backend: db.backend(),
            upserts: SizedStatements::new(|rows| {
                format!(
                    "insert into used_assertions (service_account_id, jti_digest, expires_at) \
                     values {} on conflict (service_account_id, jti_digest) \
                     do update set expires_at = excluded.expires_at \
                     where used_assertions.expires_at <= $1 \
                     returning service_account_id, jti_digest",
                    values_placeholders(rows, 3, 2)
                )
            }),
            locks: SizedStatements::new(|rows| {
                format!(
                    "select pg_advisory_xact_lock(k) from (select distinct \
                     hashtextextended(v.a || ':' || v.j, 0) as k from (values {}) v(a, j) \
                     order by k) keys",
                    values_placeholders(rows, 2, 1)
                )
            }),
            expired: SizedStatements::new(|rows| {
                format!(
                    "delete from used_assertions where expires_at <= $1 \
                     and (service_account_id, jti_digest) in ({}) \
                     and (to_regclass('used_assertions_legacy') is not null \
                     or not exists (select 1 from pg_partitioned_table \
                     where partrelid = to_regclass('used_assertions')))",
                    values_placeholders(rows, 2, 2)
                )
            }),
            inserts: SizedStatements::new(|rows| {
                format!(
                    "insert into used_assertions (service_account_id, jti_digest, expires_at) \
                     select v.a, v.j, v.e from (values {}) v(a, j, e) \
                     where not exists (select 1 from used_assertions u \
                     where u.service_account_id = v.a and u.jti_digest = v.j \
                     and u.expires_at > $1 offset 0) \
                     on conflict do nothing \
                     returning service_account_id, jti_digest",
                    values_placeholders(rows, 3, 2)
                )
            }),
        },
    )
}

impl BatchWrite for AssertionUseWriter {
    type Item = AssertionUse;
    type Outcome = bool;

    /// A use claims its `jti` when no unexpired row holds it: its row is inserted (or an expired
    /// one renewed), and `returning` names exactly those rows. A second use of the same `jti` in
    /// the batch is not sent: it is a replay of the first whatever the first's outcome.
    /// "Expired" is judged at the earliest `now` of the batch, which can only refuse more (the
    /// uses are concurrent).
    async fn write(
        &self,
        connection: &mut AnyConnection,
        uses: &[AssertionUse],
    ) -> Result<Vec<bool>, sqlx::Error> {
        let mut first_of: HashMap<(&str, &str), usize> = HashMap::with_capacity(uses.len());
        let mut sent = Vec::with_capacity(uses.len());
        for (index, used) in uses.iter().enumerate() {
            let key = (used.service_account_id.as_str(), used.jti_digest.as_str());
            if let Entry::Vacant(slot) = first_of.entry(key) {
                slot.insert(index);
                sent.push(used);
            }
        }
        let now = uses.iter().map(|u| u.now).min().unwrap_or_default();
        let rows = match self.backend {
            Backend::Sqlite => {
                let sql = self.upserts.get(sent.len());
                bind_uses(sqlx::query(&sql).bind(now), &sent, true)
                    .fetch_all(connection)
                    .await?
            }
            Backend::Postgres => {
                let mut tx = connection.begin_with(BEGIN_CLAIM).await?;
                let sql = self.locks.get(sent.len());
                bind_uses(sqlx::query(&sql), &sent, false)
                    .execute(&mut *tx)
                    .await?;
                let sql = self.expired.get(sent.len());
                bind_uses(sqlx::query(&sql).bind(now), &sent, false)
                    .execute(&mut *tx)
                    .await?;
                let sql = self.inserts.get(sent.len());
                let rows = bind_uses(sqlx::query(&sql).bind(now), &sent, true)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
        };
        let mut claimed = vec![false; uses.len()];
        for row in rows {
            let account: String = row.try_get(0)?;
            let digest: String = row.try_get(1)?;
            if let Some(&index) = first_of.get(&(account.as_str(), digest.as_str())) {
                claimed[index] = true;
            }
        }
        Ok(claimed)
    }
}

/// Binds each use's account and digest, and its expiry when `with_expiry`.
fn bind_uses<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    uses: &[&'q AssertionUse],
    with_expiry: bool,
) -> Query<'q, Any, AnyArguments<'q>> {
    for used in uses {
        query = query
            .bind(used.service_account_id.as_str())
            .bind(used.jti_digest.as_str());
        if with_expiry {
            query = query.bind(used.expires_at);
        }
    }
    query
}
