//! The retention job: one pass deletes exactly the rows past expiry plus the margin (issuance
//! records, used assertions, and AuthToken lineage once no ancestor can be presented), in
//! batches, idempotently, also when two instances run it at once; `tokenmint retention run`.
//! Passes are called directly with the test clock moved: nothing waits for the interval.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use reqwest::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use serde_json::Value;
use tokenmint::retention::{run_pass, Deleted};

use crate::authtoken::{approved_client, auth_token, credential, generate, me_status, refresh};
use crate::binary::{run_json, tokenmint};
use crate::helpers::{Backend, ClockExt, TestApp, TestClient};

/// Rows per delete statement in these tests, so a pass needs several statements.
const BATCH_SIZE: &str = "2";
/// A service account that stops using assertions (only the job cleans its rows), and one that
/// keeps using them (its uses may also tidy its own expired rows).
const QUIET_ACCOUNT: &str = "quiet-account";
const BUSY_ACCOUNT: &str = "busy-account";

/// A service whose background job is off (passes run only when a test calls them).
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        &[
            ("TOKENMINT__RETENTION__ENABLED", "false"),
            ("TOKENMINT__RETENTION__BATCH_SIZE", BATCH_SIZE),
        ],
    )
    .await
}

fn margin_seconds(app: &TestApp) -> i64 {
    app.state.settings.retention.margin_seconds
}

