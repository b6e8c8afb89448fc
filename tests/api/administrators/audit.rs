//! The audit trail's walk: every state-changing admin route the OpenAPI document lists is called
//! once, and each call writes exactly one event, with the expected action and target, holding
//! none of the secrets, keys or tokens the walk has seen. A new state-changing route fails the
//! walk until it is added here (and records its event).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{standard_client_body, TestApp, ADMIN_TOKEN};
use crate::sign_in::{account_body, keys};

/// One step: the route's template as the document names it, and the request.
struct Step {
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    action: &'static str,
}

fn step(
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    action: &'static str,
) -> Step {
    Step {
        method,
        template,
        path,
        body,
        action,
    }
}

/// Every state-changing admin operation of the served document, as `METHOD template`.
async fn changing_admin_routes(app: &TestApp) -> BTreeSet<String> {
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut routes = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/admin") {
            continue;
        }
        for method in operations.as_object().unwrap().keys() {
            if method != "get" {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes
}

async fn events(app: &TestApp) -> Vec<Value> {
    let page: Value = app
        .admin(Method::GET, "/admin/audit-events?limit=1000", None)
        .await
        .json()
        .await
        .unwrap();
    page["events"].as_array().unwrap().clone()
}

/// Runs a step: it must succeed and add exactly one event, which it returns with the answer.
async fn run(app: &TestApp, step: &Step, secrets: &mut Vec<String>) -> (Value, Value) {
    let before = events(app).await.len();
    let response = app
        .admin(step.method.clone(), &step.path, step.body.clone())
        .await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(
        status.is_success(),
        "{} {}: {status} {text}",
        step.method,
        step.path
    );
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    for field in ["client_secret", "api_key", "token", "secret"] {
        if let Some(secret) = answer[field].as_str() {
            secrets.push(secret.to_owned());
        }
    }
    let after = events(app).await;
    assert_eq!(
        after.len(),
        before + 1,
        "{} {}: one event",
        step.method,
        step.path
    );
    let event = after[0].clone();
    assert_eq!(
        event["action"], step.action,
        "{} {}",
        step.method, step.path
    );
    assert_eq!(event["actor"], "bootstrap");
    (answer, event)
}

#[tokio::test]
async fn every_state_changing_admin_route_writes_exactly_one_event_without_secrets() {
    let app = TestApp::spawn().await;
    let mut secrets = vec![ADMIN_TOKEN.to_owned()];
    let mut covered = BTreeSet::new();
    let mut walk = |step: &Step| {
        covered.insert(format!("{} {}", step.method, step.template));
    };

    let create = step(
        Method::POST,
        "/admin/clients",
        "/admin/clients".into(),
        Some(standard_client_body("ES256")),
        "client.create",
    );
    walk(&create);
    let (client, event) = run(&app, &create, &mut secrets).await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let client_secret = client["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(event["target"], client_id.as_str());
    let c = |suffix: &str| format!("/admin/clients/{client_id}{suffix}");

    let steps = [
        step(
            Method::PATCH,
            "/admin/clients/{client_id}",
            c(""),
            Some(
                json!({"name": "Renamed", "allowed_scopes": ["programs:read", "schools:read", "reports:read"]}),
            ),
            "client.update",
        ),
        step(
            Method::POST,
            "/admin/clients/{client_id}/secrets",
            c("/secrets"),
            Some(json!({})),
            "secret.create",
        ),
    ];
    for s in &steps {
        walk(s);
        run(&app, s, &mut secrets).await;
    }
    let secret_id = events(&app).await[0]["target"].as_str().unwrap().to_owned();
    let revoke_secret = step(
        Method::DELETE,
        "/admin/clients/{client_id}/secrets/{secret_id}",
        c(&format!("/secrets/{secret_id}")),
        None,
        "secret.revoke",
    );
    walk(&revoke_secret);
    run(&app, &revoke_secret, &mut secrets).await;

    let create_key = step(
        Method::POST,
        "/admin/clients/{client_id}/api-keys",
        c("/api-keys"),
        Some(json!({"environment": "sandbox"})),
        "api_key.create",
    );
    walk(&create_key);
    let (key, _) = run(&app, &create_key, &mut secrets).await;
    let key_id = key["api_key_id"].as_str().unwrap();
    let revoke_key = step(
        Method::DELETE,
        "/admin/api-keys/{api_key_id}",
        format!("/admin/api-keys/{key_id}"),
        None,
        "api_key.revoke",
    );
    walk(&revoke_key);
    run(&app, &revoke_key, &mut secrets).await;

    let rotate = step(
        Method::POST,
        "/admin/keys/rotate",
        "/admin/keys/rotate".into(),
        Some(json!({})),
        "keys.rotate",
    );
    walk(&rotate);
    let (_, event) = run(&app, &rotate, &mut secrets).await;
    assert_eq!(
        event["details"]["active"].as_object().unwrap().len(),
        3,
        "{event}"
    );
    let listed: Value = app
        .admin(Method::GET, "/admin/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let retired = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["status"] == "retired")
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = step(
        Method::POST,
        "/admin/keys/{kid}/revoke",
        format!("/admin/keys/{retired}/revoke"),
        None,
        "key.revoke",
    );
    walk(&revoke);
    let (_, event) = run(&app, &revoke, &mut secrets).await;
    assert_eq!(event["target"], retired.as_str());

    let [first, second] = keys();
    let create_account = step(
        Method::POST,
        "/admin/service-accounts",
        "/admin/service-accounts".into(),
        Some(account_body(&client_id, &[first.certificate()])),
        "service_account.create",
    );
    walk(&create_account);
    let (account, _) = run(&app, &create_account, &mut secrets).await;
    let account_id = account["service_account_id"].as_str().unwrap().to_owned();
    let a = |suffix: &str| format!("/admin/service-accounts/{account_id}{suffix}");
    for s in [
        step(
            Method::PATCH,
            "/admin/service-accounts/{service_account_id}",
            a(""),
            Some(json!({"description": "Nightly sync"})),
            "service_account.update",
        ),
        step(
            Method::POST,
            "/admin/service-accounts/{service_account_id}/certificates",
            a("/certificates"),
            Some(json!({"pem": second.certificate()})),
            "service_account.add_certificate",
        ),
        step(
            Method::DELETE,
            "/admin/service-accounts/{service_account_id}",
            a(""),
            None,
            "service_account.delete",
        ),
        step(
            Method::POST,
            "/admin/api-groups",
            "/admin/api-groups".into(),
            Some(json!({"name": "reports", "scopes": ["reports:read"]})),
            "api_group.create",
        ),
    ] {
        walk(&s);
        run(&app, &s, &mut secrets).await;
    }

    // Two access requests by the client, one approved and one rejected.
    let mut requests = Vec::new();
    for reason in ["Monthly reports", "Weekly reports"] {
        let requested: Value = app
            .http
            .post(app.url("/v1/access-requests"))
            .basic_auth(&client_id, Some(&client_secret))
            .json(&json!({"api_groups": ["reports"], "reason": reason}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        requests.push(requested["id"].as_str().unwrap().to_owned());
    }
    for (s, note) in [
        (
            step(
                Method::POST,
                "/admin/access-requests/{id}/approve",
                format!("/admin/access-requests/{}/approve", requests[0]),
                Some(json!({"note": "Welcome"})),
                "access_request.approve",
            ),
            "Welcome",
        ),
        (
            step(
                Method::POST,
                "/admin/access-requests/{id}/reject",
                format!("/admin/access-requests/{}/reject", requests[1]),
                Some(json!({"note": "One is enough"})),
                "access_request.reject",
            ),
            "One is enough",
        ),
    ] {
        walk(&s);
        let (_, event) = run(&app, &s, &mut secrets).await;
        assert_eq!(event["details"]["note"], note);
    }

    let create_policy = step(
        Method::POST,
        "/admin/trust-policies",
        "/admin/trust-policies".into(),
        Some(
            json!({"client_id": client_id, "issuer": "https://issuer.example.com",
            "audience": "https://tokenmint.example.com", "subject": "repo:acme/app:*",
            "scopes": ["programs:read"], "max_ttl_minutes": 15}),
        ),
        "trust_policy.create",
    );
    walk(&create_policy);
    let (policy, _) = run(&app, &create_policy, &mut secrets).await;
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    for s in [
        step(
            Method::PATCH,
            "/admin/trust-policies/{id}",
            format!("/admin/trust-policies/{policy_id}"),
            Some(json!({"max_ttl_minutes": 5})),
            "trust_policy.update",
        ),
        step(
            Method::DELETE,
            "/admin/trust-policies/{id}",
            format!("/admin/trust-policies/{policy_id}"),
            None,
            "trust_policy.delete",
        ),
    ] {
        walk(&s);
        let (_, event) = run(&app, &s, &mut secrets).await;
        assert_eq!(event["target"], policy_id.as_str());
    }

    let create_admin = step(
        Method::POST,
        "/admin/admins",
        "/admin/admins".into(),
        Some(json!({"name": "erin", "role": "viewer"})),
        "administrator.create",
    );
    walk(&create_admin);
    let (admin, _) = run(&app, &create_admin, &mut secrets).await;
    let delete_admin = step(
        Method::DELETE,
        "/admin/admins/{id}",
        format!("/admin/admins/{}", admin["id"].as_str().unwrap()),
        None,
        "administrator.delete",
    );
    walk(&delete_admin);
    run(&app, &delete_admin, &mut secrets).await;

    assert_eq!(
        covered,
        changing_admin_routes(&app).await,
        "every state-changing admin route is walked"
    );
    secrets.push(client_secret);
    let trail = serde_json::to_string(&events(&app).await).unwrap();
    for secret in &secrets {
        assert!(
            !trail.contains(secret.as_str()),
            "a secret reached the audit trail"
        );
    }
    let stored: Vec<(String,)> = sqlx::query_as("select details from audit_events")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    for (details,) in stored {
        for secret in &secrets {
            assert!(!details.contains(secret.as_str()));
        }
    }
}
