//! Token exchange at `POST /oauth/token` (RFC 8693, CONTRACT F) against a local OpenID Connect
//! issuer the test starts: GitHub-Actions-shaped and Kubernetes-shaped tokens exchanged under
//! trust policies (managed through the admin API), keys found by discovery or a policy's
//! `jwks_uri`, a rotated key picked up once the refetch interval has passed, every refusal, and
//! the issuance record keeping where the token came from.

use reqwest::Method;
use serde_json::{json, Value};

use super::issuer::{Jwks, TestIssuer};
use crate::helpers::{standard_client_body, Backend, ClockExt, TestApp, TestClient};

const TOKEN: &str = "/oauth/token";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const AUDIENCE: &str = "https://github.com/acme";

async fn create_policy(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .admin(Method::POST, "/admin/trust-policies", Some(body))
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A policy for `issuer`'s GitHub tokens of acme's main branch, for `client`.
fn github_policy(issuer: &TestIssuer, client: &TestClient) -> Value {
    json!({"client_id": client.id, "issuer": issuer.url(), "audience": AUDIENCE,
        "subject": "repo:acme/*:ref:refs/heads/main", "claims": {"repository_owner": "acme"},
        "scopes": ["programs:read"], "max_ttl_minutes": 15})
}

async fn exchange(app: &TestApp, subject_token: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", subject_token),
        ("subject_token_type", JWT),
    ];
    form.extend_from_slice(extra);
    let response = app
        .http
        .post(app.url(TOKEN))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn now(app: &TestApp) -> i64 {
    app.clock.now_utc().timestamp()
}

#[tokio::test]
async fn a_github_actions_token_becomes_an_access_token_of_the_policys_client() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let client = app.standard_client("ES256").await;
    let (status, policy) = create_policy(&app, github_policy(&issuer, &client)).await;
    assert_eq!(status, 201, "{policy}");
    let github = issuer.github("acme/app", "refs/heads/main", AUDIENCE, now(&app));

    let (status, body) = exchange(&app, &issuer.sign(&github), &[]).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(
        (&body["token_type"], &body["scope"]),
        (&json!("Bearer"), &json!("programs:read"))
    );
    assert_eq!(body["expires_in"], 900, "the policy's 15 minutes");
    let (_, claims) = app
        .verify_with_jwks(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], "repo:acme/app:ref:refs/heads/main");
    assert_eq!(claims["client_id"], client.id.as_str());
    let listed: Value = app
        .admin(
            Method::GET,
            &format!("/admin/issuances?client_id={}", client.id),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let item = &listed["items"][0];
    assert_eq!(item["scheme"], "oauth_token");
    assert_eq!(item["trust_policy_id"], policy["id"]);
    assert_eq!(item["external_issuer"], issuer.url());
    assert_eq!(
        item["external_subject"],
        "repo:acme/app:ref:refs/heads/main"
    );
}

#[tokio::test]
async fn a_kubernetes_token_verifies_with_the_policys_own_jwks_uri_and_never_outlives_its_hour() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let mut long_lived = standard_client_body("ES256");
    long_lived["max_ttl_minutes"] = json!(180);
    let client = app.create_client(long_lived).await;
    let audience = "https://tokenmint.example";
    let body = json!({"client_id": client.id, "issuer": issuer.url(),
        "jwks_uri": issuer.jwks_uri(), "audience": audience,
        "subject": "system:serviceaccount:ci:builder", "scopes": ["programs:read", "schools:read"],
        "max_ttl_minutes": 180});
    assert_eq!(create_policy(&app, body).await.0, 201);
    // Issued 50 minutes ago, it expires in 10: the access token may outlive it by an hour, no
    // more, though the policy and the client would allow three.
    let k8s = issuer.kubernetes("ci", "builder", audience, now(&app) - 3000);

    let (status, body) = exchange(&app, &issuer.sign(&k8s), &[("scope", "schools:read")]).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "schools:read");
    assert_eq!(body["expires_in"], 600 + 3600);
    let (_, claims) = app
        .verify_with_jwks(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], "system:serviceaccount:ci:builder");
    assert_eq!(
        issuer.fetches(),
        1,
        "the policy's jwks_uri, without discovery"
    );
}

