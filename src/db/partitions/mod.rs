//! Tables partitioned by day on PostgreSQL: creating days ahead, and retiring whole days.
//!
//! A per-request table that is only ever pruned by age (the issuance record, the single-use
//! stores) is partitioned on PostgreSQL by range of one epoch-millisecond column, one partition
//! per UTC day (`<table>_pYYYYMMDD`), plus a default partition that catches a row whose day does
//! not exist yet instead of failing its insert. Retention then removes a day by detaching and
//! dropping its partition: no `DELETE`, nothing for vacuum to reclaim, however many rows it held.
//! SQLite keeps plain tables, pruned by deletes as before.
//!
//! Two kinds of partition are still pruned row by row: the default partition, and the *legacy*
//! partition of a table partitioned in place (its old rows, every expiry before a bound, see
//! migration 20261210000003), until its bound has passed and it is dropped whole too.
//!
//! Every change holds a transaction-level advisory lock, so instances running it at once take
//! turns and the second finds the work done, and a short `lock_timeout`, so a change waiting
//! behind a long query gives up (and is retried by the next pass) rather than queueing the token
//! routes' inserts behind its lock. Creating a day attaches a new table, which locks the parent
//! only against other schema changes (SHARE UPDATE EXCLUSIVE); detaching takes it exclusively
//! for an instant.
//! The partition names and bounds come from the catalog and from this module, never from a
//! request.

mod catalog;

use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Executor, Row};

use super::{Backend, Database};
use catalog::{day_partition_name, identifier, start_of_day, Bounds, Partition, DAY_MS};

/// Serializes partition changes across instances (`pg_advisory_xact_lock`): "tokenmint" in ASCII.
const ADVISORY_KEY: i64 = 0x746f_6b65_6e6d_696e;

/// How long a partition change waits for its lock before giving up until the next pass.
const LOCK_TIMEOUT_MS: u32 = 2_000;

/// A table partitioned by day of `column` (epoch milliseconds) on PostgreSQL.
#[derive(Clone, Copy, Debug)]
pub struct DailyPartitions {
    /// The partitioned table.
    pub table: &'static str,
    /// Its partition key, a BIGINT of epoch milliseconds.
    pub column: &'static str,
}

/// What [`DailyPartitions::prune`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Whole partitions detached and dropped.
    pub partitions: u64,
    /// Rows deleted one by one (SQLite, or the default and legacy partitions).
    pub rows: u64,
}

impl DailyPartitions {
    /// Makes sure a partition exists for every UTC day from `from`'s through `through`'s, moving
    /// any rows the default partition holds for such a day into it; returns how many it created.
    /// Does nothing on SQLite, or on PostgreSQL while the table is not partitioned.
    #[tracing::instrument(skip_all, fields(table = self.table))]
    pub async fn prepare(
        &self,
        db: &Database,
        from: DateTime<Utc>,
        through: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        if db.backend() != Backend::Postgres {
            return Ok(0);
        }
        let pool = db.pool();
        let Some(partitions) = self.partitions(pool).await? else {
            return Ok(0);
        };
        let default = partitions.iter().find(|p| p.is_default());
        let mut created = 0;
        let mut day = start_of_day(from);
        while day <= through.timestamp_millis() {
            let missing = !partitions.iter().any(|p| p.overlaps(day, day + DAY_MS));
            if missing && self.create_day(pool, day, default).await? {
                created += 1;
            }
            day += DAY_MS;
        }
        Ok(created)
    }

    /// Removes what can go: detaches and drops every partition whose range ends by
    /// `days_before` (none when `None`), and deletes rows before `rows_before` with `delete_sql`
    /// (see `db::delete_in_batches`; `{table}` names the partition) from the default and legacy
    /// partitions. On SQLite, or while the table is not partitioned, `delete_sql` runs on the
    /// table itself.
    #[tracing::instrument(skip_all, fields(table = self.table))]
    pub async fn prune(
        &self,
        db: &Database,
        days_before: Option<DateTime<Utc>>,
        rows_before: DateTime<Utc>,
        delete_sql: &str,
        batch_size: u32,
    ) -> Result<Pruned, sqlx::Error> {
        let pool = db.pool();
        let partitions = match db.backend() {
            Backend::Postgres => self.partitions(pool).await?,
            Backend::Sqlite => None,
        };
        let Some(partitions) = partitions else {
            let sql = delete_sql.replace("{table}", self.table);
            let rows = super::delete_in_batches(pool, &sql, rows_before, batch_size).await?;
            return Ok(Pruned {
                partitions: 0,
                rows,
            });
        };
        let cut = days_before.map(|at| at.timestamp_millis());
        let mut pruned = Pruned::default();
        for partition in &partitions {
            if cut.is_some_and(|cut| partition.ends_by(cut)) {
                if self.drop_partition(pool, &partition.name).await? {
                    pruned.partitions += 1;
                }
            } else if partition.pruned_by_rows() {
                let sql = delete_sql.replace("{table}", &identifier(&partition.name)?);
                pruned.rows +=
                    super::delete_in_batches(pool, &sql, rows_before, batch_size).await?;
            }
        }
        Ok(pruned)
    }

