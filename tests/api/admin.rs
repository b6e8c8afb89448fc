//! The admin API: the guard, validation in the admin format, and every client operation.

use reqwest::header::CACHE_CONTROL;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{standard_client_body, TestApp};
use crate::on_both_backends;

#[tokio::test]
async fn refuses_requests_without_the_admin_token() {
    let app = TestApp::spawn().await;
    let anonymous = app.get("/admin/clients").await;
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    let wrong = app
        .http
        .get(app.url("/admin/clients"))
        .bearer_auth("not-the-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let post = app
        .http
        .post(app.url("/admin/keys/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 401);
}

async fn creates_shows_lists_and_updates_a_client(app: TestApp) {
    let response = app
        .admin(
            Method::POST,
            "/admin/clients",
            Some(standard_client_body("RS256")),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let created: Value = response.json().await.unwrap();
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(created["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(created["algorithm"], "RS256");
    assert_eq!(created["status"], "active");

    let shown: Value = app
        .admin(Method::GET, &format!("/admin/clients/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["allowed_states"], json!(["IC", "OH"]));
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is shown only at creation"
    );

    let patch = json!({"allowed_scopes": ["programs:read"], "max_ttl_minutes": 30, "email": null});
    let updated: Value = app
        .admin(Method::PATCH, &format!("/admin/clients/{id}"), Some(patch))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["allowed_scopes"], json!(["programs:read"]));
    assert_eq!(updated["max_ttl_minutes"], 30);
    assert_eq!(updated["email"], Value::Null);
    assert_eq!(updated["default_state"], "IC", "untouched fields stay");

    let list: Vec<Value> = app
        .admin(Method::GET, "/admin/clients", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(list.iter().any(|c| c["client_id"] == id));

    let secrets: Vec<Value> = app
        .admin(Method::GET, &format!("/admin/clients/{id}/secrets"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1);
    assert!(secrets[0].get("client_secret").is_none());
}
on_both_backends!(creates_shows_lists_and_updates_a_client);

#[tokio::test]
async fn invalid_input_is_422_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "x", "allowed_states": ["Ohio"]}),
            "allowed_states",
        ),
        (
            json!({"name": "x", "default_scopes": ["a"]}),
            "default_scopes",
        ),
        (
            json!({"name": "x", "max_ttl_minutes": 0}),
            "max_ttl_minutes",
        ),
        (
            json!({"name": "x", "max_ttl_minutes": 100000}),
            "max_ttl_minutes",
        ),
        (json!({"name": "x", "phones": ["12345"]}), "phones"),
        (json!({"name": "x", "email": "nobody"}), "email"),
    ];
    for (body, field) in cases {
        let response = app
            .admin(Method::POST, "/admin/clients", Some(body.clone()))
            .await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request");
        assert_eq!(error["field"], field, "{body}");
        assert!(error["message"].is_string());
    }
    for body in [
        json!({"name": "x", "algorithm": "HS256"}),
        json!({"nam": "typo"}),
        json!([1]),
    ] {
        let response = app
            .admin(Method::POST, "/admin/clients", Some(body.clone()))
            .await;
        assert_eq!(response.status(), 422, "{body}");
    }
    let list: Vec<Value> = app
        .admin(Method::GET, "/admin/clients", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(list.is_empty());
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/admin/clients/nope"),
        (Method::PATCH, "/admin/clients/nope"),
        (Method::POST, "/admin/clients/nope/secrets"),
        (Method::DELETE, "/admin/clients/nope/secrets/sec_x"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"name": "y"}));
        let response = app.admin(method.clone(), path, body).await;
        assert_eq!(response.status(), 404, "{method} {path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "not_found");
    }
}

#[tokio::test]
async fn rotating_without_a_body_rotates_every_algorithm() {
    let app = TestApp::spawn().await;
    let response = app.admin(Method::POST, "/admin/keys/rotate", None).await;
    assert_eq!(response.status(), 200);
    let rotated: Vec<Value> = response.json().await.unwrap();
    let algorithms: Vec<&str> = rotated
        .iter()
        .map(|r| r["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(algorithms, ["ES256", "RS256", "EdDSA"]);
}