#[tokio::test]
async fn each_refusal_of_a_subject_token_is_invalid_grant_or_invalid_request() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let client = app.standard_client("ES256").await;
    let other_client = app.standard_client("ES256").await;
    assert_eq!(
        create_policy(&app, github_policy(&issuer, &client)).await.0,
        201
    );
    let now = now(&app);
    let good = issuer.github("acme/app", "refs/heads/main", AUDIENCE, now);
    let with = |name: &str, value: Value| {
        let mut claims = good.clone();
        claims[name] = value;
        issuer.sign(&claims)
    };
    let unsigned = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        base64_url(&good.to_string())
    );
    let nested = format!(
        "{}.{}.c2ln",
        base64_url(r#"{"alg":"ES256","kid":"key-1"}"#),
        base64_url(&format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)))
    );
    let invalid_grant = [
        (
            "another audience",
            with("aud", json!("https://github.com/evil")),
        ),
        (
            "another branch",
            with("sub", json!("repo:acme/app:ref:refs/heads/dev")),
        ),
        ("another owner", with("repository_owner", json!("evil"))),
        ("expired", with("exp", json!(now - 60))),
        ("issued in the future", with("iat", json!(now + 600))),
        (
            "unknown issuer",
            with("iss", json!("https://unknown.example")),
        ),
        ("alg none", unsigned),
        ("deeply nested", nested),
        ("garbage", "a.b.c".to_owned()),
        ("huge", "a".repeat(20_000)),
    ];
    for (name, token) in invalid_grant {
        let (status, body) = exchange(&app, &token, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{name}: {body}"
        );
        assert!(body["error_description"].is_string(), "{name}");
    }
    let token = issuer.sign(&good);
    let wrong_type = exchange(&app, &token, &[]).await;
    let cases = [
        (
            "subject_token_type",
            vec![
                ("grant_type", EXCHANGE),
                ("subject_token", token.as_str()),
                ("subject_token_type", "urn:x"),
            ],
            "invalid_request",
        ),
        (
            "no subject_token",
            vec![("grant_type", EXCHANGE), ("subject_token_type", JWT)],
            "invalid_request",
        ),
        (
            "scope outside the policy",
            vec![
                ("grant_type", EXCHANGE),
                ("subject_token", token.as_str()),
                ("subject_token_type", JWT),
                ("scope", "schools:read"),
            ],
            "invalid_scope",
        ),
    ];
    assert_eq!(
        wrong_type.0, 200,
        "the good token itself is fine: {}",
        wrong_type.1
    );
    for (name, form, code) in cases {
        let response = app
            .http
            .post(app.url(TOKEN))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(code)),
            "{name}: {body}"
        );
    }
    // A client that authenticates is held to its own policies.
    let as_other = app
        .http
        .post(app.url(TOKEN))
        .basic_auth(&other_client.id, Some(&other_client.secret))
        .form(&[
            ("grant_type", EXCHANGE),
            ("subject_token", &issuer.sign(&good)),
            ("subject_token_type", JWT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(as_other.status(), 400);
    let issued = app
        .count_rows("issuances", "client_id = $1", &other_client.id)
        .await;
    assert_eq!(issued, 0);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_subject_token_presented_again_is_exchanged_until_its_exp_and_not_after() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let client = app.standard_client("ES256").await;
    assert_eq!(
        create_policy(&app, github_policy(&issuer, &client)).await.0,
        201
    );
    let token = issuer.sign(&issuer.github("acme/app", "refs/heads/main", AUDIENCE, now(&app)));

    let first = exchange(&app, &token, &[]).await;
    let again = exchange(&app, &token, &[]).await;
    app.clock.advance_seconds(300 + 60);
    let expired = exchange(&app, &token, &[]).await;

    assert_eq!((first.0, again.0), (200, 200));
    assert_eq!(expired.0, 400);
    assert_eq!(
        expired.1["error_description"],
        "the subject token has expired"
    );
}

#[tokio::test]
async fn a_deleted_policy_or_a_suspended_client_stops_the_exchange_at_once() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let client = app.standard_client("ES256").await;
    let (_, first) = create_policy(&app, github_policy(&issuer, &client)).await;
    let (_, second) = create_policy(&app, github_policy(&issuer, &client)).await;
    let token = || issuer.sign(&issuer.github("acme/app", "refs/heads/main", AUDIENCE, now(&app)));
    assert_eq!(exchange(&app, &token(), &[]).await.0, 200, "cached now");

    let first_path = format!("/admin/trust-policies/{}", first["id"].as_str().unwrap());
    app.admin(Method::DELETE, &first_path, None).await;
    let under_second = exchange(&app, &token(), &[]).await;
    let suspend = json!({"status": "suspended"});
    let client_path = format!("/admin/clients/{}", client.id);
    app.admin(Method::PATCH, &client_path, Some(suspend)).await;
    let suspended = exchange(&app, &token(), &[]).await;
    app.admin(
        Method::PATCH,
        &client_path,
        Some(json!({"status": "active"})),
    )
    .await;
    let second_path = format!("/admin/trust-policies/{}", second["id"].as_str().unwrap());
    app.admin(Method::DELETE, &second_path, None).await;
    let none_left = exchange(&app, &token(), &[]).await;

    assert_eq!(under_second.0, 200, "the other policy still admits it");
    assert_eq!(suspended.0, 400, "{}", suspended.1);
    assert_eq!(
        suspended.1["error_description"],
        "the trust policy's client is suspended"
    );
    assert_eq!(none_left.0, 400);
    assert_eq!(none_left.1["error"], "invalid_grant");
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_the_refetch_interval_has_passed() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let client = app.standard_client("ES256").await;
    assert_eq!(
        create_policy(&app, github_policy(&issuer, &client)).await.0,
        201
    );
    let token = |app: &TestApp| {
        issuer.sign(&issuer.github("acme/app", "refs/heads/main", AUDIENCE, now(app)))
    };
    assert_eq!(exchange(&app, &token(&app), &[]).await.0, 200);
    assert_eq!(exchange(&app, &token(&app), &[]).await.0, 200);
    let fetched_once = issuer.fetches();

    issuer.rotate("key-2");
    app.clock.advance_seconds(10);
    let too_soon = exchange(&app, &token(&app), &[]).await;
    let fetches_too_soon = issuer.fetches();
    app.clock.advance_seconds(25);
    let after_interval = exchange(&app, &token(&app), &[]).await;

    assert_eq!(fetched_once, 1, "one fetch for two exchanges");
    assert_eq!(too_soon.0, 400, "{}", too_soon.1);
    assert_eq!(fetches_too_soon, 1, "no refetch within 30 s of the last");
    assert_eq!(after_interval.0, 200, "{}", after_interval.1);
    assert_eq!(issuer.fetches(), 2);
}

#[tokio::test]
async fn a_broken_jwks_is_named_in_the_error_description() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    for (what, expected) in [
        (Jwks::NotJson, "not JSON"),
        (Jwks::Thousand, "1000 keys"),
        (Jwks::Slow, "timed out"),
    ] {
        let issuer = TestIssuer::start().await;
        issuer.serve(what);
        assert_eq!(
            create_policy(&app, github_policy(&issuer, &client)).await.0,
            201
        );
        let claims = issuer.github("acme/app", "refs/heads/main", AUDIENCE, now(&app));

        let (status, body) = exchange(&app, &issuer.sign(&claims), &[]).await;

        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what:?}: {body}"
        );
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(expected), "{what:?}: {description}");
    }
}

