//! The used-assertion record: replay protection for service-account assertions (RFC 7523 §3,
//! item 7 lets the server keep used `jti` values until they expire), and for DPoP proofs.
//!
//! One row per use of a (service account, `jti`) holds the expiry of the assertion that used it,
//! and a `jti` is refused while a row of it is unexpired. The `jti` is stored as its SHA-256, so
//! any length fits the index and no caller-chosen text is kept. Concurrent uses share one
//! statement and one commit ([`GroupCommit`]), and when two instances race on the same `jti`
//! exactly one claims it:
//! - on PostgreSQL a batch takes a transaction-level advisory lock per `jti` (in one order, so
//!   batches cannot deadlock), removes expired uses of those `jti`s (only where a primary key
//!   would let them refuse new uses) and inserts the ones no unexpired row holds, in a statement
//!   that starts once the locks are held and so sees every earlier claim. That works whether the table is partitioned by day of expiry (its contract
//!   migrations, `db::partitions`), where no unique key can say "one unexpired row per `jti`",
//!   or still the plain table an earlier release upserts into, whose primary key then decides;
//! - on SQLite (one writer) an upsert that only overwrites an *expired* row.
//!
//! The scheme claims a `jti` with [`ClientRegistry::claim_assertion_use`] before asking for a
//! token and hands the [`ClaimedAssertion`] to the signing core, which compensates, not the
//! scheme: keeping it adds nothing (the row is already written), and when no token leaves it is
//! released (only the row this use wrote is deleted), so the assertion may be retried.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{DateTime, Days, Utc};
use sha2::{Digest, Sha256};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Connection, Row};

use crate::db::group_commit::{
    values_placeholders, BatchError, BatchWrite, GroupCommit, SizedStatements,
};
use crate::db::partitions::{DailyPartitions, Pruned};
use crate::db::{Backend, Database};
use crate::registry::{ClientRegistry, RegistryError};
use crate::single_use::{IssuedRecord, SingleUse, SingleUseError};

fn digest(jti: &str) -> String {
    hex::encode(Sha256::digest(jti.as_bytes()))
}

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
    service_account_id: String,
    jti_digest: String,
    expires_at: i64,
    now: i64,
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

/// The single-use store, partitioned by day of expiry on PostgreSQL once its contract migrations
/// have run (see `db::partitions`).
pub(crate) const SINGLE_USE: DailyPartitions = DailyPartitions {
    table: "used_assertions",
    column: "expires_at",
};

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

/// The outcome of claiming an assertion's `jti` for an issuance.
#[derive(Debug)]
pub enum AssertionClaim<'a> {
    /// The `jti` was free and is now used: issue the token, consuming the claim.
    Claimed(ClaimedAssertion<'a>),
    /// A still-unexpired assertion of the same service account used it first.
    Replayed,
}

/// A recorded use of an assertion's `jti`, consumed by the issuance it allowed.
#[derive(Debug)]
pub struct ClaimedAssertion<'a> {
    registry: &'a ClientRegistry,
    service_account_id: &'a str,
    jti: &'a str,
    expires_at: DateTime<Utc>,
}

#[async_trait::async_trait]
impl SingleUse for ClaimedAssertion<'_> {
    /// Nothing to add: the use was recorded when it was claimed and stays until it expires.
    async fn keep(&self, _issued: &IssuedRecord<'_>) -> Result<(), SingleUseError> {
        Ok(())
    }

    /// Forgets the use, so the caller may retry with the same assertion.
    async fn release(&self) {
        let released = self
            .registry
            .release_assertion_use(self.service_account_id, self.jti, self.expires_at)
            .await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "could not release the jti of a failed issuance");
        }
    }
}

impl ClientRegistry {
    /// Claims `jti` for an accepted assertion of `service_account_id` valid until `expires_at`
    /// (see [`Self::record_assertion_use`]): the claim, or [`AssertionClaim::Replayed`].
    pub async fn claim_assertion_use<'a>(
        &'a self,
        service_account_id: &'a str,
        jti: &'a str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<AssertionClaim<'a>, RegistryError> {
        if !self
            .record_assertion_use(service_account_id, jti, expires_at, now)
            .await?
        {
            return Ok(AssertionClaim::Replayed);
        }
        Ok(AssertionClaim::Claimed(ClaimedAssertion {
            registry: self,
            service_account_id,
            jti,
            expires_at,
        }))
    }

