use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;

use super::*;
use crate::db::Database;
use crate::signing::record::IssuanceLog;
use crate::signing::SigningError;

/// 2030-03-17T17:46:40Z, 40 s into its minute.
const NOW_SECONDS: i64 = 1_900_000_000;

static NEXT_JTI: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn issuance(n: usize, client_id: &str, issued: i64, quota: Quota) -> Issuance {
    Issuance {
        jti: format!(
            "jti-{client_id}-{n}-{}",
            NEXT_JTI.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
        client_id: client_id.to_owned(),
        scheme: "quota_test",
        subject: client_id.to_owned(),
        scopes: String::new(),
        state: None,
        caller_ip: None,
        declared_ip: None,
        kid: "kid".to_owned(),
        issued_at: at(issued),
        expires_at: at(issued + 300),
        revocable_by_subject: false,
        provenance: None,
        quota,
    }
}

async fn database() -> Database {
    let db = Database::connect_url("sqlite::memory:", 1, Duration::from_secs(5))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db
}

/// Issues `count` records at once through `log`; the outcome of each, in order.
async fn issue_at_once(
    log: &IssuanceLog,
    client_id: &str,
    count: usize,
    issued: i64,
    quota: Quota,
) -> Vec<Result<(), SigningError>> {
    let mut waiting = Vec::new();
    for n in 0..count {
        waiting.push(
            log.enqueue(issuance(n, client_id, issued, quota))
                .await
                .unwrap(),
        );
    }
    join_all(waiting).await
}

async fn recorded(db: &Database, client_id: &str) -> i64 {
    let (count,): (i64,) = sqlx::query_as("select count(*) from issuances where client_id = $1")
        .bind(client_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    count
}

fn refused(outcomes: &[Result<(), SigningError>]) -> Vec<OverQuota> {
    outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Err(SigningError::OverQuota(over)) => Some(*over),
            Ok(()) => None,
            Err(other) => panic!("unexpected failure: {other}"),
        })
        .collect()
}

#[test]
fn windows_are_utc_minutes_and_days_and_retry_waits_for_the_end() {
    let now = at(NOW_SECONDS);
    assert_eq!(Period::Minute.window_start(now), (NOW_SECONDS - 40) * 1000);
    assert_eq!(Period::Minute.seconds_left(now), 20);
    let midnight = NOW_SECONDS - NOW_SECONDS.rem_euclid(86_400);
    assert_eq!(Period::Day.window_start(now), midnight * 1000);
    assert_eq!(
        Period::Day.seconds_left(now),
        u64::try_from(midnight + 86_400 - NOW_SECONDS).unwrap()
    );
    // The last millisecond of a window still waits a whole second.
    let last = DateTime::from_timestamp_millis((NOW_SECONDS + 19) * 1000 + 999).unwrap();
    assert_eq!(Period::Minute.seconds_left(last), 1);
}

#[tokio::test]
async fn a_minute_quota_admits_its_limit_across_two_logs_and_records_only_those() {
    let db = database().await;
    // Two logs over one database: two instances.
    let (first, second) = (
        IssuanceLog::new(db.pool().clone(), db.backend(), 1),
        IssuanceLog::new(db.pool().clone(), db.backend(), 1),
    );
    let quota = Quota {
        per_minute: Some(5),
        per_day: None,
    };

    let mut outcomes = issue_at_once(&first, "limited", 3, NOW_SECONDS, quota).await;
    outcomes.extend(issue_at_once(&second, "limited", 4, NOW_SECONDS, quota).await);
    outcomes.extend(issue_at_once(&first, "limited", 2, NOW_SECONDS + 5, quota).await);

    let over = refused(&outcomes);
    assert_eq!(outcomes.len() - over.len(), 5, "{outcomes:?}");
    assert_eq!(over.len(), 4);
    assert!(over
        .iter()
        .all(|o| o.period == Period::Minute && o.limit == 5));
    assert_eq!(over[0].retry_after_seconds, 20);
    assert_eq!(over[3].retry_after_seconds, 15);
    assert_eq!(recorded(&db, "limited").await, 5);

    // The next minute has room again; another client was never limited.
    let next = issue_at_once(&second, "limited", 5, NOW_SECONDS + 20, quota).await;
    assert!(refused(&next).is_empty());
    let free = issue_at_once(&first, "free", 20, NOW_SECONDS, Quota::default()).await;
    assert!(refused(&free).is_empty());
    assert_eq!(recorded(&db, "free").await, 20);
}

#[tokio::test]
async fn a_day_quota_refuses_until_midnight_and_counts_only_admitted_tokens() {
    let db = database().await;
    let log = IssuanceLog::new(db.pool().clone(), db.backend(), 1);
    let quota = Quota {
        per_minute: Some(3),
        per_day: Some(4),
    };

    // Minute one: 3 of 5 fit the minute. Minute two: only 1 more fits the day.
    let one = issue_at_once(&log, "daily", 5, NOW_SECONDS, quota).await;
    let two = issue_at_once(&log, "daily", 3, NOW_SECONDS + 60, quota).await;

    assert_eq!(refused(&one).len(), 2);
    assert!(refused(&one).iter().all(|o| o.period == Period::Minute));
    let over = refused(&two);
    assert_eq!(over.len(), 2);
    assert!(over.iter().all(|o| o.period == Period::Day && o.limit == 4));
    let midnight = NOW_SECONDS - NOW_SECONDS.rem_euclid(86_400) + 86_400;
    assert_eq!(
        over[0].retry_after_seconds,
        u64::try_from(midnight - NOW_SECONDS - 60).unwrap()
    );
    assert_eq!(recorded(&db, "daily").await, 4);
    // The counters hold what was admitted, not what was asked.
    let counters: Vec<(String, i64)> = sqlx::query_as(
        "select period, tokens from quota_windows where client_id = 'daily' \
         order by period, window_start",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(
        counters,
        vec![
            ("day".to_owned(), 4),
            ("minute".to_owned(), 3),
            ("minute".to_owned(), 1)
        ]
    );

    // Raising the quota lets the same day go on at once.
    let raised = Quota {
        per_minute: Some(3),
        per_day: Some(6),
    };
    let three = issue_at_once(&log, "daily", 3, NOW_SECONDS + 70, raised).await;
    assert_eq!(refused(&three).len(), 1);
    assert_eq!(recorded(&db, "daily").await, 6);
}

#[tokio::test]
async fn ended_windows_are_pruned_and_current_ones_kept() {
    let db = database().await;
    let log = IssuanceLog::new(db.pool().clone(), db.backend(), 1);
    let quota = Quota {
        per_minute: Some(10),
        per_day: Some(100),
    };
    issue_at_once(&log, "pruned", 1, NOW_SECONDS - 86_400, quota).await;
    issue_at_once(&log, "pruned", 1, NOW_SECONDS, quota).await;

    let removed = prune_windows(db.pool(), at(NOW_SECONDS), 1).await.unwrap();

    assert_eq!(removed, 2);
    let (left,): (i64,) = sqlx::query_as("select count(*) from quota_windows")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(left, 2);
}
