//! The administrators' console through the real router: signing in with the admin token (a
//! wrong one refused and budgeted), deciding access requests with a note (the client notified as
//! through the admin API; a rejection without a note refused beside the field), and its forms
//! refused from another site or without the session's token.

use reqwest::StatusCode;

use super::{location, Browser};
use crate::authtoken::{create_groups, portal, request_group, GROUP};
use crate::helpers::{TestApp, ADMIN_TOKEN};

/// The console's first page.
const REQUESTS: &str = "/console/access-requests";

async fn admin_browser(app: &TestApp) -> Browser {
    let mut browser = Browser::of(app);
    let response = browser
        .post("/console/sign-in", &[("admin_token", ADMIN_TOKEN)], None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), REQUESTS);
    browser
}

#[tokio::test]
async fn the_admin_token_signs_in_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::of(&app);

    let form = browser.get("/console").await.text().await.unwrap();
    let wrong = browser
        .post(
            "/console/sign-in",
            &[("admin_token", "not-the-token")],
            None,
        )
        .await;
    let cross_site = browser
        .post(
            "/console/sign-in",
            &[("admin_token", ADMIN_TOKEN)],
            Some("https://evil.example"),
        )
        .await;
    let unsigned = browser.get(REQUESTS).await;

    assert!(
        form.contains("Admin token") && form.contains(">Sign in<"),
        "{form}"
    );
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("The admin token is not valid."));
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(unsigned.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&unsigned), "/console");
    let signed_in = admin_browser(&app).await;
    assert_eq!(signed_in.get(REQUESTS).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_administrator_approves_with_a_note_and_the_client_is_notified_as_through_the_api() {
    let app = TestApp::spawn().await;
    create_groups(&app).await;
    let client = app.standard_client("ES256").await;
    let first = request_group(&app, &client).await;
    let second = request_group(&app, &client).await;
    let mut browser = admin_browser(&app).await;
    let csrf = browser.csrf(REQUESTS).await;
    let page = browser.get(REQUESTS).await.text().await.unwrap();
    assert!(page.contains(&client.id) && page.contains(GROUP), "{page}");
    assert!(page.contains(">Approve<") && page.contains(">Reject<"));

    let no_note = browser
        .post(
            &format!("/console/access-requests/{second}/decision"),
            &[("csrf", &csrf), ("decision", "reject"), ("note", "")],
            None,
        )
        .await;
    let forged = browser
        .post(
            &format!("/console/access-requests/{second}/decision"),
            &[("csrf", "forged"), ("decision", "approve"), ("note", "")],
            None,
        )
        .await;
    let approved = browser
        .post(
            &format!("/console/access-requests/{first}/decision"),
            &[
                ("csrf", &csrf),
                ("decision", "approve"),
                ("note", "Welcome"),
            ],
            None,
        )
        .await;

    assert_eq!(no_note.status(), StatusCode::BAD_REQUEST);
    assert!(no_note
        .text()
        .await
        .unwrap()
        .contains("a rejection needs a note explaining it"));
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count_rows("access_requests", "status = $1", "approved")
            .await,
        1
    );
    assert_eq!(
        app.count_rows("access_requests", "status = $1", "pending")
            .await,
        1,
        "the refused and the forged decisions changed nothing"
    );
    let notifications: serde_json::Value =
        portal(&app, &client, reqwest::Method::GET, "/v1/notifications")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let notifications = notifications.as_array().unwrap();
    assert_eq!(notifications.len(), 1);
    assert!(notifications[0]["message"]
        .as_str()
        .unwrap()
        .contains("Welcome"));
}

