//! Administrators and roles (CONTRACT "Admin API"): tokens shown once and refused once deleted,
//! on every instance; a viewer reads and changes nothing; wrong admin tokens spend the caller
//! address's failure budget like wrong client secrets. The audit trail's walk over every
//! state-changing admin route is in `administrators/audit.rs`.

mod audit;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{standard_client_body, TestApp};
use crate::rate_limit::{spawn_limited, too_many, ADDRESS_BURST};

/// Registers an administrator through the admin API (as the bootstrap one) and returns the
/// creation answer.
pub async fn create_administrator(app: &TestApp, name: &str, role: &str) -> Value {
    let response = app
        .admin(
            Method::POST,
            "/admin/admins",
            Some(json!({"name": name, "role": role})),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// An admin request with another token.
async fn with_token(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let request = app.http.request(method, app.url(path)).bearer_auth(token);
    match body {
        Some(body) => request.json(&body),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn an_administrator_acts_under_its_name_and_stops_at_once_everywhere_when_deleted() {
    let app = TestApp::spawn().await;
    let other = app.spawn_beside().await;
    let alice = create_administrator(&app, "alice", "admin").await;
    let token = alice["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tmadm_"), "{alice}");
    assert_eq!(alice["role"], "admin");

    // Listed without its token; stored only as a digest.
    let listed: Value = app
        .admin(Method::GET, "/admin/admins", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "alice");
    assert!(!listed.to_string().contains(&token));
    let stored: (String,) = sqlx::query_as("select token_digest from administrators")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_ne!(stored.0, token);

    // Alice changes things on either instance, recorded under her name.
    let created = with_token(
        &app,
        &token,
        Method::POST,
        "/admin/clients",
        Some(standard_client_body("ES256")),
    )
    .await;
    assert_eq!(created.status(), 201);
    let client: Value = created.json().await.unwrap();
    let suspended = with_token(
        &other,
        &token,
        Method::PATCH,
        &format!("/admin/clients/{}", client["client_id"].as_str().unwrap()),
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(suspended.status(), 200);
    let trail: Value = app
        .admin(Method::GET, "/admin/audit-events?actor=alice", None)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["client.update", "client.create"]);
    assert_eq!(
        trail["events"][0]["details"],
        json!({"status": "suspended"})
    );

    // Deleted on one instance, refused at once by both.
    let id = alice["id"].as_str().unwrap();
    let deleted = app
        .admin(Method::DELETE, &format!("/admin/admins/{id}"), None)
        .await;
    assert_eq!(deleted.status(), 204);
    for instance in [&app, &other] {
        let refused = with_token(instance, &token, Method::GET, "/admin/clients", None).await;
        assert_eq!(refused.status(), 401);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    let again = app
        .admin(Method::DELETE, &format!("/admin/admins/{id}"), None)
        .await;
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn a_viewer_reads_everything_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let viewer = create_administrator(&app, "victor", "viewer").await;
    let token = viewer["token"].as_str().unwrap();
    for path in [
        "/admin/clients",
        "/admin/keys",
        "/admin/admins",
        "/admin/audit-events",
    ] {
        let read = with_token(&app, token, Method::GET, path, None).await;
        assert_eq!(read.status(), 200, "{path}");
    }
    let before = app.count_rows("audit_events", "id <> $1", "").await;
    for (method, path, body) in [
        (
            Method::POST,
            "/admin/clients",
            Some(standard_client_body("ES256")),
        ),
        (Method::POST, "/admin/keys/rotate", Some(json!({}))),
        (
            Method::POST,
            "/admin/admins",
            Some(json!({"name": "mallory", "role": "admin"})),
        ),
        (Method::DELETE, "/admin/admins/adm_0", None),
    ] {
        let refused = with_token(&app, token, method.clone(), path, body).await;
        assert_eq!(refused.status(), 403, "{method} {path}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "forbidden");
    }
    assert_eq!(app.count_rows("audit_events", "id <> $1", "").await, before);
    assert_eq!(app.count_rows("clients", "id <> $1", "").await, 0);
}

#[tokio::test]
async fn names_and_roles_are_checked() {
    let app = TestApp::spawn().await;
    create_administrator(&app, "alice", "viewer").await;
    for (body, field) in [
        (json!({"name": "alice", "role": "admin"}), "name"),
        (json!({"name": "bootstrap", "role": "admin"}), "name"),
        (json!({"name": "cli:root", "role": "admin"}), "name"),
        (json!({"name": "bob", "role": "root"}), "role"),
    ] {
        let response = app
            .admin(Method::POST, "/admin/admins", Some(body.clone()))
            .await;
        assert_eq!(response.status(), 422, "{body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["field"], field, "{body}");
    }
}

#[tokio::test]
async fn wrong_admin_tokens_spend_the_address_budget_then_even_the_right_one_waits() {
    let app = spawn_limited().await;
    for attempt in 0..ADDRESS_BURST {
        let wrong = with_token(
            &app,
            &format!("wrong-{attempt}"),
            Method::GET,
            "/admin/clients",
            None,
        )
        .await;
        assert_eq!(wrong.status(), 401);
    }
    let (_, body) =
        too_many(with_token(&app, "wrong-again", Method::GET, "/admin/clients", None).await).await;
    assert_eq!(body["error"], "too_many_requests");
    // The address spent its budget: the right token waits too, as a right secret would.
    too_many(app.admin(Method::GET, "/admin/clients", None).await).await;
}

#[test]
fn the_cli_records_its_changes_under_the_operating_system_user() {
    use crate::binary::{run_json, tokenmint};
    let dir = tempfile::tempdir().unwrap();
    run_json(
        tokenmint(dir.path())
            .env("USER", "carol")
            .args(["admin", "create", "--name", "dave", "--role", "viewer"]),
    );
    let trail = run_json(
        tokenmint(dir.path())
            .env("USER", "carol")
            .args(["audit", "list"]),
    );
    let event = &trail["events"][0];
    assert_eq!(event["actor"], "cli:carol");
    assert_eq!(event["action"], "administrator.create");
    assert_eq!(event["details"], json!({"name": "dave", "role": "viewer"}));
}
