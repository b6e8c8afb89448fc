//! The database ending the service's connections between requests (a restart, an idle timeout,
//! an administrator's `pg_terminate_backend`): the next token is issued and recorded as usual,
//! because a connection idle for a while is pinged, and replaced if dead, before it is used;
//! that holds for the connection the issuance writer keeps between batches too.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use crate::helpers::TestApp;
use crate::issuances::via_auth_jwt;

#[tokio::test]
async fn tokens_are_issued_and_recorded_after_the_database_ended_every_connection() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let first = via_auth_jwt(&app, &client).await.jti;

    let mut superuser = PgConnection::connect(&app.database_url).await.unwrap();
    let ended: i64 = sqlx::query_scalar(
        "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity \
         where datname = current_database() and pid <> pg_backend_pid()",
    )
    .fetch_one(&mut superuser)
    .await
    .unwrap();
    superuser.close().await.unwrap();
    assert!(ended >= 1, "the service held no connection to end");
    // Longer than a connection may sit unused and still be handed out without a ping.
    tokio::time::sleep(Duration::from_millis(600)).await;

    let second = via_auth_jwt(&app, &client).await.jti;
    assert_ne!(first, second);
    for jti in [&first, &second] {
        assert_eq!(app.count_rows("issuances", "jti = $1", jti).await, 1);
    }
}
