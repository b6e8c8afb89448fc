//! `POST /test-api-keys`: sandbox keys for registered phones, and the route's absence in
//! production (404, and not in the OpenAPI document).

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::{api_key_rows, assert_errors, authorize, client_with_phone, PHONE};
use crate::helpers::{Backend, ClockExt, TestApp};

/// `test_key_ttl_minutes` of config/default.toml.
const TEST_KEY_TTL_MINUTES: i64 = 1440;

async fn post_test_key(app: &TestApp, body: Value) -> Response {
    app.http
        .post(app.url("/test-api-keys"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_registered_phone_gets_a_sandbox_key_that_works_until_it_expires() {
    let app = TestApp::spawn().await;
    let client = client_with_phone(&app).await;
    let now = app.clock.now_utc();

    let response = post_test_key(&app, json!({"phone": "+380 (50) 123-45-67"})).await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    let key = body["apiKey"].as_str().unwrap();
    assert!(key.starts_with("tmk_sandbox_"), "{key}");
    let expires_at = chrono::DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap())
        .expect("expiresAt is RFC 3339");
    let expected = now + chrono::Duration::minutes(TEST_KEY_TTL_MINUTES);
    assert_eq!(expires_at.timestamp(), expected.timestamp());

    let listed: Vec<Value> = app
        .admin(
            Method::GET,
            &format!("/admin/clients/{}/api-keys", client.id),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["environment"], "sandbox");

    let token = authorize(&app, key).await;
    assert_eq!(token.status(), 200);
    let jwt: Value = token.json().await.unwrap();
    let (_, claims) = app.verify_with_jwks(jwt["jwt"].as_str().unwrap()).await;
    assert_eq!(claims["client_id"], client.id.as_str());

    app.clock.advance_seconds(TEST_KEY_TTL_MINUTES * 60);
    assert_errors(authorize(&app, key).await, 401, "apiKey").await;
}

#[tokio::test]
async fn an_unregistered_phone_or_a_suspended_client_is_404_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let client = client_with_phone(&app).await;

    let unknown = post_test_key(&app, json!({"phone": "+380671112233"})).await;
    assert_errors(unknown, 404, "phone").await;

    app.admin(
        Method::PATCH,
        &format!("/admin/clients/{}", client.id),
        Some(json!({"status": "suspended"})),
    )
    .await;
    let suspended = post_test_key(&app, json!({"phone": PHONE})).await;
    assert_errors(suspended, 404, "phone").await;

    assert_eq!(api_key_rows(&app).await, 0);
}

#[tokio::test]
async fn malformed_phones_and_bodies_are_422_and_write_nothing() {
    let app = TestApp::spawn().await;
    client_with_phone(&app).await;
    let bodies = [
        (r#"{"phone": "0501234567"}"#, "application/json"),
        (r#"{"phone": "+12"}"#, "application/json"),
        (r#"{"phone": "+380 50 abc"}"#, "application/json"),
        (r#"{"phone": 380501234567}"#, "application/json"),
        (r#"{"phone": null}"#, "application/json"),
        (r#"{}"#, "application/json"),
        (r#"["+380501234567"]"#, "application/json"),
        (r#"{"phone": "+380501234567""#, "application/json"),
        ("", "application/json"),
        ("phone=%2B380501234567", "application/x-www-form-urlencoded"),
        ("+380501234567", "text/plain"),
    ];
    for (body, content_type) in bodies {
        let response = app
            .http
            .post(app.url("/test-api-keys"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        assert_errors(response, 422, "phone").await;
    }
    assert_eq!(api_key_rows(&app).await, 0);
}

#[tokio::test]
async fn a_store_outage_on_test_api_keys_is_503() {
    let app = TestApp::spawn().await;
    app.state.db.pool().close().await;

    let response = post_test_key(&app, json!({"phone": PHONE})).await;

    assert_errors(response, 503, "service").await;
}

#[tokio::test]
async fn the_sandbox_documents_both_routes_with_a_required_api_key() {
    let app = TestApp::spawn().await;

    let document: Value = app.get("/openapi.json").await.json().await.unwrap();

    let authorization = &document["paths"]["/clients/authorization"]["get"];
    assert_eq!(authorization["tags"], json!(["api_key"]));
    let parameter = &authorization["parameters"][0];
    assert_eq!(
        (&parameter["name"], &parameter["in"], &parameter["required"]),
        (&json!("apiKey"), &json!("query"), &json!(true))
    );
    for status in ["200", "401", "422", "503"] {
        assert!(authorization["responses"][status].is_object(), "{status}");
    }
    let test_keys = &document["paths"]["/test-api-keys"]["post"];
    assert_eq!(test_keys["tags"], json!(["api_key"]));
    for status in ["201", "404", "422"] {
        assert!(test_keys["responses"][status].is_object(), "{status}");
    }
}

#[tokio::test]
async fn production_has_no_test_api_keys_route_and_does_not_document_it() {
    let app = TestApp::spawn_with(Backend::Postgres, &[("TOKENMINT_MODE", "production")]).await;
    client_with_phone(&app).await;

    let response = post_test_key(&app, json!({"phone": PHONE})).await;
    assert_eq!(response.status(), 404);

    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(document["paths"].get("/test-api-keys").is_none());
    assert!(document["paths"].get("/clients/authorization").is_some());
    assert_eq!(api_key_rows(&app).await, 0);
}
