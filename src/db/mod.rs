//! The connection pool and migrations, for PostgreSQL and SQLite alike.
//!
//! One `AnyPool` runs the same portable SQL on both backends (`$1` placeholders, TEXT ids, BIGINT
//! epoch-millisecond timestamps, JSON as TEXT). What really differs between them lives here and
//! only here: SQLite's file creation, WAL and busy timeout, and which migration set applies.
//! No queries of the domain are written here: they belong to `registry` and `signing`.

pub mod group_commit;
pub mod keyset;
pub mod partitions;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Executor};

use crate::config::DatabaseSettings;

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
/// PostgreSQL's *contract* migrations: changes that instances of an older release cannot work
/// with, applied once none is left (`tokenmint migrate --contract`), and at once on a new
/// database. This release works before and after them.
static POSTGRES_CONTRACT_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("migrations/postgres_contract");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Which database engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Production: several instances share one database.
    Postgres,
    /// Embedded default for development and single-instance use.
    Sqlite,
}

/// A connection pool with the knowledge of its backend.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl Database {
    /// Connects to the configured database (creating an SQLite file and its folder if needed).
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::connect_url(
            settings.url.expose_secret(),
            settings.max_connections,
            Duration::from_millis(settings.acquire_timeout_ms),
        )
        .await
    }

    /// Connects to a database URL with the given pool size and acquire timeout.
    pub async fn connect_url(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with postgres:// or sqlite://");
        };
        // sqlx pings every connection it hands out (one more round trip, and a wake-up of the
        // database process, before every query and every group commit). A connection used less
        // than `ALIVE_BYPASS` ago was alive then; one that has died since fails its query, which
        // answers 503 and is discarded, as when the database goes away mid-query.
        let options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= ALIVE_BYPASS {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        let (url, options) = match backend {
            Backend::Postgres => (url.to_owned(), options),
            Backend::Sqlite => sqlite_options(url, options)?,
        };
        let pool = options
            .connect(&url)
            .await
            .context("cannot connect to the database")?;
        Ok(Self { pool, backend })
    }

    /// Applies the backend's pending migrations, for a deployment whose tokens live at most a
    /// week (see [`Self::migrate_for_tokens_up_to`]).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.migrate_for_tokens_up_to(7 * 24 * 60).await
    }

    /// Applies the backend's pending migrations. A migration that partitions a table in place
    /// while the previous release still writes to it (see `partitions`) needs to know how far
    /// ahead those writes expire: `max_ttl_cap_minutes` (`[signing]`), handed to it as the
    /// session setting `tokenmint.max_ttl_cap_minutes`. On a new PostgreSQL database the contract
    /// migrations are applied too (see [`Self::contract`]): no older instance can be using it.
    pub async fn migrate_for_tokens_up_to(&self, max_ttl_cap_minutes: i64) -> anyhow::Result<()> {
        let mut connection = self.pool.acquire().await?;
        let Backend::Postgres = self.backend else {
            return SQLITE_MIGRATIONS
                .run(&mut *connection)
                .await
                .context("applying database migrations");
        };
        let new_database: bool =
            sqlx::query_scalar("select to_regclass('_sqlx_migrations') is null")
                .fetch_one(&mut *connection)
                .await?;
        sqlx::query("select set_config('tokenmint.max_ttl_cap_minutes', $1, false)")
            .bind(max_ttl_cap_minutes.max(1).to_string())
            .execute(&mut *connection)
            .await?;
        apply_postgres(&POSTGRES_MIGRATIONS, &mut connection)
            .await
            .context("applying database migrations")?;
        if new_database {
            apply_postgres(&POSTGRES_CONTRACT_MIGRATIONS, &mut connection)
                .await
                .context("applying the contract migrations")?;
        }
        Ok(())
    }

    /// Applies PostgreSQL's contract migrations: run once every instance runs this release (an
    /// instance of an earlier one would fail its single-use claims afterwards). Nothing to do on
    /// SQLite.
    pub async fn contract(&self) -> anyhow::Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut connection = self.pool.acquire().await?;
        apply_postgres(&POSTGRES_CONTRACT_MIGRATIONS, &mut connection)
            .await
            .context("applying the contract migrations")
    }

    /// Whether the contract migrations have all been applied (always on SQLite).
    pub async fn is_contracted(&self) -> anyhow::Result<bool> {
        if self.backend != Backend::Postgres {
            return Ok(true);
        }
        let applied: Vec<i64> =
            sqlx::query_scalar("select version from _sqlx_migrations where success")
                .fetch_all(&self.pool)
                .await?;
        Ok(POSTGRES_CONTRACT_MIGRATIONS
            .iter()
            .all(|m| applied.contains(&m.version)))
    }

    /// The pool, for the modules that own SQL.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1")
            .fetch_one(&self.pool)
            .await
            .map(|_: AnyRow| ())
            .is_ok()
    }
}

