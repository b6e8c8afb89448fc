//! Partitioning a running deployment's per-request tables. Expand (migrations
//! 20261210000000-3, applied by every instance of this release): the previous release keeps
//! issuing, revoking, reading, pruning and claiming assertion jtis through the migration, on
//! connections whose prepared statements were made before it, and loses nothing, while this
//! release serves beside it on the same database. Contract (`tokenmint migrate --contract`, once
//! the previous release is gone): the single-use store is partitioned too, keeping every claim.
//! Then retention retires the old tables with the days.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyPool;
use tokenmint::db::Database;
use tokenmint::retention::run_pass;

use crate::helpers::{Backend, ClockExt, TestApp};
use crate::pg;

/// The first migration of this release's partitioning: the previous release ran those before it.
const FIRST_NEW_MIGRATION: i64 = 20_261_210_000_000;

/// Records already in the table when the upgrade starts, expiring from eight days ago to a day
/// from now (so some are past the retention margin, some live).
const SEEDED: i64 = 20_000;

/// The previous release's statements on the issuance record, verbatim (signing::record and
/// signing::report at 3da9f3e).
const OLD_INSERT: &str = "insert into issuances (jti, client_id, scheme, subject, scopes, state, \
     caller_ip, declared_ip, kid, issued_at, expires_at, revocable_by_subject, trust_policy_id, \
     external_issuer, external_subject) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const OLD_REVOKE: &str =
    "update issuances set revoked_at = $2 where jti = $1 and revoked_at is null";
const OLD_IS_REVOKED: &str = "select revoked_at from issuances where jti = $1";
const OLD_PRUNE: &str = "delete from issuances where expires_at < $1 and jti in \
     (select jti from issuances where expires_at < $1 limit $2)";
const OLD_CLAIM: &str = "insert into used_assertions (service_account_id, jti_digest, expires_at) \
     values ($2, $3, $4) on conflict (service_account_id, jti_digest) \
     do update set expires_at = excluded.expires_at \
     where used_assertions.expires_at <= $1 \
     returning service_account_id, jti_digest";
const OLD_PAGE: &str = "select jti, client_id, scheme, subject, scopes, state, caller_ip, \
     declared_ip, issued_at, expires_at, revoked_at, trust_policy_id, external_issuer, \
     external_subject from issuances where 1 = 1 and scheme = $1 \
     order by issued_at desc, jti desc limit 51";

/// The wall clock, as the previous release's instances read it.
fn now_ms() -> i64 {
    tokenmint::clock::Clock::now(&tokenmint::clock::SystemClock).timestamp_millis()
}