/// A token from `POST /auth/jwt`, with its jti and `exp`.
pub(crate) async fn issue(app: &TestApp, client: &TestClient) -> (String, String, i64) {
    let response = app
        .http
        .post(app.url("/auth/jwt"))
        .header("client-id", &client.id)
        .header("client-secret", &client.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = response.headers()[AUTHORIZATION].to_str().unwrap();
    let token = header.strip_prefix("Bearer ").unwrap().to_owned();
    // Read, not verified: a token issued in the test clock's past may be expired in real time.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let jti = claims["jti"].as_str().unwrap().to_owned();
    (token, jti, claims["exp"].as_i64().unwrap())
}

/// When the retention job may first prune the record of a token that expires at `expiry`
/// (epoch seconds), before the margin: on PostgreSQL the record goes with its whole day of expiry
/// (a partition, dropped once every expiry in it has passed), on SQLite as soon as it expired.
fn prunable_from(app: &TestApp, expiry: i64) -> i64 {
    match app.state.db.backend() {
        tokenmint::db::Backend::Postgres => (expiry.div_euclid(86_400) + 1) * 86_400,
        tokenmint::db::Backend::Sqlite => expiry,
    }
}

/// Asserts that a pass removed `records` issuance records and returns how many whole days of the
/// record it dropped: on SQLite by deleting the rows, on PostgreSQL by dropping their day's
/// partition (and deleting none one by one).
fn assert_records_pruned(app: &TestApp, deleted: &Deleted, records: u64) -> u64 {
    let pruned = (deleted.issuances, deleted.issuance_partitions);
    assert_pruned(app, pruned, records, deleted)
}

/// [`assert_records_pruned`] for the used-assertion store.
fn assert_assertions_pruned(app: &TestApp, deleted: &Deleted, rows: u64) -> u64 {
    let pruned = (deleted.used_assertions, deleted.used_assertion_partitions);
    assert_pruned(app, pruned, rows, deleted)
}

fn assert_pruned(app: &TestApp, (rows, days): (u64, u64), expected: u64, all: &Deleted) -> u64 {
    match app.state.db.backend() {
        tokenmint::db::Backend::Postgres => {
            assert_eq!(rows, 0, "{all:?}");
            assert!(days >= 1, "{all:?}");
        }
        tokenmint::db::Backend::Sqlite => {
            assert_eq!(rows, expected, "{all:?}");
            assert_eq!(days, 0, "{all:?}");
        }
    }
    days
}

/// Moves the test clock to `seconds` (epoch), which must not be in its past.
fn move_clock_to(app: &TestApp, seconds: i64) {
    let now = app.clock.now_utc().timestamp();
    assert!(seconds >= now);
    app.clock.advance_seconds(seconds - now);
}

async fn record_assertion(app: &TestApp, account: &str, jti: &str, lifetime_seconds: i64) {
    let now = app.clock.now_utc();
    let expires_at = now + Duration::seconds(lifetime_seconds);
    let registry = &app.state.registry;
    let recorded = registry.record_assertion_use(account, jti, expires_at, now);
    assert!(recorded.await.unwrap());
}

async fn prunes_exactly_the_rows_past_expiry_and_margin(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let mut old = Vec::new();
    for _ in 0..3 {
        old.push(issue(&app, &client).await);
    }
    let expiry = prunable_from(&app, old.iter().map(|(_, _, exp)| *exp).max().unwrap());
    // An assertion that can be pruned together with the tokens.
    let lifetime = expiry - 1 - app.clock.now_utc().timestamp();
    record_assertion(&app, QUIET_ACCOUNT, "old-assertion", lifetime).await;

    // A minute before the old tokens are `margin` past expiry: nothing goes.
    move_clock_to(&app, expiry + margin_seconds(&app) - 60);
    let (recent_token, recent_jti, _) = issue(&app, &client).await;
    record_assertion(&app, BUSY_ACCOUNT, "recent-assertion", 300).await;
    // Both hours join the chart's figures (the service flushes them every few seconds).
    app.state.signer.flush_hours().await.unwrap();
    let early = run_pass(&app.state).await.unwrap();
    // (On PostgreSQL an earlier, empty day may go, when the old tokens expire after midnight.)
    assert_eq!(
        Deleted {
            issuance_partitions: 0,
            used_assertion_partitions: 0,
            ..early.deleted
        },
        Deleted::default()
    );
    for (_, jti, _) in &old {
        assert_eq!(app.count_rows("issuances", "jti = $1", jti).await, 1);
    }
    assert_eq!(
        early.expired_before,
        early.ran_at - Duration::seconds(margin_seconds(&app))
    );

    // A minute after: exactly the old rows go, in batches of two.
    app.clock.advance_seconds(120);
    let pass = run_pass(&app.state).await.unwrap();
    let days = assert_records_pruned(&app, &pass.deleted, 3);
    // The old assertion's row goes too: on PostgreSQL with its day, which needs no margin, so
    // already in the early pass.
    let both = Deleted {
        used_assertions: early.deleted.used_assertions + pass.deleted.used_assertions,
        used_assertion_partitions: early.deleted.used_assertion_partitions
            + pass.deleted.used_assertion_partitions,
        ..pass.deleted
    };
    assert_assertions_pruned(&app, &both, 1);
    let expected = Deleted {
        issuances: pass.deleted.issuances,
        issuance_partitions: days,
        used_assertions: pass.deleted.used_assertions,
        used_assertion_partitions: pass.deleted.used_assertion_partitions,
        authtoken_lineage: 0,
        // The chart's figures for the old tokens' hour outlive their records by the TTL cap.
        issuance_hours: 0,
        dpop_proofs: 0,
        quota_windows: 0,
        refusal_days: 0,
    };
    assert_eq!(pass.deleted, expected);
    for (token, jti, _) in &old {
        assert_eq!(app.count_rows("issuances", "jti = $1", jti).await, 0);
        // Its record is gone, and the token is still refused: it expired long ago.
        assert_eq!(me_status(&app, token).await, 401);
    }
    assert_eq!(
        app.count_rows("issuances", "jti = $1", &recent_jti).await,
        1
    );
    let assertions_of =
        |account| app.count_rows("used_assertions", "service_account_id = $1", account);
    let (quiet, busy) = (
        assertions_of(QUIET_ACCOUNT).await,
        assertions_of(BUSY_ACCOUNT).await,
    );
    assert_eq!((quiet, busy), (0, 1));
    assert_eq!(me_status(&app, &recent_token).await, 200);

    // Idempotent: a second pass finds nothing more.
    assert_eq!(
        run_pass(&app.state).await.unwrap().deleted,
        Deleted::default()
    );

    // Once the TTL cap and the usage report's reach have passed too, the old hour's figures go;
    // the recent token's stay.
    let cap_seconds = app.state.settings.signing.max_ttl_cap_minutes * 60;
    let usage_seconds = tokenmint::usage::KEPT_DAYS * 24 * 3600;
    assert!(margin_seconds(&app) + cap_seconds < usage_seconds);
    move_clock_to(&app, expiry + usage_seconds + 3600);
    let later = run_pass(&app.state).await.unwrap();
    let hours_of_client = app
        .count_rows("issuance_hours", "client_id = $1", &client.id)
        .await;
    assert_eq!((later.deleted.issuance_hours, hours_of_client), (1, 1));
}

async fn two_instances_pruning_at_once_delete_each_row_once(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let mut expiry = 0;
    for _ in 0..5 {
        expiry = issue(&app, &client).await.2;
    }
    move_clock_to(
        &app,
        prunable_from(&app, expiry) + margin_seconds(&app) + 60,
    );
    let (first, second) = tokio::join!(run_pass(&app.state), run_pass(&app.state));
    let (first, second) = (first.unwrap().deleted, second.unwrap().deleted);
    let total = Deleted {
        issuances: first.issuances + second.issuances,
        issuance_partitions: first.issuance_partitions + second.issuance_partitions,
        ..first
    };
    assert_records_pruned(&app, &total, 5);
    // Each day was dropped by one of them: a third pass finds none left.
    let third = run_pass(&app.state).await.unwrap().deleted;
    assert_eq!((third.issuances, third.issuance_partitions), (0, 0));
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", &client.id)
            .await,
        0
    );
}

