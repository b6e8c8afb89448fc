//! The verified-credential cache never outlives a change made on this instance: revocation and
//! suspension refuse a credential at once, even right after it was accepted (and cached).

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

async fn auth_jwt_status(app: &TestApp, id: &str, secret: &str) -> u16 {
    app.http
        .post(app.url("/auth/jwt"))
        .header("client-id", id)
        .header("client-secret", secret)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_revoked_secret_is_refused_at_once_after_being_accepted() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    assert_eq!(auth_jwt_status(&app, &client.id, &client.secret).await, 200);
    assert_eq!(auth_jwt_status(&app, &client.id, &client.secret).await, 200);
    let path = format!("/admin/clients/{}/secrets/{}", client.id, client.secret_id);
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(auth_jwt_status(&app, &client.id, &client.secret).await, 403);
}

#[tokio::test]
async fn a_suspension_and_a_policy_change_apply_at_once_after_a_success() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let body = json!({"client_id": client.id, "client_secret": client.secret});
    let create = || {
        app.http
            .post(app.url("/auth/token/create"))
            .json(&body)
            .send()
    };
    let first: Value = create().await.unwrap().json().await.unwrap();
    assert_eq!(first["scope"], json!(["programs:read"]));

    let path = format!("/admin/clients/{}", client.id);
    let patch = json!({"default_scopes": ["schools:read"]});
    app.admin(Method::PATCH, &path, Some(patch)).await;
    let changed: Value = create().await.unwrap().json().await.unwrap();
    assert_eq!(
        changed["scope"],
        json!(["schools:read"]),
        "the new policy applies at once"
    );

    app.admin(Method::PATCH, &path, Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(create().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_revoked_api_key_is_refused_at_once_after_being_accepted() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let created: Value = app
        .admin(
            Method::POST,
            &format!("/admin/clients/{}/api-keys", client.id),
            Some(json!({"environment": "sandbox"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = created["api_key"].as_str().unwrap();
    let authorize = || app.get_owned(format!("/clients/authorization?apiKey={key}"));
    assert_eq!(authorize().await.status(), 200);
    assert_eq!(authorize().await.status(), 200);
    let path = format!(
        "/admin/api-keys/{}",
        created["api_key_id"].as_str().unwrap()
    );
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(authorize().await.status(), 401);
}
