//! The admin routes of API keys: create (the key shown once), list (never the key), revoke, and
//! their 401/404/422 answers in the admin format.

use reqwest::header::CACHE_CONTROL;
use reqwest::Method;
use serde_json::{json, Value};

use super::{api_key_rows, authorize};
use crate::helpers::{ClockExt, TestApp};
use crate::on_both_backends;

async fn the_admin_api_creates_lists_and_revokes_api_keys(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let keys_path = format!("/admin/clients/{}/api-keys", client.id);
    let expires_at = "2999-01-01T00:00:00Z";

    let response = app
        .admin(
            Method::POST,
            &keys_path,
            Some(json!({"environment": "production", "expires_at": expires_at})),
        )
        .await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let created: Value = response.json().await.unwrap();
    let id = created["api_key_id"].as_str().unwrap();
    assert!(id.starts_with("key_"), "{id}");
    assert!(created["api_key"]
        .as_str()
        .unwrap()
        .starts_with("tmk_live_"));
    assert_eq!(created["client_id"], client.id.as_str());
    assert_eq!(created["environment"], "production");
    assert_eq!(created["expires_at"], expires_at);

    let listed: Vec<Value> = app
        .admin(Method::GET, &keys_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["api_key_id"], id);
    assert_eq!(listed[0]["revoked_at"], Value::Null);
    assert!(listed[0].get("api_key").is_none(), "the key is shown once");

    let revoke_path = format!("/admin/api-keys/{id}");
    let revoked = app.admin(Method::DELETE, &revoke_path, None).await;
    assert_eq!(revoked.status(), 204);
    let listed: Vec<Value> = app
        .admin(Method::GET, &keys_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed[0]["revoked_at"].is_string());
    let again = app.admin(Method::DELETE, &revoke_path, None).await;
    assert_eq!(again.status(), 404, "an already revoked key is no live key");
}
on_both_backends!(the_admin_api_creates_lists_and_revokes_api_keys);

#[tokio::test]
async fn invalid_api_key_input_is_422_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let path = format!("/admin/clients/{}/api-keys", client.id);
    let past = (app.clock.now_utc() - chrono::Duration::minutes(1)).to_rfc3339();
    let cases = [
        (json!({}), Some("environment")),
        (json!({"environment": "staging"}), Some("environment")),
        (
            json!({"environment": "sandbox", "expires_at": past}),
            Some("expires_at"),
        ),
        (
            json!({"environment": "sandbox", "expires_at": "soon"}),
            None,
        ),
        (json!({"environment": "sandbox", "key": "mine"}), None),
        (json!({"environment": 1}), None),
    ];
    for (body, field) in cases {
        let response = app.admin(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request");
        if let Some(field) = field {
            assert_eq!(error["field"], field, "{body}");
        }
    }
    assert_eq!(api_key_rows(&app).await, 0);
}

#[tokio::test]
async fn unknown_clients_and_keys_are_404_and_the_admin_token_is_required() {
    let app = TestApp::spawn().await;
    let body = json!({"environment": "sandbox"});

    let created = app
        .admin(
            Method::POST,
            "/admin/clients/no-such-client/api-keys",
            Some(body.clone()),
        )
        .await;
    assert_eq!(created.status(), 404);
    let listed = app
        .admin(Method::GET, "/admin/clients/no-such-client/api-keys", None)
        .await;
    assert_eq!(listed.status(), 404);
    let revoked = app
        .admin(Method::DELETE, "/admin/api-keys/key_unknown", None)
        .await;
    assert_eq!(revoked.status(), 404);
    let error: Value = revoked.json().await.unwrap();
    assert_eq!(error["error"], "not_found");

    let client = app.standard_client("ES256").await;
    let anonymous = app
        .http
        .post(app.url(&format!("/admin/clients/{}/api-keys", client.id)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let anonymous_delete = app
        .http
        .delete(app.url("/admin/api-keys/key_unknown"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_delete.status(), 401);
    assert_eq!(api_key_rows(&app).await, 0);
}

#[tokio::test]
async fn revoking_one_key_leaves_the_clients_other_keys_working() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let (first_id, first) = super::create_key(&app, &client.id, "sandbox", None).await;
    let (_, second) = super::create_key(&app, &client.id, "sandbox", None).await;

    app.admin(Method::DELETE, &format!("/admin/api-keys/{first_id}"), None)
        .await;

    assert_eq!(authorize(&app, &first).await.status(), 401);
    assert_eq!(authorize(&app, &second).await.status(), 200);
}
