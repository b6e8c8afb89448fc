//! The hourly figures on SQLite in memory.

use std::time::Duration;

use super::*;
use crate::db::Database;
use crate::signing::record::{Issuance, IssuanceLog};

/// 2026-11-28T10:00:00Z, the start of an hour.
const HOUR_START: i64 = 1_795_860_000;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn issuance(n: usize, client_id: &str, scheme: &'static str, issued: i64) -> Issuance {
    Issuance {
        jti: format!("jti-{n}"),
        client_id: client_id.to_owned(),
        scheme,
        subject: "someone".to_owned(),
        scopes: "programs:read".to_owned(),
        state: None,
        caller_ip: None,
        declared_ip: None,
        kid: "kid".to_owned(),
        issued_at: at(issued),
        expires_at: at(issued + 300),
        revocable_by_subject: false,
        provenance: None,
        quota: Default::default(),
    }
}

#[tokio::test]
async fn hourly_figures_count_what_the_log_wrote_once_flushed_and_go_with_their_hours() {
    let db = Database::connect_url("sqlite::memory:", 1, Duration::from_secs(5))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let log = IssuanceLog::new(db.pool().clone(), db.backend(), 1);
    let written = [
        ("a", "auth_jwt", HOUR_START),
        ("a", "auth_jwt", HOUR_START + 3599),
        ("b", "auth_jwt", HOUR_START + 60),
        ("a", "api_key", HOUR_START + 120),
        ("a", "auth_jwt", HOUR_START + 3600),
        ("a", "auth_jwt", HOUR_START + 7200),
    ];
    let mut pending = Vec::new();
    for (n, (client, scheme, issued)) in written.into_iter().enumerate() {
        let committed = log.enqueue(issuance(n, client, scheme, issued)).await;
        pending.push(committed.unwrap());
    }
    for committed in pending {
        committed.await.unwrap();
    }
    let everyone_range = (at(HOUR_START), at(HOUR_START + 3 * 3600));
    let counted = log
        .hourly_counts(
            &IssuanceFilter::default(),
            everyone_range.0,
            everyone_range.1,
        )
        .await
        .unwrap();
    let unflushed = hourly_counts(
        db.pool(),
        &IssuanceFilter::default(),
        everyone_range.0,
        everyone_range.1,
    )
    .await
    .unwrap();
    let flushed = log.flush_hours().await.unwrap();
    let written = hourly_counts(
        db.pool(),
        &IssuanceFilter::default(),
        everyone_range.0,
        everyone_range.1,
    )
    .await
    .unwrap();
    let count = |hour: i64, scheme: &str, tokens| HourlyCount {
        hour: at(hour),
        scheme: scheme.to_owned(),
        tokens,
    };
    let everyone = IssuanceFilter::default();
    let client_a = IssuanceFilter {
        client_id: Some("a".into()),
        ..IssuanceFilter::default()
    };
    let jwt = IssuanceFilter {
        scheme: Some("auth_jwt".into()),
        ..IssuanceFilter::default()
    };
    // Bounds inside an hour take that whole hour (down and up).
    let (since, until) = (at(HOUR_START + 10), at(HOUR_START + 3601));

    let all = hourly_counts(db.pool(), &everyone, since, until)
        .await
        .unwrap();
    let of_a = hourly_counts(db.pool(), &client_a, since, until)
        .await
        .unwrap();
    let of_jwt = hourly_counts(db.pool(), &jwt, at(HOUR_START), at(HOUR_START + 3600));
    let of_jwt = of_jwt.await.unwrap();
    let pruned = prune_hours(db.pool(), at(HOUR_START + 7199), 1)
        .await
        .unwrap();
    let left = hourly_counts(db.pool(), &everyone, at(0), at(HOUR_START + 86400)).await;

    let second = HOUR_START + 3600;
    // Counted in memory as the batches commit, read with the figures, then flushed to them.
    assert!(unflushed.is_empty());
    assert_eq!(counted, written);
    assert_eq!(flushed, 5, "five (hour, scheme, client) figures");
    assert_eq!(
        all,
        [
            count(HOUR_START, "api_key", 1),
            count(HOUR_START, "auth_jwt", 3),
            count(second, "auth_jwt", 1)
        ]
    );
    assert_eq!(
        of_a,
        [
            count(HOUR_START, "api_key", 1),
            count(HOUR_START, "auth_jwt", 2),
            count(second, "auth_jwt", 1)
        ]
    );
    assert_eq!(of_jwt, [count(HOUR_START, "auth_jwt", 3)]);
    // Rows of the first hour (three: two clients, two schemes), in statements of one row;
    // the second hour has not ended at the cut-off, so it stays.
    assert_eq!(pruned, 3);
    assert_eq!(
        left.unwrap(),
        [
            count(second, "auth_jwt", 1),
            count(HOUR_START + 7200, "auth_jwt", 1)
        ]
    );
}
