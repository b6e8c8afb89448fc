//! What withdraws tokens already issued (CONTRACT "Admin API"): an emergency key revocation and a
//! client's suspension. Both are refused by `/v1/me` and inactive at introspection on every
//! instance, the other one within a second (polled with a generous deadline: the test tells
//! "followed" from "never", not how fast).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::oauth::{inactive, introspect, resource_server, token_of};

/// Far longer than a change takes to reach another instance (well under a second), far shorter
/// than the periodic key reload (30 s), so passing means the change was followed.
const DEADLINE: Duration = Duration::from_secs(10);

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    app.jwks().await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: not seen within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("{what}: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_revoked_key_leaves_the_jwks_and_its_tokens_die_on_every_instance() {
    let app = TestApp::spawn().await;
    let other = app.spawn_beside().await;
    let client = app.standard_client("ES256").await;
    let watcher = resource_server(&app).await;
    let token = token_of(&app, &client).await;
    let kid = kid_of(&token);
    for instance in [&app, &other] {
        assert_eq!(me_status(instance, &token).await, 200);
        assert!(jwks_kids(instance).await.contains(&kid));
    }

    let revoked = app
        .admin(Method::POST, &format!("/admin/keys/{kid}/revoke"), None)
        .await;
    assert_eq!(revoked.status(), 204);

    // Here at once; there within the deadline.
    assert_eq!(me_status(&app, &token).await, 401);
    assert!(!jwks_kids(&app).await.contains(&kid));
    assert_eq!(introspect(&app, &watcher, &token).await, inactive());
    until("a key revocation reaching the other instance", async || {
        me_status(&other, &token).await == 401 && !jwks_kids(&other).await.contains(&kid)
    })
    .await;
    assert_eq!(introspect(&other, &watcher, &token).await, inactive());

    // The pre-published next key signs at once, and both instances accept its tokens.
    let fresh = token_of(&other, &client).await;
    assert_ne!(kid_of(&fresh), kid);
    for instance in [&app, &other] {
        assert_eq!(me_status(instance, &fresh).await, 200);
    }
    let keys: Value = app
        .admin(Method::GET, "/admin/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    assert_eq!(listed["status"], "retired");
    assert!(listed["revoked_at"].is_string(), "{listed}");

    // Once is enough; an unknown kid is 404; the trail has one event.
    let again = app
        .admin(Method::POST, &format!("/admin/keys/{kid}/revoke"), None)
        .await;
    assert_eq!(again.status(), 204);
    let unknown = app
        .admin(Method::POST, "/admin/keys/nope/revoke", None)
        .await;
    assert_eq!(unknown.status(), 404);
    let trail: Value = app
        .admin(Method::GET, "/admin/audit-events?action=key.revoke", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trail["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        trail["events"][0]["details"],
        json!({"algorithm": "ES256", "was": "active"})
    );
}

#[tokio::test]
async fn a_suspended_clients_live_tokens_are_refused_everywhere_until_it_is_reactivated() {
    let app = TestApp::spawn().await;
    let other = app.spawn_beside().await;
    let client = app.standard_client("ES256").await;
    let watcher = resource_server(&app).await;
    let token = token_of(&app, &client).await;
    assert_eq!(introspect(&other, &watcher, &token).await["active"], true);

    let status = |status: &str| json!({"status": status});
    let path = format!("/admin/clients/{}", client.id);
    let suspended = app
        .admin(Method::PATCH, &path, Some(status("suspended")))
        .await;
    assert_eq!(suspended.status(), 200);
    for instance in [&app, &other] {
        assert_eq!(me_status(instance, &token).await, 401);
        assert_eq!(introspect(instance, &watcher, &token).await, inactive());
    }

    let reactivated = app
        .admin(Method::PATCH, &path, Some(status("active")))
        .await;
    assert_eq!(reactivated.status(), 200);
    for instance in [&app, &other] {
        assert_eq!(me_status(instance, &token).await, 200);
        assert_eq!(introspect(instance, &watcher, &token).await["active"], true);
    }
}