#[tokio::test]
async fn the_console_lists_the_signing_keys_and_rotates_them_like_the_admin_api() {
    let app = TestApp::spawn().await;
    let before = app.jwks().await;
    let mut browser = admin_browser(&app).await;
    let csrf = browser.csrf("/console/keys").await;
    let listed = browser.get("/console/keys").await.text().await.unwrap();

    let rotated = browser
        .post(
            "/console/keys/rotate",
            &[("csrf", &csrf), ("algorithm", "ES256")],
            None,
        )
        .await;

    for kid in before["keys"].as_array().unwrap() {
        assert!(listed.contains(kid["kid"].as_str().unwrap()), "{listed}");
    }
    assert_eq!(rotated.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&rotated), "/console/keys");
    let keys: serde_json::Value = app
        .admin(reqwest::Method::GET, "/admin/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let retired_es256 = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["algorithm"] == "ES256" && k["status"] == "retired")
        .count();
    assert_eq!(retired_es256, 1, "one ES256 key retired: {keys}");
    let after = browser.get("/console/keys").await.text().await.unwrap();
    assert!(after.contains("retired"));
}

/// The fields of the new-client form, filled in.
fn new_client_form<'a>(csrf: &'a str, name: &'a str, ttl: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", name),
        ("allowed_scopes", "programs:read schools:read"),
        ("default_scopes", "programs:read"),
        ("allowed_states", "IC OH"),
        ("default_state", "IC"),
        ("max_ttl_minutes", ttl),
        ("algorithm", "ES256"),
        ("phones", "+380501234999"),
        ("email", "dev@acme.example"),
    ]
}