    /// Records that an accepted assertion used `jti` until `expires_at`. Returns `false` when a
    /// still-unexpired assertion of the same service account used it first (a replay). Uses that
    /// arrive together are recorded in one statement and one commit; each answer comes after it.
    #[tracing::instrument(skip_all, fields(service_account_id = %service_account_id))]
    pub async fn record_assertion_use(
        &self,
        service_account_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, RegistryError> {
        let now_millis = now.timestamp_millis();
        let jti_digest = digest(jti);
        self.assertion_uses
            .submit(AssertionUse {
                service_account_id: service_account_id.to_owned(),
                jti_digest,
                expires_at: expires_at.timestamp_millis(),
                now: now_millis,
            })
            .await
            .map_err(|failure| match failure {
                BatchError::Unavailable(e) => RegistryError::Unavailable(e),
                other => RegistryError::Internal(anyhow::anyhow!(
                    "recording the assertion's use failed: {other}"
                )),
            })
    }

    /// Forgets a use recorded by [`Self::record_assertion_use`] whose token could not be issued,
    /// so the caller may retry with the same assertion. Only the row this use wrote is removed.
    /// Called only by [`ClaimedAssertion::release`].
    async fn release_assertion_use(
        &self,
        service_account_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "delete from used_assertions \
             where service_account_id = $1 and jti_digest = $2 and expires_at = $3",
        )
        .bind(service_account_id)
        .bind(digest(jti))
        .bind(expires_at.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Deletes the rows of DPoP proofs (issuer `dpop:<thumbprint>`, see `http::dpop`) whose window
    /// ended before `now`: a proof that old is refused by its `iat` anyway, so its `jti` need not
    /// be kept (RFC 9449 §11.1). At most `batch_size` per statement; returns how many went. On a
    /// partitioned store only the default and legacy partitions are pruned so: in a day's
    /// partition a proof's row goes with its day (see [`Self::prune_used_assertions`]).
    #[tracing::instrument(skip_all, fields(batch_size = batch_size))]
    pub async fn prune_dpop_proofs(
        &self,
        now: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, RegistryError> {
        // No day is dropped here: in a day's partition a proof's row waits for its day.
        Ok(SINGLE_USE
            .prune(
                &self.db,
                None,
                now,
                "delete from {table} where expires_at < $1 \
                 and service_account_id like 'dpop:%' \
                 and (service_account_id, jti_digest) in (select service_account_id, jti_digest \
                 from {table} where expires_at < $1 \
                 and service_account_id like 'dpop:%' limit $2)",
                batch_size,
            )
            .await?
            .rows)
    }

    /// Removes used-assertion rows that can no longer refuse anything (a `jti` is refused only
    /// while a use of it is unexpired). Rows deleted one by one (SQLite, a store not yet
    /// partitioned, and its default and legacy partitions) go once they expired before
    /// `expired_before`, at most `batch_size` per statement, until none is left. A partitioned
    /// store's days go whole once their last expiry is before `days_before`, which may be later
    /// (no margin is needed for rows the store alone reads). Safe on several instances at once.
    #[tracing::instrument(skip_all, fields(batch_size = batch_size))]
    pub async fn prune_used_assertions(
        &self,
        expired_before: DateTime<Utc>,
        days_before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<Pruned, RegistryError> {
        // The outer condition is repeated so that a row a concurrent use just renewed (SQLite's
        // upsert) is re-checked and kept.
        Ok(SINGLE_USE
            .prune(
                &self.db,
                Some(days_before),
                expired_before,
                "delete from {table} where expires_at < $1 \
                 and (service_account_id, jti_digest) in (select service_account_id, jti_digest \
                 from {table} where expires_at < $1 limit $2)",
                batch_size,
            )
            .await?)
    }

    /// Creates the single-use store's partitions (PostgreSQL, once partitioned) for every day
    /// from `now`'s through two days later; returns how many it created. Its rows expire within
    /// an hour (assertions) or a minute (DPoP proofs) of their use: the two days leave room for
    /// retention passes that fail, or an instance that is down.
    pub async fn prepare_single_use_partitions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, RegistryError> {
        let through = now
            .checked_add_days(Days::new(2))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Ok(SINGLE_USE.prepare(&self.db, now, through).await?)
    }
}