/// One instance of the previous release: issues a token, revokes it, checks it, reads a page of
/// the report and runs a retention batch, over and over, on one connection (so its prepared
/// statements outlive the swap), until told to stop. Returns the jtis it recorded and revoked.
async fn old_instance(
    pool: AnyPool,
    name: usize,
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    ops: Arc<AtomicU64>,
    during: Arc<AtomicBool>,
    during_ops: Arc<AtomicU64>,
) -> Vec<String> {
    let mut recorded = Vec::new();
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let jti = format!("old-{name}-{round}");
        let now = now_ms();
        let outcome: Result<(), sqlx::Error> = async {
            sqlx::query(OLD_INSERT)
                .bind(jti.as_str())
                .bind("client-old")
                .bind("auth_jwt")
                .bind("subject")
                .bind("read")
                .bind(None::<String>)
                .bind(Some("10.0.0.1"))
                .bind(None::<String>)
                .bind("kid-old")
                .bind(now)
                .bind(now + 3_600_000)
                .bind(false)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<String>)
                .execute(&pool)
                .await?;
            let revoked = sqlx::query(OLD_REVOKE)
                .bind(jti.as_str())
                .bind(now)
                .execute(&pool)
                .await?
                .rows_affected();
            assert_eq!(revoked, 1, "{jti} revoked once");
            let (revoked_at,): (Option<i64>,) = sqlx::query_as(OLD_IS_REVOKED)
                .bind(jti.as_str())
                .fetch_one(&pool)
                .await?;
            assert_eq!(revoked_at, Some(now));
            sqlx::query(OLD_PAGE)
                .bind("auth_jwt")
                .fetch_all(&pool)
                .await?;
            let claimed = sqlx::query(OLD_CLAIM)
                .bind(now)
                .bind("old-account")
                .bind(jti.as_str())
                .bind(now + 3_600_000)
                .fetch_all(&pool)
                .await?;
            assert_eq!(claimed.len(), 1, "{jti} claimed once");
            sqlx::query(OLD_PRUNE)
                .bind(now - 7 * 86_400_000 - 43_200_000)
                .bind(50_i64)
                .execute(&pool)
                .await?;
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => {
                recorded.push(jti);
                ops.fetch_add(1, Ordering::Relaxed);
                if during.load(Ordering::Relaxed) {
                    during_ops.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(err) => {
                eprintln!("old instance {name}: {err}");
                failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    recorded
}

#[tokio::test]
async fn a_running_deployment_partitions_its_record_without_a_failed_request() {
    let url = pg::fresh_database_url().await;
    let db = Database::connect_url(&url, 4, Duration::from_secs(10))
        .await
        .unwrap();

    // The previous release's schema, and its records.
    let all = sqlx::migrate!("migrations/postgres");
    let old = Migrator {
        migrations: Cow::Owned(
            all.iter()
                .filter(|m| m.version < FIRST_NEW_MIGRATION)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    old.run(db.pool()).await.unwrap();
    sqlx::query(
        "insert into issuances (jti, client_id, scheme, subject, scopes, kid, issued_at, \
         expires_at, revocable_by_subject) \
         select 'seed-' || g, 'client-' || (g % 50), 'auth_jwt', 'subject', 'read', 'kid', \
         $1 - 8 * 86400000 + g * $2, $1 - 8 * 86400000 + g * $2 + 3600000, false \
         from generate_series(1, $3) g",
    )
    .bind(now_ms())
    .bind(9 * 86_400_000 / SEEDED)
    .bind(SEEDED)
    .execute(db.pool())
    .await
    .unwrap();

    // Three instances of the previous release, busy throughout the upgrade.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let during = Arc::new(AtomicBool::new(false));
    let during_ops = Arc::new(AtomicU64::new(0));
    let ops = Arc::new(AtomicU64::new(0));
    let mut instances = Vec::new();
    for name in 0..3 {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        instances.push(tokio::spawn(old_instance(
            pool,
            name,
            stop.clone(),
            failures.clone(),
            ops.clone(),
            during.clone(),
            during_ops.clone(),
        )));
    }
    wait_for_rounds(&ops, &failures, 20).await;

    // The upgrade's migrations, while they work.
    during.store(true, Ordering::Relaxed);
    db.migrate_for_tokens_up_to(1440).await.unwrap();
    during.store(false, Ordering::Relaxed);
    // And on after it, on the same connections.
    wait_for_rounds(&ops, &failures, 30).await;
    stop.store(true, Ordering::Relaxed);
    let mut recorded = Vec::new();
    for instance in instances {
        recorded.extend(instance.await.unwrap());
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no statement failed");
    assert!(
        during_ops.load(Ordering::Relaxed) > 0,
        "they worked through it"
    );

    // Every record is there, once, now in a partitioned table.
    let partitioned: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_partitioned_table \
         where partrelid = 'issuances'::regclass)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(partitioned);
    let old_rows = count(db.pool(), "issuances", "client_id = 'client-old'").await;
    assert_eq!(old_rows, i64::try_from(recorded.len()).unwrap());
    let revoked = count(
        db.pool(),
        "issuances",
        "client_id = 'client-old' and revoked_at is not null",
    )
    .await;
    assert_eq!(revoked, old_rows);
    let seeded_left = count(db.pool(), "issuances", "jti like 'seed-%'").await;
    assert!(seeded_left > SEEDED / 2, "only expired seeds were pruned");
    let legacy = bounds(db.pool(), "issuances").await;
    assert!(
        legacy.iter().any(|(name, bound)| name == "issuances_legacy"
            && bound.starts_with("FOR VALUES FROM (MINVALUE) TO")),
        "{legacy:?}"
    );
    assert!(legacy
        .iter()
        .any(|(name, bound)| name == "issuances_default" && bound == "DEFAULT"));

    // This release serves on it: its tokens are recorded like the old ones, and it claims jtis
    // in the single-use store the old release still writes to, each deciding the other's replays.
    let app = TestApp::spawn_on_database(url).await;
    let client = app.standard_client("ES256").await;
    let (_, jti, _) = crate::retention::issue(&app, &client).await;
    assert_eq!(app.count_rows("issuances", "jti = $1", &jti).await, 1);
    let days = bounds(app.state.db.pool(), "issuances").await;
    assert!(
        days.iter().any(|(name, _)| name.starts_with("issuances_p")),
        "{days:?}"
    );
    let registry = &app.state.registry;
    let now = app.clock.now_utc();
    let hour = chrono::Duration::hours(1);
    let claim =
        |jti: &'static str| registry.record_assertion_use("old-account", jti, now + hour, now);
    assert!(claim("new-jti").await.unwrap());
    assert!(!claim("new-jti").await.unwrap(), "a replay");
    let old_claim_of_new = sqlx::query(OLD_CLAIM)
        .bind(now_ms())
        .bind("old-account")
        .bind(sha256_hex("new-jti"))
        .bind(now_ms() + 3_600_000)
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        old_claim_of_new.is_empty(),
        "the old release sees this one's claim"
    );
    assert!(!app.state.db.is_contracted().await.unwrap());

    // Contract, once the old release is gone: the single-use store is partitioned in place.
    app.state.db.contract().await.unwrap();
    assert!(app.state.db.is_contracted().await.unwrap());
    let store = bounds(app.state.db.pool(), "used_assertions").await;
    assert!(
        store
            .iter()
            .any(|(name, bound)| name == "used_assertions_legacy"
                && bound.starts_with("FOR VALUES FROM (MINVALUE) TO")),
        "{store:?}"
    );
    let claimed = count(
        app.state.db.pool(),
        "used_assertions",
        "service_account_id = 'old-account'",
    )
    .await;
    assert_eq!(claimed, old_rows + 1, "every claim is kept");
    assert!(!claim("new-jti").await.unwrap(), "still a replay");
    assert!(claim("newer-jti").await.unwrap());
    assert!(!claim("newer-jti").await.unwrap());
    // A jti is free again once the assertion that used it has expired (CONTRACT check 14).
    let later = now + hour + chrono::Duration::seconds(1);
    let reuse = registry.record_assertion_use("old-account", "newer-jti", later + hour, later);
    assert!(reuse.await.unwrap());
    registry.prepare_single_use_partitions(now).await.unwrap();
    let store = bounds(app.state.db.pool(), "used_assertions").await;
    assert!(
        store
            .iter()
            .any(|(name, _)| name.starts_with("used_assertions_p")),
        "{store:?}"
    );

    // Retention deletes the legacy rows past the margin one by one, as the old release did...
    let margin = app.state.settings.retention.margin_seconds;
    let pass = run_pass(&app.state).await.unwrap();
    assert!(pass.deleted.issuances > 0, "{:?}", pass.deleted);
    let expired = count(
        app.state.db.pool(),
        "issuances",
        &format!("expires_at < {}", (pass.expired_before).timestamp_millis()),
    )
    .await;
    assert_eq!(expired, 0);
    // ...and once every expiry below its bound is past the margin, drops it whole, and the
    // single-use store's legacy partition with it.
    let bound = legacy_bound(&legacy);
    let now = app.clock.now_utc().timestamp_millis();
    app.clock
        .advance_seconds((bound - now) / 1000 + margin + 60);
    let pass = run_pass(&app.state).await.unwrap();
    assert!(pass.deleted.issuance_partitions >= 1, "{:?}", pass.deleted);
    assert!(
        pass.deleted.used_assertion_partitions >= 1,
        "{:?}",
        pass.deleted
    );
    let left = bounds(app.state.db.pool(), "issuances").await;
    assert!(
        !left.iter().any(|(name, _)| name == "issuances_legacy"),
        "{left:?}"
    );
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", "client-old")
            .await,
        0
    );
    let left = bounds(app.state.db.pool(), "used_assertions").await;
    assert!(
        !left
            .iter()
            .any(|(name, _)| name == "used_assertions_legacy"),
        "{left:?}"
    );
    let claims_left = app
        .count_rows("used_assertions", "service_account_id = $1", "old-account")
        .await;
    assert_eq!(claims_left, 0);
}

/// Claims find each jti by a probe of the single-use store's index whatever the planner's
/// statistics say of a partition. Analysed while it held a handful of rows, a day's partition
/// looks small to the planner, which would then read the whole of it for a batch of jtis (a hash
/// join, or a join over its whole index), a plan each connection keeps (the statements are
/// prepared) while the day fills up with millions of rows.
#[tokio::test]
async fn claims_find_each_jti_through_the_index_whatever_the_statistics_say() {
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[("TOKENMINT__RETENTION__ENABLED", "false")],
    )
    .await;
    let registry = &app.state.registry;
    let pool = app.state.db.pool();
    let now = app.clock.now_utc();
    let expires_at = now + chrono::Duration::minutes(5);
    let claim = |jti: String| async move {
        registry
            .record_assertion_use("busy-account", &jti, expires_at, now)
            .await
            .unwrap()
    };
    for i in 0..5 {
        assert!(claim(format!("early-{i}")).await);
    }
    let mut inserted = 5;
    wait_for_inserts(pool, inserted).await;
    sqlx::query("analyze used_assertions")
        .execute(pool)
        .await
        .unwrap();
    // Then the day fills up, and the statistics lag behind.
    sqlx::query(
        "insert into used_assertions (service_account_id, jti_digest, expires_at) \
         select 'busy-account', md5(i::text), $1 from generate_series(1, 2000) i",
    )
    .bind(expires_at.timestamp_millis())
    .execute(pool)
    .await
    .unwrap();
    inserted += 2000;
    wait_for_inserts(pool, inserted).await;
    let before = scans(pool).await;

    // Submitted at once, a round's claims queue behind the first one's commit and are written
    // together: batches of dozens of jtis.
    for round in 0..3 {
        let claims = (0..64).map(|i| claim(format!("round-{round}-{i}")));
        let claimed = futures::future::join_all(claims).await;
        assert!(claimed.into_iter().all(|claimed| claimed), "round {round}");
        inserted += 64;
    }
    assert!(!claim("round-0-0".to_owned()).await, "a replay is refused");
    wait_for_inserts(pool, inserted).await;

    let after = scans(pool).await;
    assert_eq!(
        after.sequential, before.sequential,
        "a claim read a partition of the single-use store from end to end"
    );
    assert!(after.index > before.index);
    // A probe reads the entries of its own jti only: none for a new one, one for the replay.
    let claims = 3 * 64 + 1;
    assert!(
        after.index_entries_read - before.index_entries_read <= claims,
        "{} index entries read for {claims} claims",
        after.index_entries_read - before.index_entries_read
    );
}

/// What PostgreSQL counted of the reads of the single-use store's partitions so far.
#[derive(Debug)]
struct Scans {
    sequential: i64,
    index: i64,
    index_entries_read: i64,
}

async fn scans(pool: &AnyPool) -> Scans {
    let (sequential, index, index_entries_read) = sqlx::query_as(
        "select (select coalesce(sum(seq_scan), 0)::bigint from pg_stat_user_tables \
         where relname like 'used\\_assertions%'), \
         (select coalesce(sum(idx_scan), 0)::bigint from pg_stat_user_tables \
         where relname like 'used\\_assertions%'), \
         (select coalesce(sum(idx_tup_read), 0)::bigint from pg_stat_user_indexes \
         where relname like 'used\\_assertions%')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    Scans {
        sequential,
        index,
        index_entries_read,
    }
}

/// Waits until PostgreSQL's counters show `rows` inserts into the single-use store: a busy
/// backend publishes its counters when it goes idle, at most once a second, and the scans of
/// the statements that inserted them come with them.
async fn wait_for_inserts(pool: &AnyPool, rows: i64) {
    let published = async {
        loop {
            let counted: i64 = sqlx::query_scalar(
                "select coalesce(sum(n_tup_ins), 0)::bigint from pg_stat_user_tables \
                 where relname like 'used\\_assertions%'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            if counted >= rows {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), published)
        .await
        .expect("PostgreSQL publishes its counters");
}

/// What the store keeps of a jti: its SHA-256, in hex (both releases).
fn sha256_hex(jti: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(jti.as_bytes()))
}

/// Waits until the old instances have done `rounds` more rounds (or one failed).
async fn wait_for_rounds(ops: &AtomicU64, failures: &AtomicU64, rounds: u64) {
    let target = ops.load(Ordering::Relaxed) + rounds;
    let progress = async {
        while ops.load(Ordering::Relaxed) < target && failures.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    // Only against a hang: the old instances normally do a round in milliseconds.
    tokio::time::timeout(Duration::from_secs(120), progress)
        .await
        .expect("the old instances make progress");
}

async fn count(pool: &AnyPool, table: &str, condition: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table} where {condition}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A table's partitions and their bounds, as PostgreSQL prints them.
async fn bounds(pool: &AnyPool, table: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "select c.relname::text, pg_get_expr(c.relpartbound, c.oid) \
         from pg_inherits i join pg_class c on c.oid = i.inhrelid \
         where i.inhparent = to_regclass($1)::oid order by 1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The upper bound (epoch ms) of the legacy partition.
fn legacy_bound(partitions: &[(String, String)]) -> i64 {
    let (_, bound) = partitions
        .iter()
        .find(|(name, _)| name == "issuances_legacy")
        .unwrap();
    bound
        .rsplit('(')
        .next()
        .unwrap()
        .trim_matches(|c| c == '\'' || c == ')')
        .parse()
        .unwrap()
}