#[tokio::test]
async fn an_administrator_creates_edits_suspends_and_reactivates_a_client_with_the_apis_rules() {
    let app = TestApp::spawn().await;
    let mut browser = admin_browser(&app).await;
    let csrf = browser.csrf("/console/clients").await;

    let invalid = browser
        .post(
            "/console/clients/new",
            &new_client_form(&csrf, "Acme", "ten"),
            None,
        )
        .await;
    let created = browser
        .post(
            "/console/clients/new",
            &new_client_form(&csrf, "Acme Careers", "45"),
            None,
        )
        .await;

    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert!(invalid
        .text()
        .await
        .unwrap()
        .contains("Enter a whole number of minutes."));
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = created.text().await.unwrap();
    let secret = super::text_of(&created, "shown-once");
    let id_start = created.find("Client ID <code>").unwrap() + "Client ID <code>".len();
    let id = created[id_start..].split('<').next().unwrap().to_owned();
    let listed = browser
        .get("/console/clients?q=careers")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&format!("/console/clients/{id}")),
        "found by its name"
    );
    assert!(!listed.contains(&secret), "the secret is shown once");
    let token = app
        .http
        .post(app.url("/auth/token/create"))
        .json(&serde_json::json!({"client_id": id, "client_secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.status(),
        StatusCode::OK,
        "the client and its secret work"
    );
    let none = browser
        .get("/console/clients?q=zzz-nobody")
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No client matches."));

    let page = format!("/console/clients/{id}");
    let mut edit = new_client_form(&csrf, "Acme Careers", "30");
    edit.retain(|(name, _)| *name != "default_scopes");
    edit.push(("default_scopes", "billing:read"));
    let refused = browser.post(&page, &edit, None).await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "defaults within the allowed scopes"
    );
    let saved = browser
        .post(
            &page,
            &new_client_form(&csrf, "Acme Careers Ltd", "30"),
            None,
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let shown: serde_json::Value = app
        .admin(reqwest::Method::GET, &format!("/admin/clients/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["name"], "Acme Careers Ltd");
    assert_eq!(shown["max_ttl_minutes"], 30);

    let status = format!("/console/clients/{id}/status");
    let suspended = browser
        .post(&status, &[("csrf", &csrf), ("status", "suspended")], None)
        .await;
    assert_eq!(suspended.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count_rows("clients", "status = $1", "suspended").await,
        1
    );
    browser
        .post(&status, &[("csrf", &csrf), ("status", "active")], None)
        .await;
    assert_eq!(
        app.count_rows("clients", "status = $1", "suspended").await,
        0
    );

    let secret = browser
        .post(&format!("{page}/secrets"), &[("csrf", &csrf)], None)
        .await;
    let key = browser
        .post(
            &format!("{page}/api-keys"),
            &[("csrf", &csrf), ("environment", "sandbox")],
            None,
        )
        .await;
    assert_eq!(secret.status(), StatusCode::CREATED);
    assert_eq!(key.status(), StatusCode::CREATED);
    let key = super::text_of(&key.text().await.unwrap(), "shown-once");
    let jwt = app
        .http
        .get(app.url("/clients/authorization"))
        .query(&[("apiKey", &key)])
        .send()
        .await
        .unwrap();
    assert_eq!(jwt.status(), StatusCode::OK, "the console's API key works");
}

#[tokio::test]
async fn a_clients_keys_and_dpop_requirement_are_set_on_its_page_with_the_apis_checks() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let mut browser = admin_browser(&app).await;
    let csrf = browser.csrf("/console/clients").await;
    let page = format!("/console/clients/{}", client.id);
    let jwks = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "ci-1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut form = new_client_form(&csrf, "Test client", "60");
        form.retain(|(name, _)| !matches!(*name, "phones" | "email"));
        form.extend_from_slice(extra);
        form
    };

    let not_json = browser.post(&page, &with(&[("jwks", "{keys")]), None).await;
    let private = browser
        .post(
            &page,
            &with(&[("jwks", r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#)]),
            None,
        )
        .await;
    let saved = browser
        .post(
            &page,
            &with(&[("jwks", jwks), ("require_dpop", "on")]),
            None,
        )
        .await;

    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert!(not_json
        .text()
        .await
        .unwrap()
        .contains("Enter a JWK Set as JSON"));
    assert_eq!(private.status(), StatusCode::BAD_REQUEST);
    assert!(private
        .text()
        .await
        .unwrap()
        .contains("publish only public keys"));
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let shown: serde_json::Value = app
        .admin(
            reqwest::Method::GET,
            &page.replace("/console", "/admin"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["jwks"]["keys"][0]["kid"], "ci-1");
    assert_eq!(shown["require_dpop"], true);
    let shown_page = browser.get(&page).await.text().await.unwrap();
    assert!(shown_page.contains("ci-1") && shown_page.contains("checked"));
}

#[tokio::test]
async fn the_issuance_record_is_filtered_like_the_admin_api_and_charted_per_hour_by_scheme() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    for _ in 0..3 {
        let issued = app
            .http
            .post(app.url("/auth/token/create"))
            .json(&serde_json::json!({"client_id": client.id, "client_secret": client.secret}))
            .send()
            .await
            .unwrap();
        assert_eq!(issued.status(), StatusCode::OK);
    }
    let by_headers = app
        .http
        .get(app.url("/auth/jwt"))
        .header("client-id", &client.id)
        .header("client-secret", &client.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(by_headers.status(), StatusCode::OK);
    let browser = admin_browser(&app).await;

    let all = browser
        .get("/console/issuances")
        .await
        .text()
        .await
        .unwrap();
    let jwt_only = browser
        .get("/console/issuances?scheme=auth_jwt")
        .await
        .text()
        .await
        .unwrap();
    let bad = browser.get("/console/issuances?since=yesterday").await;

    assert!(all.contains("<svg") && all.contains("4 in total"), "{all}");
    assert!(all.contains("token_create (3)") && all.contains("auth_jwt (1)"));
    assert_eq!(all.matches("<tr><td><code class=\"kid\">").count(), 4);
    assert!(jwt_only.contains("1 in total"));
    assert_eq!(jwt_only.matches("<tr><td><code class=\"kid\">").count(), 1);
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("since must be an RFC 3339 time"));
}

#[tokio::test]
async fn an_administrator_creates_a_service_account_and_adds_a_certificate_with_the_apis_rules() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let first = crate::sign_in::keys()[0].certificate();
    let second = crate::sign_in::keys()[1].certificate();
    let mut browser = admin_browser(&app).await;
    let path = "/console/service-accounts";
    let csrf = browser.csrf(path).await;
    let form = |audience: &'static str, certificate: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("client_id".to_owned(), client.id.clone()),
            ("description".to_owned(), "Nightly sync".to_owned()),
            ("scopes".to_owned(), "programs:read".to_owned()),
            ("access_token_audience".to_owned(), audience.to_owned()),
            ("access_token_duration".to_owned(), "300".to_owned()),
            ("access_token_user_attributes".to_owned(), "icn".to_owned()),
            ("certificate".to_owned(), certificate.to_owned()),
        ]
    };

    let refused = browser.post_owned(path, &form("", &first)).await;
    let created = browser
        .post_owned(path, &form("http://localhost:4000", &first))
        .await;

    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let page = browser.get(path).await.text().await.unwrap();
    assert!(
        page.contains("Nightly sync") && page.contains("/console/trust-policies"),
        "{page}"
    );
    assert!(
        page.contains("last used never"),
        "no assertion got a token yet: {page}"
    );
    let id_start = page.find("<h2 id=\"account-").unwrap() + "<h2 id=\"account-".len();
    let id = page[id_start..].split('"').next().unwrap().to_owned();
    let certificates = format!("{path}/{id}/certificates");
    let bad = browser
        .post(
            &certificates,
            &[("csrf", &csrf), ("pem", "not a certificate")],
            None,
        )
        .await;
    let added = browser
        .post(&certificates, &[("csrf", &csrf), ("pem", &second)], None)
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let shown: serde_json::Value = app
        .admin(
            reqwest::Method::GET,
            &format!("/admin/service-accounts/{id}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["certificates"].as_array().unwrap().len(),
        2,
        "{shown}"
    );
}

#[tokio::test]
async fn an_administrator_creates_and_deletes_a_trust_policy_with_the_apis_rules() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let mut browser = admin_browser(&app).await;
    let path = "/console/trust-policies";
    let csrf = browser.csrf(path).await;
    let form = |issuer: &'static str, claims: &'static str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("client_id".to_owned(), client.id.clone()),
            ("issuer".to_owned(), issuer.to_owned()),
            ("jwks_uri".to_owned(), String::new()),
            ("audience".to_owned(), "https://github.com/acme".to_owned()),
            (
                "subject".to_owned(),
                "repo:acme/*:ref:refs/heads/main".to_owned(),
            ),
            ("claims".to_owned(), claims.to_owned()),
            ("scopes".to_owned(), "programs:read".to_owned()),
            ("max_ttl_minutes".to_owned(), "15".to_owned()),
        ]
    };

    let plain_http = browser
        .post_owned(path, &form("http://idp.example.com", ""))
        .await;
    let bad_claims = browser
        .post_owned(
            path,
            &form("https://token.actions.githubusercontent.com", "owner"),
        )
        .await;
    let created = browser
        .post_owned(
            path,
            &form(
                "https://token.actions.githubusercontent.com",
                "repository_owner=acme",
            ),
        )
        .await;

    assert_eq!(plain_http.status(), StatusCode::BAD_REQUEST);
    assert!(plain_http
        .text()
        .await
        .unwrap()
        .contains("issuer must use https"));
    assert_eq!(bad_claims.status(), StatusCode::BAD_REQUEST);
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let policies: serde_json::Value = app
        .admin(reqwest::Method::GET, "/admin/trust-policies", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(policies.as_array().unwrap().len(), 1, "{policies}");
    assert_eq!(policies[0]["claims"]["repository_owner"], "acme");
    let id = policies[0]["id"].as_str().unwrap();
    let page = browser.get(path).await.text().await.unwrap();
    assert!(page.contains("repo:acme/*:ref:refs/heads/main"));

    let deleted = browser
        .post(&format!("{path}/{id}/delete"), &[("csrf", &csrf)], None)
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count_rows("trust_policies", "client_id = $1", &client.id)
            .await,
        0
    );
}

