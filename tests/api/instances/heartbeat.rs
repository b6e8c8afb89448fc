//! A listening connection that hangs without closing (a frozen server process, a half-open
//! connection) is caught by the heartbeat, and the instance fails closed meanwhile.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use super::{poll, DEADLINE};
use crate::helpers::{Backend, TestApp};

const HEARTBEAT: (&str, &str) = ("TOKENMINT__DATABASE__CHANGE_HEARTBEAT_SECONDS", "1");

/// The server processes of this app's change listeners (one, unless one is being replaced).
async fn listener_pids(app: &TestApp) -> Vec<i32> {
    sqlx::query_as::<_, (i32,)>(
        "select pid from pg_stat_activity \
         where datname = current_database() and application_name = $1",
    )
    .bind(tokenmint::sync::APPLICATION_NAME)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|(pid,)| pid)
    .collect()
}

fn signal(signal: &str, pid: i32) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
    assert!(sent.unwrap().success());
}

#[tokio::test]
async fn a_quiet_listener_stays_connected_and_a_frozen_one_is_replaced_failing_closed() {
    if std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        eprintln!("skipped: needs the local test cluster, whose processes it can signal");
        return;
    }
    let app = TestApp::spawn_with(Backend::Postgres, &[HEARTBEAT]).await;
    let client = app.standard_client("ES256").await;
    let token_create = || async {
        let body = json!({"client_id": client.id, "client_secret": client.secret});
        let request = app.http.post(app.url("/auth/token/create")).json(&body);
        request.send().await.unwrap().status().as_u16()
    };
    let connected = poll(Duration::from_secs(10), || async {
        listener_pids(&app).await.len() == 1
    });
    assert!(connected.await.is_some());
    let first = listener_pids(&app).await[0];

    // Three heartbeats of silence: each ping is answered, the connection is kept.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(listener_pids(&app).await, [first]);
    assert_eq!(token_create().await, 200);
    assert_eq!(token_create().await, 200, "served from the cache");

    // Freeze the listener's server process, then change the client behind the service's back
    // (as if through an instance whose notification cannot arrive).
    signal("-STOP", first);
    let suspended = sqlx::query("update clients set status = 'suspended' where id = $1")
        .bind(&client.id)
        .execute(app.state.db.pool())
        .await;
    let refused = poll(DEADLINE, || async { token_create().await == 401 }).await;
    let replaced = poll(DEADLINE, || async {
        listener_pids(&app).await.iter().any(|pid| *pid != first)
    })
    .await;
    signal("-CONT", first);
    suspended.unwrap();
    assert!(refused.is_some(), "the frozen listener's gap fails closed");
    let replaced = replaced.expect("a new listener replaces the frozen one");
    eprintln!("frozen listener replaced after {} ms", replaced.as_millis());
}
