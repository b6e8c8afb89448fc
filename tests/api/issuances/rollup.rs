//! The hourly rollup behind the console's chart, on an existing deployment: the migration that
//! adds it counts the records already kept (the service adds what it issues afterwards: see the
//! unit tests of `signing::report` and the console's chart test).

use chrono::DateTime;
use tokenmint::db::Database;
use tokenmint::signing::report::{hourly_counts, HourlyCount, IssuanceFilter};

use crate::pg;

/// The migration that adds the rollup.
const ROLLUP_MIGRATION: &str = "20261206180000";
/// 2026-11-28T10:00:00Z, the start of an hour.
const HOUR_START: i64 = 1_795_860_000;

/// Inserts one record as the service (or an import) would, issued `seconds` after `HOUR_START`.
async fn insert(db: &Database, jti: &str, scheme: &str, seconds: i64) {
    let issued = (HOUR_START + seconds) * 1000;
    sqlx::query(
        "insert into issuances (jti, client_id, scheme, subject, scopes, state, caller_ip, \
         declared_ip, kid, issued_at, expires_at) values ($1, 'client-a', $2, 'someone', \
         'programs:read', null, null, null, 'kid', $3, $4)",
    )
    .bind(jti)
    .bind(scheme)
    .bind(issued)
    .bind(issued + 300_000)
    .execute(db.pool())
    .await
    .unwrap();
}

async fn migrating_counts_the_kept_records(url: String, dir: &str) {
    let db = Database::connect_url(&url, 2, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    // The deployment as it was: every migration before the rollup's.
    let before = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < ROLLUP_MIGRATION {
            std::fs::copy(&path, before.path().join(name)).unwrap();
        }
    }
    let old = sqlx::migrate::Migrator::new(before.path()).await.unwrap();
    old.run(db.pool()).await.unwrap();
    insert(&db, "kept-1", "auth_jwt", 10).await;
    insert(&db, "kept-2", "auth_jwt", 20).await;
    insert(&db, "kept-3", "api_key", 3700).await;

    db.migrate().await.unwrap();
    let hour = |offset: i64| DateTime::from_timestamp(HOUR_START + offset, 0).unwrap();
    let counts = hourly_counts(db.pool(), &IssuanceFilter::default(), hour(0), hour(7200))
        .await
        .unwrap();

    let count = |offset, scheme: &str, tokens| HourlyCount {
        hour: hour(offset),
        scheme: scheme.to_owned(),
        tokens,
    };
    assert_eq!(counts, [count(0, "auth_jwt", 2), count(3600, "api_key", 1)]);
}

#[tokio::test]
async fn on_postgres() {
    migrating_counts_the_kept_records(pg::fresh_database_url().await, "migrations/postgres").await;
}

#[tokio::test]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tokenmint.db", dir.path().display());
    migrating_counts_the_kept_records(url, "migrations/sqlite").await;
}