#[tokio::test]
async fn trust_policies_are_managed_through_the_admin_api_with_their_checks() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let client = app.standard_client("ES256").await;
    let (status, created) = create_policy(&app, github_policy(&issuer, &client)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/trust-policies/{id}");

    let listed: Value = app
        .admin(Method::GET, "/admin/trust-policies", None)
        .await
        .json()
        .await
        .unwrap();
    let patched: Value = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"subject": "repo:acme/app:*", "max_ttl_minutes": 5})),
        )
        .await
        .json()
        .await
        .unwrap();
    let shown: Value = app
        .admin(Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    let deleted = app.admin(Method::DELETE, &path, None).await.status();
    let gone = app.admin(Method::GET, &path, None).await.status();

    assert_eq!(status, 201);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(patched["subject"], "repo:acme/app:*");
    assert_eq!(shown["max_ttl_minutes"], 5);
    assert_eq!((deleted.as_u16(), gone.as_u16()), (204, 404));
    for (field, change) in [
        ("scopes", json!({"scopes": ["admin:all"]})),
        ("issuer", json!({"issuer": "http://idp.example.com"})),
        (
            "jwks_uri",
            json!({"jwks_uri": "ftp://idp.example.com/jwks"}),
        ),
        ("client_id", json!({"client_id": "nobody"})),
        ("max_ttl_minutes", json!({"max_ttl_minutes": 0})),
        ("subject", json!({"subject": ""})),
    ] {
        let mut body = github_policy(&issuer, &client);
        for (name, value) in change.as_object().unwrap() {
            body[name] = value.clone();
        }
        let (status, answer) = create_policy(&app, body).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (422, Some(field)),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn production_refuses_issuers_on_loopback_or_private_addresses() {
    let app = TestApp::spawn_with(Backend::Postgres, &[("TOKENMINT_MODE", "production")]).await;
    let mut body = standard_client_body("ES256");
    body["name"] = json!("Production client");
    let client = app.create_client(body).await;
    for issuer in [
        "http://127.0.0.1:9999",
        "https://127.0.0.1",
        "https://10.0.0.8",
        "https://169.254.169.254",
    ] {
        let policy = json!({"client_id": client.id, "issuer": issuer, "audience": "a",
            "subject": "s", "scopes": ["programs:read"], "max_ttl_minutes": 5});
        let (status, answer) = create_policy(&app, policy).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (422, Some("issuer")),
            "{issuer}: {answer}"
        );
    }
    let mut keyed = standard_client_body("ES256");
    keyed["jwks_uri"] = json!("https://192.168.1.10/jwks.json");
    let refused = app.admin(Method::POST, "/admin/clients", Some(keyed)).await;
    assert_eq!(refused.status(), 422);
}
