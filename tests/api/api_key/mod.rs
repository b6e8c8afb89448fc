//! Scheme C: `GET /clients/authorization?apiKey=`, the sandbox-only `POST /test-api-keys`, the
//! API-key credential in the registry, its admin routes, its CLI and the sandbox demo key.

mod admin;
mod authorization;
mod cli;
mod registry;
mod test_keys;

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{standard_client_body, TestApp, TestClient};

/// The phone the test clients register (the sandbox demo client's number).
pub const PHONE: &str = "+380501234567";

/// A client with the standard policy and [`PHONE`] registered.
pub async fn client_with_phone(app: &TestApp) -> TestClient {
    let mut body = standard_client_body("ES256");
    body["phones"] = json!([PHONE]);
    app.create_client(body).await
}

/// Creates a key through the admin API, asserting 201; returns its id and the key.
pub async fn create_key(
    app: &TestApp,
    client_id: &str,
    environment: &str,
    expires_at: Option<&str>,
) -> (String, String) {
    let mut body = json!({ "environment": environment });
    if let Some(at) = expires_at {
        body["expires_at"] = json!(at);
    }
    let response = app
        .admin(
            Method::POST,
            &format!("/admin/clients/{client_id}/api-keys"),
            Some(body),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (
        created["api_key_id"].as_str().unwrap().to_owned(),
        created["api_key"].as_str().unwrap().to_owned(),
    )
}

/// `GET /clients/authorization?apiKey=<key>`.
pub async fn authorize(app: &TestApp, key: &str) -> Response {
    app.http
        .get(app.url("/clients/authorization"))
        .query(&[("apiKey", key)])
        .send()
        .await
        .unwrap()
}

/// Asserts a refusal in the scheme's format: the status and `{"errors": {"<field>": "..."}}`.
pub async fn assert_errors(response: Response, status: u16, field: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    let errors = body["errors"].as_object().expect("an errors object");
    assert_eq!(errors.len(), 1, "{body}");
    errors[field].as_str().expect("a message").to_owned()
}

/// Every row of `api_keys`.
pub async fn api_key_rows(app: &TestApp) -> i64 {
    app.count_rows("api_keys", "id <> $1", "").await
}

/// Tokens recorded for this scheme.
pub async fn api_key_issuances(app: &TestApp) -> i64 {
    app.count_rows("issuances", "scheme = $1", "api_key").await
}