    /// The table's partitions, or `None` when it is not a partitioned table.
    async fn partitions(&self, pool: &AnyPool) -> Result<Option<Vec<Partition>>, sqlx::Error> {
        let partitioned: bool = sqlx::query(
            "select exists (select 1 from pg_partitioned_table \
             where partrelid = to_regclass($1)::oid)",
        )
        .bind(self.table)
        .fetch_one(pool)
        .await?
        .try_get(0)?;
        if !partitioned {
            return Ok(None);
        }
        let rows = sqlx::query(
            "select c.relname::text, pg_get_expr(c.relpartbound, c.oid) \
             from pg_inherits i join pg_class c on c.oid = i.inhrelid \
             where i.inhparent = to_regclass($1)::oid order by c.relname",
        )
        .bind(self.table)
        .fetch_all(pool)
        .await?;
        let mut partitions = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get(0)?;
            // No bound: detached by another instance while this query ran.
            let Some(bound) = row.try_get::<Option<String>, _>(1)? else {
                continue;
            };
            let bounds = Bounds::parse(&bound).ok_or_else(|| {
                sqlx::Error::Protocol(format!("unexpected partition bound of {name}: {bound}"))
            })?;
            partitions.push(Partition { name, bounds });
        }
        Ok(Some(partitions))
    }

    /// Creates the partition of the day starting at `day` (epoch ms) unless another instance
    /// just did; returns whether this call created it.
    async fn create_day(
        &self,
        pool: &AnyPool,
        day: i64,
        default: Option<&Partition>,
    ) -> Result<bool, sqlx::Error> {
        let name = day_partition_name(self.table, day)?;
        let (table, column) = (identifier(self.table)?, identifier(self.column)?);
        let mut tx = pool.begin().await?;
        lock_for_changes(&mut tx).await?;
        if exists(&mut tx, &name).await? {
            return Ok(false);
        }
        // Made apart and then attached: attaching locks the parent only against other schema
        // changes, where `CREATE TABLE .. PARTITION OF` would lock out the inserts for a moment.
        tx.execute(format!("create table {name} (like {table} including defaults)").as_str())
            .await?;
        let range = format!("{column} >= {day} and {column} < {}", day + DAY_MS);
        if let Some(default) = default {
            // Rows of this day that arrived before it existed move with it: attaching checks
            // that the default partition holds none, and the lock keeps new ones out meanwhile.
            let default = identifier(&default.name)?;
            tx.execute(format!("lock table {default} in exclusive mode").as_str())
                .await?;
            tx.execute(
                format!("insert into {name} select * from {default} where {range}").as_str(),
            )
            .await?;
            tx.execute(format!("delete from {default} where {range}").as_str())
                .await?;
        }
        tx.execute(
            format!(
                "alter table {table} attach partition {name} for values from ({day}) to ({})",
                day + DAY_MS
            )
            .as_str(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(partition = %name, "partition created");
        Ok(true)
    }

    /// Detaches and drops one partition unless another instance just did; returns whether this
    /// call dropped it.
    async fn drop_partition(&self, pool: &AnyPool, name: &str) -> Result<bool, sqlx::Error> {
        let (table, name) = (identifier(self.table)?, identifier(name)?);
        let mut tx = pool.begin().await?;
        lock_for_changes(&mut tx).await?;
        if !exists(&mut tx, &name).await? {
            return Ok(false);
        }
        tx.execute(format!("alter table {table} detach partition {name}").as_str())
            .await?;
        tx.execute(format!("drop table {name}").as_str()).await?;
        tx.commit().await?;
        tracing::info!(partition = %name, "partition dropped");
        Ok(true)
    }
}

/// Takes the cross-instance lock for partition changes and bounds every lock wait after it.
async fn lock_for_changes(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), sqlx::Error> {
    tx.execute(format!("set local lock_timeout = {LOCK_TIMEOUT_MS}").as_str())
        .await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(ADVISORY_KEY)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn exists(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    name: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query("select to_regclass($1) is not null")
        .bind(name)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)
}
