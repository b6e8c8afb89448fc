//! `generate(key, secret)` and `refresh(oldAuthToken)`: success, every refusal, the refresh
//! window, refresh-once and the revocation of a reused token's descendants.

use reqwest::header::{CACHE_CONTROL, RETRY_AFTER};
use reqwest::Method;
use serde_json::{json, Value};

use super::{
    approved_client, auth_token, credential, generate, me_status, portal, refresh, status_and_body,
    GROUP, GROUP_SCOPES,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

/// The default AuthToken lifetime and refresh window, in seconds.
const LIFETIME_SECONDS: i64 = 3600;
const WINDOW_SECONDS: i64 = 24 * 3600;

async fn an_authtoken_carries_the_scopes_of_the_credentials_groups(app: TestApp) {
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let response = generate(&app, &key, &secret).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expiresIn"], LIFETIME_SECONDS);
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));

    let token = body["authToken"].as_str().unwrap();
    let (_, claims) = app.verify_with_jwks(token).await;
    assert_eq!(claims["scope"], GROUP_SCOPES.join(" "));
    assert_eq!(claims["sub"], key.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["credential_key"], key.as_str());
    assert_eq!(claims["api_groups"], json!([GROUP]));
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(
        app.count_rows("issuances", "scheme = 'authtoken' and jti = $1", jti)
            .await,
        1
    );
    assert_eq!(me_status(&app, token).await, 200);
}
on_both_backends!(an_authtoken_carries_the_scopes_of_the_credentials_groups);

#[tokio::test]
async fn generate_gives_one_answer_for_unknown_key_wrong_secret_revoked_and_suspended() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let (revoked_key, revoked_secret) = credential(&app, &client).await;
    let path = format!("/v1/credentials/{revoked_key}");
    portal(&app, &client, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    let refusals = [
        status_and_body(generate(&app, "0123456789abcdef0123456789abcdef", &secret).await).await,
        status_and_body(generate(&app, &key, "wrong-secret").await).await,
        status_and_body(generate(&app, &revoked_key, &revoked_secret).await).await,
    ];
    let path = format!("/admin/clients/{}", client.id);
    let suspend = json!({"status": "suspended"});
    assert_eq!(
        app.admin(Method::PATCH, &path, Some(suspend))
            .await
            .status(),
        200
    );
    let suspended = status_and_body(generate(&app, &key, &secret).await).await;
    for refusal in refusals.iter().chain([&suspended]) {
        assert_eq!(refusal, &suspended, "one answer for every refusal");
    }
    assert_eq!(suspended.0, 401);
    assert_eq!(suspended.1["error"], "invalid_credentials");
    assert!(suspended.1["message"].is_string());
}

#[tokio::test]
async fn bad_generate_and_refresh_bodies_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    for (path, body, field) in [
        ("/auth/authtoken", json!({"secret": "s"}), "key"),
        (
            "/auth/authtoken",
            json!({"key": "k", "secret": 5}),
            "secret",
        ),
        ("/auth/authtoken/refresh", json!({}), "authToken"),
        (
            "/auth/authtoken/refresh",
            json!({"authToken": ["x"]}),
            "authToken",
        ),
    ] {
        let response = app
            .http
            .post(app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, error) = status_and_body(response).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
        assert_eq!(error["error"], "invalid_request");
    }
    let raw = app
        .http
        .post(app.url("/auth/authtoken"))
        .body("key=k")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
}

#[tokio::test]
async fn refresh_renews_a_token_before_and_after_its_expiry_within_the_window() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let first = auth_token(generate(&app, &key, &secret).await).await;

    let second = auth_token(refresh(&app, &first).await).await;
    assert_ne!(second, first);
    let (_, claims) = app.verify_with_jwks(&second).await;
    assert_eq!(claims["scope"], GROUP_SCOPES.join(" "));
    assert_eq!(claims["sub"], key.as_str());

    app.clock.advance_seconds(LIFETIME_SECONDS + 600);
    assert_eq!(me_status(&app, &second).await, 401, "expired");
    let response = refresh(&app, &second).await;
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let third = auth_token(response).await;
    assert_eq!(me_status(&app, &third).await, 200);
    assert_eq!(
        app.count_rows("issuances", "scheme = $1", "authtoken")
            .await,
        3
    );
}

#[tokio::test]
async fn refresh_works_to_the_end_of_the_window_even_after_the_signing_key_is_rotated() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let token = auth_token(generate(&app, &key, &secret).await).await;
    let rotated = app
        .admin(Method::POST, "/admin/keys/rotate", Some(json!({})))
        .await;
    assert_eq!(rotated.status(), 200);
    // The last minute of the window: the key that signed the token was retired a day ago.
    app.clock
        .advance_seconds(LIFETIME_SECONDS + WINDOW_SECONDS - 60);
    let now = tokenmint::clock::Clock::now(&*app.clock);
    app.state.signer.reload(now).await.unwrap();
    let renewed = auth_token(refresh(&app, &token).await).await;
    assert_eq!(me_status(&app, &renewed).await, 200);
}

