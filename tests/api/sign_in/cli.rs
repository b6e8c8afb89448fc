//! `tokenmint service-account ...`: management in the admin API's JSON, and `assertion`, whose
//! output a running service accepts.

use serde_json::Value;
use tokenmint::clock::{Clock, SystemClock};

use super::{access_token, keys, Fixture, ICN, SUBJECT};
use crate::binary::{run, run_json, tokenmint};
use crate::helpers::{Backend, ClockExt, TestApp};

#[test]
fn the_cli_manages_service_accounts_in_the_admin_api_format() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first.pem"), dir.path().join("second.pem"));
    std::fs::write(&first, keys()[0].certificate()).unwrap();
    std::fs::write(&second, keys()[1].certificate()).unwrap();
    let client = run_json(tokenmint(dir.path()).args([
        "client",
        "create",
        "--name",
        "Acme",
        "--scope",
        "programs:read",
    ]));
    let client_id = client["client_id"].as_str().unwrap();

    let created = run_json(tokenmint(dir.path()).args([
        "service-account",
        "create",
        "--client-id",
        client_id,
        "--id",
        "cli-account",
        "--description",
        "From the CLI",
        "--scope",
        "programs:read",
        "--audience",
        "http://localhost:4000",
        "--duration",
        "300",
        "--attribute",
        "icn",
        "--certificate-file",
        first.to_str().unwrap(),
    ]));
    assert_eq!(created["service_account_id"], "cli-account");
    assert_eq!(created["access_token_user_attributes"][0], "icn");
    assert_eq!(created["certificates"].as_array().unwrap().len(), 1);

    let added = run_json(tokenmint(dir.path()).args([
        "service-account",
        "add-certificate",
        "cli-account",
        "--certificate-file",
        second.to_str().unwrap(),
    ]));
    assert_eq!(added["fingerprint"].as_str().unwrap().len(), 64);
    let shown = run_json(tokenmint(dir.path()).args(["service-account", "show", "cli-account"]));
    assert_eq!(shown["certificates"].as_array().unwrap().len(), 2);
    let listed = run_json(tokenmint(dir.path()).args(["service-account", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);

    run(tokenmint(dir.path()).args(["service-account", "delete", "cli-account"]));
    let gone = tokenmint(dir.path())
        .args(["service-account", "show", "cli-account"])
        .output()
        .unwrap();
    assert!(!gone.status.success());
    let refused = tokenmint(dir.path())
        .args([
            "service-account",
            "create",
            "--client-id",
            client_id,
            "--audience",
            "a",
            "--duration",
            "60",
            "--certificate-file",
            first.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("300 or 1800"));
}

#[tokio::test]
async fn an_assertion_from_the_cli_is_exchanged_for_a_token() {
    let f = Fixture::arrange(TestApp::spawn_on(Backend::Sqlite).await).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, &keys()[0].pem).unwrap();
    let mut command = tokenmint(dir.path());
    command.args([
        "service-account",
        "assertion",
        "--service-account-id",
        &f.account_id,
        "--key-file",
        key_file.to_str().unwrap(),
        "--sub",
        SUBJECT,
        "--scope",
        "programs:read",
        "--user-attribute",
        &format!("icn={ICN}"),
        "--audience",
        &f.token_url(),
    ]);
    let assertion = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();

    // The CLI stamps `iat` with the real time; bring the service's clock up to it.
    let behind = SystemClock.now() - f.app.clock.now_utc();
    f.app.clock.advance_seconds(behind.num_seconds() + 1);
    let token = access_token(f.exchange_assertion(assertion.trim()).await).await;
    let me: Value = f
        .app
        .http
        .get(f.app.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sub"], SUBJECT);
    assert_eq!(me["user_attributes"]["icn"], ICN);
    assert_eq!(me["service_account_id"], f.account_id.as_str());
}

#[tokio::test]
async fn the_cli_prints_as_many_single_use_assertions_as_asked() {
    const COUNT: usize = 3;
    let f = Fixture::arrange(TestApp::spawn_on(Backend::Sqlite).await).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, &keys()[0].pem).unwrap();
    let mut command = tokenmint(dir.path());
    command.args([
        "service-account",
        "assertion",
        "--service-account-id",
        &f.account_id,
        "--key-file",
        key_file.to_str().unwrap(),
        "--sub",
        SUBJECT,
        "--scope",
        "programs:read",
        "--audience",
        &f.token_url(),
        "--count",
        &COUNT.to_string(),
    ]);
    let printed = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();

    let assertions: Vec<&str> = printed.lines().collect();
    assert_eq!(assertions.len(), COUNT);
    let behind = SystemClock.now() - f.app.clock.now_utc();
    f.app.clock.advance_seconds(behind.num_seconds() + 1);
    for assertion in assertions {
        access_token(f.exchange_assertion(assertion).await).await;
    }
    assert_eq!(
        f.issuance_count().await,
        COUNT as i64,
        "each one is its own jti"
    );
}