/// Applies one of PostgreSQL's two migration sets. Each is blind to the other's versions, which
/// the database lists as applied too, so it ignores versions it does not know.
async fn apply_postgres(
    set: &sqlx::migrate::Migrator,
    connection: &mut sqlx::pool::PoolConnection<sqlx::Any>,
) -> Result<(), sqlx::migrate::MigrateError> {
    let set = sqlx::migrate::Migrator {
        migrations: set.migrations.clone(),
        ignore_missing: true,
        ..sqlx::migrate::Migrator::DEFAULT
    };
    set.run(&mut **connection).await
}

/// How recently a pooled connection must have been used to be handed out without a ping.
pub(crate) const ALIVE_BYPASS: Duration = Duration::from_millis(500);

/// SQLite needs its folder, `mode=rwc` to create the file, WAL so readers do not block the
/// writer, and a busy timeout so concurrent writers wait instead of failing. In-memory databases
/// get one connection, since each connection would otherwise see its own empty database.
fn sqlite_options(url: &str, options: AnyPoolOptions) -> anyhow::Result<(String, AnyPoolOptions)> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let mut url = url.to_owned();
    if !in_memory {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        if let Some(parent) = Path::new(&path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the database folder {}", parent.display()))?;
        }
        if !url.contains("mode=") {
            url.push_str(if url.contains('?') {
                "&mode=rwc"
            } else {
                "?mode=rwc"
            });
        }
    }
    let options = options
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // `synchronous = full`: in WAL mode, `normal` may lose the last commits on a
                // power failure, and an issuance record must be durable before its token leaves.
                let pragmas = if in_memory {
                    "pragma foreign_keys = on; pragma busy_timeout = 5000;"
                } else {
                    "pragma journal_mode = wal; pragma synchronous = full; \
                     pragma foreign_keys = on; pragma busy_timeout = 5000;"
                };
                conn.execute(pragmas).await.map(|_| ())
            })
        })
        .max_lifetime(None)
        .idle_timeout(None);
    let options = if in_memory {
        options.min_connections(1).max_connections(1)
    } else {
        options
    };
    Ok((url, options))
}

/// Whether a database error means the store is unreachable or overloaded (answer 503 and let the
/// caller retry) rather than a bug (answer 500).
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            // PostgreSQL: class 08 connection exceptions, 28 a login refused (a locked role, a
            // rotated password: the database is unreachable to us, not our bug), 53
            // insufficient resources, 57P0x shutdown; SQLite: SQLITE_BUSY (5) and
            // SQLITE_LOCKED (6).
            let code = db.code().unwrap_or_default();
            code.starts_with("08")
                || code.starts_with("28")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "5"
                || code == "6"
        }
        _ => false,
    }
}

/// Whether the database refused text it cannot store: PostgreSQL's 22021
/// (`character_not_in_repertoire`, e.g. a NUL byte) or 22P05 (`untranslatable_character`). The
/// text came from a client, so this is the client's error, not the service's.
pub fn is_unrepresentable_text(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "22021" || code == "22P05")
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

/// Runs `delete_sql` (binding `$1` = `expired_before` in epoch milliseconds and `$2` = the batch
/// size) until a statement deletes fewer rows than a batch; returns how many rows were deleted.
/// Bounded statements hold no lock for long, and each deletes only rows that still match, so
/// several instances may prune at once: the retention job's deletes all go through here.
pub async fn delete_in_batches(
    pool: &AnyPool,
    delete_sql: &str,
    expired_before: chrono::DateTime<chrono::Utc>,
    batch_size: u32,
) -> Result<u64, sqlx::Error> {
    let batch_size = batch_size.max(1);
    let mut deleted = 0;
    loop {
        let done = sqlx::query(delete_sql)
            .bind(expired_before.timestamp_millis())
            .bind(i64::from(batch_size))
            .execute(pool)
            .await?
            .rows_affected();
        deleted += done;
        if done < u64::from(batch_size) {
            return Ok(deleted);
        }
    }
}