#[tokio::test]
async fn refresh_is_refused_once_the_window_after_expiry_has_passed() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let token = auth_token(generate(&app, &key, &secret).await).await;
    app.clock
        .advance_seconds(LIFETIME_SECONDS + WINDOW_SECONDS + 60);
    let (status, error) = status_and_body(refresh(&app, &token).await).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (401, Some("invalid_credentials"))
    );
}

#[tokio::test]
async fn the_lifetime_and_the_window_are_configurable() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            (
                "TOKENMINT__SCHEMES__AUTHTOKEN__TOKEN_LIFETIME_MINUTES",
                "10",
            ),
            ("TOKENMINT__SCHEMES__AUTHTOKEN__REFRESH_WINDOW_HOURS", "1"),
        ],
    )
    .await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let response = generate(&app, &key, &secret).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expiresIn"], 600);
    let token = body["authToken"].as_str().unwrap();
    app.clock.advance_seconds(600 + 3600 + 60);
    assert_eq!(refresh(&app, token).await.status(), 401);
}

async fn refreshing_a_token_twice_revokes_every_token_issued_from_it(app: TestApp) {
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let parent = auth_token(generate(&app, &key, &secret).await).await;
    let child = auth_token(refresh(&app, &parent).await).await;
    let grandchild = auth_token(refresh(&app, &child).await).await;
    assert_eq!(me_status(&app, &grandchild).await, 200);

    let (status, error) = status_and_body(refresh(&app, &parent).await).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (401, Some("invalid_credentials"))
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("already refreshed"),
        "{error}"
    );
    assert_eq!(me_status(&app, &child).await, 401, "the child is revoked");
    assert_eq!(
        me_status(&app, &grandchild).await,
        401,
        "the grandchild too"
    );
    let (status, _) = status_and_body(refresh(&app, &grandchild).await).await;
    assert_eq!(status, 401, "a revoked token cannot be refreshed");
    let fresh = auth_token(generate(&app, &key, &secret).await).await;
    assert_eq!(
        me_status(&app, &fresh).await,
        200,
        "the credential still works"
    );
}
on_both_backends!(refreshing_a_token_twice_revokes_every_token_issued_from_it);

async fn revoking_the_credential_stops_generate_and_refresh_at_once(app: TestApp) {
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let token = auth_token(generate(&app, &key, &secret).await).await;
    let other_scheme = app.issue_for(&app.standard_client("ES256").await).await;
    let path = format!("/v1/credentials/{key}");
    let revoked = portal(&app, &client, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(generate(&app, &key, &secret).await.status(), 401);
    assert_eq!(refresh(&app, &token).await.status(), 401);
    assert_eq!(
        me_status(&app, &token).await,
        401,
        "its live tokens are revoked too"
    );
    // Only AuthTokens are recorded as revocable by subject (and indexed so); both records say
    // what happened to them.
    let (_, claims) = app.verify_with_jwks(&token).await;
    let record = |jti: String| {
        let pool = app.state.db.pool().clone();
        async move {
            let row: (i64, Option<i64>) = sqlx::query_as(
                "select cast(case when revocable_by_subject then 1 else 0 end as bigint), \
                 revoked_at from issuances where jti = $1",
            )
            .bind(jti)
            .fetch_one(&pool)
            .await
            .unwrap();
            (row.0 == 1, row.1.is_some())
        }
    };
    let authtoken = record(claims["jti"].as_str().unwrap().to_owned()).await;
    assert_eq!(authtoken, (true, true), "(revocable by subject, revoked)");
    assert_eq!(record(other_scheme.jti).await, (false, false));
}
on_both_backends!(revoking_the_credential_stops_generate_and_refresh_at_once);

#[tokio::test]
async fn suspending_the_client_stops_refresh_at_once_and_reactivating_restores_it() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let token = auth_token(generate(&app, &key, &secret).await).await;
    let path = format!("/admin/clients/{}", client.id);
    app.admin(Method::PATCH, &path, Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(refresh(&app, &token).await.status(), 401);
    app.admin(Method::PATCH, &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(
        refresh(&app, &token).await.status(),
        200,
        "a refused refresh does not consume the token"
    );
}

#[tokio::test]
async fn only_authtokens_of_this_service_can_be_refreshed() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let other_scheme = app.issue_for(&client).await.token.expose().to_owned();
    assert_eq!(refresh(&app, &other_scheme).await.status(), 401);
    let mut parts: Vec<&str> = other_scheme.split('.').collect();
    parts[2] = "AAAA";
    assert_eq!(refresh(&app, &parts.join(".")).await.status(), 401);
    assert_eq!(refresh(&app, "not-a-token").await.status(), 401);
}

#[tokio::test]
async fn a_database_outage_is_503_with_retry_after_in_the_same_body_shape() {
    let app = TestApp::spawn().await;
    app.state.db.pool().close().await;
    let response = generate(&app, "0123456789abcdef0123456789abcdef", "secret").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key(RETRY_AFTER));
    let (_, body) = status_and_body(response).await;
    assert_eq!(body["error"], "unavailable");
    assert!(body["message"].is_string());
}
