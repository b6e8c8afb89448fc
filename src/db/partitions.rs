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

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::{AnyPool, Executor, Row};

use super::{Backend, Database};

/// One UTC day, in the partition key's unit (epoch milliseconds).
const DAY_MS: i64 = 86_400_000;

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

/// One partition and its range; `None` bounds are MINVALUE/MAXVALUE.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Partition {
    name: String,
    /// `None` for the default partition.
    range: Option<(Option<i64>, Option<i64>)>,
}

impl Partition {
    fn is_default(&self) -> bool {
        self.range.is_none()
    }

    /// Whether its range ends at or before `at` (the default partition never does).
    fn ends_by(&self, at: i64) -> bool {
        matches!(self.range, Some((_, Some(to))) if to <= at)
    }

    /// Whether it holds rows one by one: the default partition and a legacy one.
    fn pruned_by_rows(&self) -> bool {
        matches!(self.range, None | Some((None, _)))
    }

    /// Whether its range meets `[from, to)`.
    fn overlaps(&self, from: i64, to: i64) -> bool {
        match self.range {
            None => false,
            Some((lower, upper)) => lower.is_none_or(|l| l < to) && upper.is_none_or(|u| u > from),
        }
    }
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
        let mut created = 0;
        let mut day = start_of_day(from);
        while day <= through.timestamp_millis() {
            if !partitions.iter().any(|p| p.overlaps(day, day + DAY_MS)) {
                let default = partitions.iter().find(|p| p.is_default());
                if self.create_day(pool, day, default).await? {
                    created += 1;
                }
            }
            day += DAY_MS;
        }
        Ok(created)
    }

    /// Removes what lies wholly before `before`: detaches and drops every partition whose range
    /// ends by then, and deletes such rows from the default and legacy partitions with
    /// `delete_sql` (see `db::delete_in_batches`; `{table}` names the partition). On SQLite, or
    /// while the table is not partitioned, `delete_sql` runs on the table itself.
    #[tracing::instrument(skip_all, fields(table = self.table))]
    pub async fn prune(
        &self,
        db: &Database,
        before: DateTime<Utc>,
        delete_sql: &str,
        batch_size: u32,
    ) -> Result<Pruned, sqlx::Error> {
        self.remove(db, Some(before), before, delete_sql, batch_size)
            .await
    }

    /// [`Self::prune`] with two cut-offs: whole days go once their range ends by `days_before`,
    /// rows deleted one by one once before `rows_before`.
    pub async fn prune_days_and_rows(
        &self,
        db: &Database,
        days_before: DateTime<Utc>,
        rows_before: DateTime<Utc>,
        delete_sql: &str,
        batch_size: u32,
    ) -> Result<Pruned, sqlx::Error> {
        self.remove(db, Some(days_before), rows_before, delete_sql, batch_size)
            .await
    }

    /// Deletes rows with `delete_sql` (as [`Self::prune`] does) but drops no partition: for rows
    /// that may go earlier than their day, which in a day's partition simply wait for it.
    pub async fn delete_rows(
        &self,
        db: &Database,
        before: DateTime<Utc>,
        delete_sql: &str,
        batch_size: u32,
    ) -> Result<u64, sqlx::Error> {
        Ok(self
            .remove(db, None, before, delete_sql, batch_size)
            .await?
            .rows)
    }

    /// Drops the days ended by `days_before` (none when `None`) and deletes rows before
    /// `before` where rows are pruned one by one.
    async fn remove(
        &self,
        db: &Database,
        days_before: Option<DateTime<Utc>>,
        before: DateTime<Utc>,
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
            let rows = super::delete_in_batches(pool, &sql, before, batch_size).await?;
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
                let sql = delete_sql.replace("{table}", &quoted(&partition.name)?);
                pruned.rows += super::delete_in_batches(pool, &sql, before, batch_size).await?;
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
            let range = parse_bound(&bound).ok_or_else(|| {
                sqlx::Error::Protocol(format!("unexpected partition bound of {name}: {bound}"))
            })?;
            partitions.push(Partition { name, range });
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
        let (table, column) = (quoted(self.table)?, quoted(self.column)?);
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
            let default = quoted(&default.name)?;
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
        let (table, name) = (quoted(self.table)?, quoted(name)?);
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

/// The first millisecond of `at`'s UTC day.
fn start_of_day(at: DateTime<Utc>) -> i64 {
    at.date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
}

/// `<table>_pYYYYMMDD` for the day starting at `day` (epoch ms).
fn day_partition_name(table: &str, day: i64) -> Result<String, sqlx::Error> {
    let date = DateTime::from_timestamp_millis(day)
        .ok_or_else(|| sqlx::Error::Protocol(format!("no UTC day starts at {day}")))?;
    quoted(&format!("{table}_p{}", date.format("%Y%m%d")))
}

/// `name` as an SQL identifier: only lower-case letters, digits and `_` are expected (catalog
/// names of this module's tables), and anything else is refused rather than quoted.
fn quoted(name: &str) -> Result<String, sqlx::Error> {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        Ok(name.to_owned())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "unexpected partition name {name:?}"
        )))
    }
}