#[tokio::test]
async fn administrators_are_managed_in_the_console_and_a_viewer_changes_nothing_there() {
    let app = TestApp::spawn().await;
    let mut bootstrap = admin_browser(&app).await;
    let csrf = bootstrap.csrf("/console/administrators").await;
    let created = bootstrap
        .post(
            "/console/administrators",
            &[("csrf", &csrf), ("name", "vera"), ("role", "viewer")],
            None,
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let page = created.text().await.unwrap();
    let start = page.find("tmadm_").expect("the token is shown once");
    let token: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c))
        .collect();
    let listed = bootstrap
        .get("/console/administrators")
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains("vera") && !listed.contains(&token));

    // The viewer signs in with its token, reads, and may not rotate the keys.
    let mut viewer = Browser::of(&app);
    let signed_in = viewer
        .post("/console/sign-in", &[("admin_token", &token)], None)
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let keys = viewer.get("/console/keys").await;
    assert_eq!(keys.status(), StatusCode::OK);
    assert!(keys.text().await.unwrap().contains("vera (viewer)"));
    let csrf = viewer.csrf("/console/keys").await;
    let refused = viewer
        .post(
            "/console/keys/rotate",
            &[("csrf", &csrf), ("algorithm", "all")],
            None,
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let audit = viewer.get("/console/audit").await.text().await.unwrap();
    assert!(audit.contains("administrator.create") && !audit.contains("keys.rotate"));

    // Deleted by the bootstrap administrator: the viewer's session ends at once.
    let (id,): (String,) = sqlx::query_as("select id from administrators where name = 'vera'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let csrf = bootstrap.csrf("/console/administrators").await;
    let deleted = bootstrap
        .post(
            &format!("/console/administrators/{id}/delete"),
            &[("csrf", &csrf)],
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let after = viewer.get("/console/keys").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/console");
}

#[tokio::test]
async fn a_clients_quota_is_set_and_removed_on_its_page_with_the_apis_checks() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let mut browser = admin_browser(&app).await;
    let csrf = browser.csrf("/console/clients").await;
    let page = format!("/console/clients/{}", client.id);
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut form = new_client_form(&csrf, "Test client", "60");
        form.retain(|(name, _)| !matches!(*name, "phones" | "email"));
        form.extend_from_slice(extra);
        form
    };
    let admin_path = page.replace("/console", "/admin");
    let not_a_number = browser
        .post(&page, &with(&[("quota_per_minute", "lots")]), None)
        .await;
    let zero = browser
        .post(&page, &with(&[("quota_per_day", "0")]), None)
        .await;
    assert_eq!(not_a_number.status(), StatusCode::BAD_REQUEST);
    assert!(not_a_number
        .text()
        .await
        .unwrap()
        .contains("Enter a whole number of tokens"));
    assert_eq!(zero.status(), StatusCode::BAD_REQUEST);
    let zero_page = zero.text().await.unwrap();
    assert!(zero_page.contains(r#"id="quota_per_day-error""#) && zero_page.contains("between 1"));
    assert_eq!(quota_of(&app, &admin_path).await, serde_json::Value::Null);

    let saved = browser
        .post(
            &page,
            &with(&[("quota_per_minute", "600"), ("quota_per_day", " 100000 ")]),
            None,
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        quota_of(&app, &admin_path).await,
        serde_json::json!({"per_minute": 600, "per_day": 100000})
    );
    let issued = app
        .http
        .post(app.url("/auth/token/create"))
        .json(&serde_json::json!({"client_id": client.id, "client_secret": client.secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), StatusCode::OK);
    let shown_page = browser.get(&page).await.text().await.unwrap();
    assert!(shown_page.contains(r#"value="600""#) && shown_page.contains(r#"value="100000""#));
    assert!(
        shown_page.contains("Tokens issued: 1; requests refused: 0.")
            && shown_page.contains("Quota: 1 of 600 this minute, 1 of 100000 today."),
        "{shown_page}"
    );
    assert!(shown_page.contains("<code>token_create</code></td><td>1</td>"));

    let cleared = browser
        .post(
            &page,
            &with(&[("quota_per_minute", ""), ("quota_per_day", "")]),
            None,
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    assert_eq!(quota_of(&app, &admin_path).await, serde_json::Value::Null);
}

async fn quota_of(app: &TestApp, admin_path: &str) -> serde_json::Value {
    let shown: serde_json::Value = app
        .admin(reqwest::Method::GET, admin_path, None)
        .await
        .json()
        .await
        .unwrap();
    shown["quota"].clone()
}