async fn authtoken_lineage_stays_until_no_ancestor_can_be_presented(app: TestApp) {
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let parent = auth_token(generate(&app, &key, &secret).await).await;
    let child = auth_token(refresh(&app, &parent).await).await;
    let (_, claims) = app.verify_with_jwks(&child).await;
    let expiry = claims["exp"].as_i64().unwrap();
    assert_eq!(
        app.count_rows("authtokens", "credential_key = $1", &key)
            .await,
        2
    );

    // Past expiry + margin: the records go, the lineage stays (it waits the TTL cap more).
    move_clock_to(
        &app,
        prunable_from(&app, expiry) + margin_seconds(&app) + 60,
    );
    let pass = run_pass(&app.state).await.unwrap();
    assert_records_pruned(&app, &pass.deleted, 2);
    assert_eq!(pass.deleted.authtoken_lineage, 0);
    assert_eq!(
        app.count_rows("authtokens", "credential_key = $1", &key)
            .await,
        2
    );
    assert_eq!(
        refresh(&app, &parent).await.status(),
        401,
        "long past its window"
    );

    let cap_seconds = app.state.settings.signing.max_ttl_cap_minutes * 60;
    app.clock.advance_seconds(cap_seconds);
    let pass = run_pass(&app.state).await.unwrap();
    assert_eq!(pass.deleted.authtoken_lineage, 2);
    assert_eq!(
        app.count_rows("authtokens", "credential_key = $1", &key)
            .await,
        0
    );
    assert_eq!(refresh(&app, &child).await.status(), 401);
}

macro_rules! on_both_backends_quietly {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn on_postgres() {
                super::$name(super::spawn($crate::helpers::Backend::Postgres).await).await
            }
            #[tokio::test]
            async fn on_sqlite() {
                super::$name(super::spawn($crate::helpers::Backend::Sqlite).await).await
            }
        }
    };
}
on_both_backends_quietly!(prunes_exactly_the_rows_past_expiry_and_margin);
on_both_backends_quietly!(two_instances_pruning_at_once_delete_each_row_once);
on_both_backends_quietly!(authtoken_lineage_stays_until_no_ancestor_can_be_presented);

#[tokio::test]
async fn the_periodic_job_stops_when_shutdown_begins() {
    let app = spawn(Backend::Sqlite).await;
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let job = tokio::spawn(tokenmint::retention::run_periodically(
        app.state.clone(),
        stop,
    ));
    stopping.send(true).unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), job).await;
    assert!(ended.is_ok(), "the job ends on the shutdown signal");
}

#[tokio::test]
async fn the_cli_runs_one_pass_and_prints_what_it_deleted() {
    let app = spawn(Backend::Sqlite).await;
    let client = app.standard_client("ES256").await;
    // Tokens issued (by the test clock) long enough ago for the binary's real clock to prune them.
    app.clock
        .advance_seconds(-(margin_seconds(&app) + 3600 + 600));
    let (_, old_jti, _) = issue(&app, &client).await;
    issue(&app, &client).await;
    app.clock.advance_seconds(margin_seconds(&app) + 3600 + 600);
    let (_, recent_jti, _) = issue(&app, &client).await;

    let settings = &app.state.settings;
    let dir = tempfile::tempdir().unwrap();
    let printed: Value = run_json(
        tokenmint(dir.path())
            .env("DATABASE_URL", settings.database.url.expose_secret())
            .env(
                "TOKENMINT_MASTER_KEY",
                settings.signing.master_key.expose_secret(),
            )
            .args(["retention", "run"]),
    );
    assert_eq!(printed["deleted"]["issuances"], 2, "{printed}");
    assert_eq!(printed["deleted"]["used_assertions"], 0);
    assert!(printed["expired_before"].as_str().is_some());
    assert_eq!(app.count_rows("issuances", "jti = $1", &old_jti).await, 0);
    assert_eq!(
        app.count_rows("issuances", "jti = $1", &recent_jti).await,
        1
    );
}
