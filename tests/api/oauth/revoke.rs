//! `POST /oauth/revoke`: a client revokes its own tokens, everywhere at once; invalid tokens are
//! answered 200; other clients' tokens are refused and stay active.

use serde_json::Value;

use super::{introspect, resource_server, revoke, token_of, Auth, REVOKE};
use crate::authtoken::{approved_client, auth_token, credential, generate, me_status, refresh};
use crate::helpers::TestApp;

/// Whether the issuance row of `jti` has `revoked_at` set.
async fn revoked_in_the_record(app: &TestApp, jti: &str) -> bool {
    let condition = "jti = $1 and revoked_at is not null";
    app.count_rows("issuances", condition, jti).await == 1
}

#[tokio::test]
async fn a_revoked_token_is_refused_by_me_inactive_and_recorded() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("RS256").await;
    let issued = app.issue_for(&client).await;
    let token = issued.token.expose();
    let other = token_of(&app, &client).await;
    assert_eq!(me_status(&app, token).await, 200);

    assert_eq!(revoke(&app, &client, token).await, 200);

    assert_eq!(me_status(&app, token).await, 401);
    assert_eq!(introspect(&app, &client, token).await["active"], false);
    assert!(revoked_in_the_record(&app, &issued.jti).await);
    assert_eq!(me_status(&app, &other).await, 200, "only that token");
}

#[tokio::test]
async fn another_clients_token_is_refused_and_stays_active() {
    let app = TestApp::spawn().await;
    let owner = app.standard_client("ES256").await;
    let stranger = resource_server(&app).await;
    let issued = app.issue_for(&owner).await;
    let token = issued.token.expose();

    let response = super::call(&app, REVOKE, &stranger, Auth::Basic, token).await;

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(me_status(&app, token).await, 200);
    assert_eq!(introspect(&app, &owner, token).await["active"], true);
    assert!(!revoked_in_the_record(&app, &issued.jti).await);
}

#[tokio::test]
async fn invalid_unknown_and_already_revoked_tokens_are_answered_200() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let token = token_of(&app, &client).await;
    assert_eq!(revoke(&app, &client, &token).await, 200);

    for presented in ["not-a-token", "a.b.c", token.as_str()] {
        assert_eq!(revoke(&app, &client, presented).await, 200, "{presented}");
    }
}

#[tokio::test]
async fn an_expired_authtoken_once_revoked_can_no_longer_be_refreshed() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let revoked = auth_token(generate(&app, &key, &secret).await).await;
    let kept = auth_token(generate(&app, &key, &secret).await).await;
    app.clock.advance_seconds(3600 + 60);

    assert_eq!(revoke(&app, &client, &revoked).await, 200);

    assert_eq!(refresh(&app, &revoked).await.status(), 401);
    assert_eq!(
        refresh(&app, &kept).await.status(),
        200,
        "the other one still refreshes"
    );
}
