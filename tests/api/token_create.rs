//! `POST /auth/token/create` (CONTRACT.md section A).

use reqwest::header::{CACHE_CONTROL, RETRY_AFTER};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestClient};

async fn create(app: &TestApp, body: Value) -> Response {
    app.http
        .post(app.url("/auth/token/create"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn credentials(client: &TestClient) -> Value {
    json!({"client_id": client.id, "client_secret": client.secret})
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

async fn error_of(response: Response) -> (u16, Value) {
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn issues_a_token_with_the_requested_state_lifetime_scopes_and_user() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let body = with(
        credentials(&client),
        json!({
            "stateAbbr": "oh", "tokenTime": 30, "ipaddress": "string",
            "scope": ["schools:read", "programs:read"],
            "user": {"orgId": 7, "orgName": "Acme High", "id": "u-42"}
        }),
    );
    let response = create(&app, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let issued: Value = response.json().await.unwrap();
    assert_eq!(issued["tokenType"], "Bearer");
    assert_eq!(issued["expiresIn"], 1800);
    assert_eq!(issued["scope"], json!(["schools:read", "programs:read"]));
    assert_eq!(issued["stateAbbr"], "OH");
    assert!(issued["expiresAt"].as_str().unwrap().ends_with('Z'));

    let (_, claims) = app.verify_with_jwks(issued["jwt"].as_str().unwrap()).await;
    assert_eq!(claims["scope"], "schools:read programs:read");
    assert_eq!(claims["state"], "OH");
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(
        claims["user"],
        json!({"orgId": 7, "orgName": "Acme High", "id": "u-42"})
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1800
    );

    let (scheme, declared): (String, Option<String>) =
        sqlx::query_as("select scheme, declared_ip from issuances where jti = $1")
            .bind(claims["jti"].as_str().unwrap())
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(
        (scheme.as_str(), declared.as_deref()),
        ("token_create", Some("string"))
    );

    let me = app
        .get(&format!("/v1/me?jwt={}", issued["jwt"].as_str().unwrap()))
        .await;
    assert_eq!(
        me.status(),
        200,
        "the token loads a standalone application by URL"
    );
}

#[tokio::test]
async fn applies_the_clients_defaults_and_caps_the_default_lifetime_at_its_maximum() {
    let app = TestApp::spawn().await;
    let mut body = crate::helpers::standard_client_body("RS256");
    body["max_ttl_minutes"] = json!(20);
    let client = app.create_client(body).await;
    let issued: Value = create(&app, credentials(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued["scope"], json!(["programs:read"]));
    assert_eq!(issued["stateAbbr"], "IC");
    assert_eq!(issued["expiresIn"], 20 * 60);
    let (header, _) = app.verify_with_jwks(issued["jwt"].as_str().unwrap()).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
}

#[tokio::test]
async fn assessment_all_expands_to_every_assessment_scope_the_client_is_allowed() {
    let app = TestApp::spawn().await;
    let mut body = crate::helpers::standard_client_body("ES256");
    body["allowed_scopes"] = json!([
        "programs:read",
        "abilityexplorer:read",
        "assessment:interest"
    ]);
    let client = app.create_client(body).await;
    let issued: Value = create(
        &app,
        with(credentials(&client), json!({"scope": ["assessment:all"]})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        issued["scope"],
        json!(["abilityexplorer:read", "assessment:interest"])
    );

    let plain = app.standard_client("ES256").await;
    let (status, error) = error_of(
        create(
            &app,
            with(credentials(&plain), json!({"scope": ["assessment:all"]})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (403, "invalid_scope")
    );
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_field_and_issue_nothing() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let cases = [
        (json!({"client_secret": client.secret}), "client_id"),
        (
            with(credentials(&client), json!({"tokenTime": 61})),
            "tokenTime",
        ),
        (
            with(credentials(&client), json!({"tokenTime": "30"})),
            "tokenTime",
        ),
        (
            with(credentials(&client), json!({"tokenTime": -5})),
            "tokenTime",
        ),
        (
            with(credentials(&client), json!({"stateAbbr": "Ohio"})),
            "stateAbbr",
        ),
        (
            with(credentials(&client), json!({"scope": "programs:read"})),
            "scope",
        ),
        (
            with(credentials(&client), json!({"ipaddress": "x".repeat(65)})),
            "ipaddress",
        ),
        (
            with(credentials(&client), json!({"user": {"nested": {"a": 1}}})),
            "user",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = error_of(create(&app, body.clone()).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["error"], "invalid_request");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{error}"
        );
    }
    let (_, over) =
        error_of(create(&app, with(credentials(&client), json!({"tokenTime": 61}))).await).await;
    assert_eq!(
        over["message"],
        "tokenTime must be an integer between 1 and 60"
    );
    let raw = app
        .http
        .post(app.url("/auth/token/create"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", &client.id)
            .await,
        0
    );
}

#[tokio::test]
async fn an_unknown_client_and_a_wrong_secret_get_the_same_401() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let unknown = error_of(
        create(
            &app,
            json!({"client_id": "nobody", "client_secret": client.secret}),
        )
        .await,
    )
    .await;
    let wrong = error_of(
        create(
            &app,
            json!({"client_id": client.id, "client_secret": "wrong"}),
        )
        .await,
    )
    .await;
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong);
    assert_eq!(unknown.1["error"], "invalid_client");
}

#[tokio::test]
async fn a_suspended_client_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let path = format!("/admin/clients/{}", client.id);
    app.admin(Method::PATCH, &path, Some(json!({"status": "suspended"})))
        .await;
    let (status, error) = error_of(create(&app, credentials(&client)).await).await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (401, "invalid_client")
    );
}

#[tokio::test]
async fn scopes_and_states_beyond_the_clients_policy_are_403() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let body = with(
        credentials(&client),
        json!({"scope": ["programs:read", "industry:write", "x:y"]}),
    );
    let (status, error) = error_of(create(&app, body).await).await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (403, "invalid_scope")
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("industry:write") && message.contains("x:y"),
        "{message}"
    );
    assert!(
        !message.contains("programs:read"),
        "only refused scopes are listed"
    );

    let (status, error) =
        error_of(create(&app, with(credentials(&client), json!({"stateAbbr": "TX"}))).await).await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (403, "state_not_allowed")
    );
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", &client.id)
            .await,
        0
    );
}

#[tokio::test]
async fn a_database_outage_is_503_with_retry_after() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    app.state.db.pool().close().await;
    let response = create(&app, credentials(&client)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[RETRY_AFTER], "5");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "unavailable");
}