/// The range of `pg_get_expr(relpartbound)`: `None` for `DEFAULT`, `Some((from, to))` for
/// `FOR VALUES FROM ('a') TO ('b')` with MINVALUE/MAXVALUE as `None`; `None` inside `Some` means
/// unparseable and is reported by the caller.
fn parse_bound(expr: &str) -> Option<Option<(Option<i64>, Option<i64>)>> {
    if expr.trim() == "DEFAULT" {
        return Some(None);
    }
    let rest = expr.trim().strip_prefix("FOR VALUES FROM (")?;
    let (from, rest) = rest.split_once(") TO (")?;
    let to = rest.strip_suffix(')')?;
    Some(Some((bound_value(from)?, bound_value(to)?)))
}

/// One range bound: `Some(None)` for MINVALUE/MAXVALUE, `Some(Some(n))` for `'n'` or `n`.
fn bound_value(text: &str) -> Option<Option<i64>> {
    match text.trim() {
        "MINVALUE" | "MAXVALUE" => Some(None),
        value => value.trim_matches('\'').parse().ok().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_as_postgresql_prints_them() {
        assert_eq!(parse_bound("DEFAULT"), Some(None));
        assert_eq!(
            parse_bound("FOR VALUES FROM ('1797120000000') TO ('1797206400000')"),
            Some(Some((Some(1_797_120_000_000), Some(1_797_206_400_000))))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM (MINVALUE) TO ('1797206400000')"),
            Some(Some((None, Some(1_797_206_400_000))))
        );
        assert_eq!(parse_bound("FOR VALUES IN ('a')"), None);
        assert_eq!(parse_bound("FOR VALUES FROM ('x') TO ('1')"), None);
    }

    #[test]
    fn partitions_know_their_ranges() {
        let day = Partition {
            name: "t_p20261210".into(),
            range: Some((Some(100), Some(200))),
        };
        let legacy = Partition {
            name: "t_legacy".into(),
            range: Some((None, Some(100))),
        };
        let default = Partition {
            name: "t_default".into(),
            range: None,
        };
        assert!(day.ends_by(200) && !day.ends_by(199));
        assert!(!day.pruned_by_rows() && legacy.pruned_by_rows() && default.pruned_by_rows());
        assert!(!default.ends_by(i64::MAX) && !default.overlaps(0, i64::MAX));
        assert!(day.overlaps(199, 300) && !day.overlaps(200, 300) && !day.overlaps(0, 100));
        assert!(legacy.overlaps(0, 1) && !legacy.overlaps(100, 200));
    }

    #[test]
    fn days_are_named_and_bounded_in_utc() {
        let at = DateTime::parse_from_rfc3339("2026-12-10T23:59:59.999Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = start_of_day(at);
        assert_eq!(day % DAY_MS, 0);
        assert_eq!(at.timestamp_millis() - day, DAY_MS - 1);
        assert_eq!(
            day_partition_name("issuances", day).unwrap(),
            "issuances_p20261210"
        );
        assert!(quoted("issuances; drop table x").is_err());
    }
}
