//! The developer portal's sign-in and sessions, through the real router: signing in with the
//! client's id and secret, the API credentials page (never a secret), wrong sign-ins spending
//! the API's failure budgets, cross-site forms refused, a session shared by two instances and
//! ended on both by one sign-out, idle expiry, and reference/003's process in pages: request
//! access, read the decision, generate credentials that get an AuthToken.

use reqwest::header::{RETRY_AFTER, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;

use super::{assert_page_headers, header, location, text_of, Browser};
use crate::authtoken::{create_groups, decide, GROUP, NOTE, OTHER_GROUP};
use crate::helpers::{ClockExt, TestApp, TestClient};
use crate::rate_limit::{spawn_limited, IDENTIFIER_BURST, WRONG_SECRET};

use super::SESSION;
/// Minutes a session lives without a request (`[web] session_idle_minutes`' default).
const IDLE_MINUTES: i64 = 30;

async fn signed_in(app: &TestApp, client: &TestClient) -> Browser {
    let mut browser = Browser::of(app);
    let response = browser.sign_in(&client.id, &client.secret).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/portal/credentials");
    browser
}

#[tokio::test]
async fn a_client_signs_in_and_sees_its_credentials_but_never_a_secret_or_key() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let path = format!("/admin/clients/{}/api-keys", client.id);
    let body = json!({"environment": "sandbox"});
    let created = app.admin(reqwest::Method::POST, &path, Some(body)).await;
    let created: serde_json::Value = created.json().await.unwrap();
    let api_key = created["api_key"].as_str().unwrap().to_owned();
    let api_key_id = created["api_key_id"].as_str().unwrap().to_owned();
    let mut browser = Browser::of(&app);

    let form = browser.get("/portal").await;
    assert_eq!(form.status(), StatusCode::OK);
    assert_page_headers(&form);
    let form = form.text().await.unwrap();
    for label in ["Client ID", "Client secret", ">Sign in<"] {
        assert!(form.contains(label), "{label}");
    }
    let response = browser.sign_in(&client.id, &client.secret).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/portal/credentials");
    let cookie = header(&response, SET_COOKIE.as_str());
    assert!(cookie.starts_with(&format!("{SESSION}=")), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let page = browser.get("/portal/credentials").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_page_headers(&page);
    let page = page.text().await.unwrap();
    assert!(page.contains("<h1>API credentials</h1>"));
    assert!(page.contains(&client.id));
    assert!(page.contains(&api_key_id), "the key is listed by its id");
    assert!(page.contains("+380501234567") || page.contains("Registered phones"));
    assert!(!page.contains(&client.secret), "never the secret");
    assert!(!page.contains(&api_key), "never the key");
    let session_id = browser
        .cookie
        .as_deref()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1;
    assert_eq!(
        app.count_rows("web_sessions", "id_digest <> $1", "").await,
        1
    );
    assert_eq!(
        app.count_rows("web_sessions", "id_digest = $1", session_id)
            .await,
        0,
        "only a digest of the session id is stored"
    );
}

#[tokio::test]
async fn the_credentials_page_shows_when_each_api_key_was_last_used() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let (_, used) = crate::api_key::create_key(&app, &client.id, "sandbox", None).await;
    let (unused_id, _) = crate::api_key::create_key(&app, &client.id, "sandbox", None).await;
    assert_eq!(crate::api_key::authorize(&app, &used).await.status(), 200);
    app.state.registry.flush_credential_uses().await.unwrap();
    let browser = signed_in(&app, &client).await;

    let page = browser.get("/portal/credentials").await;
    let page = page.text().await.unwrap();

    let now = app.clock.now_utc().format("%Y-%m-%d %H:%M UTC");
    assert!(page.contains(r#"<th scope="col">Last used</th>"#), "{page}");
    assert!(
        page.contains(&format!("<td>never</td><td>{now}</td>")),
        "{page}"
    );
    let unused_row = page.split(&unused_id).nth(1).unwrap();
    let unused_row = unused_row.split("</tr>").next().unwrap();
    assert!(
        unused_row.contains("<td>never</td><td>never</td>"),
        "{unused_row}"
    );
}

#[tokio::test]
async fn behind_an_https_public_url_the_cookie_is_secure_and_a_forged_cookie_signs_nobody_in() {
    let app = crate::helpers::TestApp::spawn_with(
        crate::helpers::Backend::Sqlite,
        &[("TOKENMINT_PUBLIC_URL", "https://auth.example.com")],
    )
    .await;
    let client = app.standard_client("ES256").await;
    let mut browser = Browser::of(&app);

    let response = browser.sign_in(&client.id, &client.secret).await;
    browser.cookie = Some(format!("{SESSION}=AAAAAAAAAAAAAAAAAAAAAA"));
    let forged = browser.get("/portal/credentials").await;
    browser.cookie = Some(format!("{SESSION}=not-a-session-id"));
    let garbled = browser.get("/portal/credentials").await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(header(&response, SET_COOKIE.as_str()).contains("Secure"));
    for refused in [forged, garbled] {
        assert_eq!(refused.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&refused), "/portal");
    }
}

#[tokio::test]
async fn a_wrong_sign_in_shows_why_and_spends_the_same_budget_as_the_api() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    let mut browser = Browser::of(&app);

    let empty = browser.sign_in("", "").await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let empty = empty.text().await.unwrap();
    assert!(empty.contains("Enter the client ID."), "{empty}");
    assert!(empty.contains("Enter the client secret."), "{empty}");
    for _ in 0..IDENTIFIER_BURST {
        let wrong = browser.sign_in(&client.id, WRONG_SECRET).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let wrong = wrong.text().await.unwrap();
        assert!(wrong.contains("The client ID or client secret is not valid."));
        assert!(!wrong.contains(WRONG_SECRET), "the secret is not echoed");
    }

    let limited = browser.sign_in(&client.id, &client.secret).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        header(&limited, RETRY_AFTER.as_str())
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(browser.cookie.is_none(), "no session for a refused sign-in");
    let api = app
        .http
        .post(app.url("/auth/token/create"))
        .json(&json!({"client_id": client.id, "client_secret": client.secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one budget for both"
    );
}

#[tokio::test]
async fn a_form_from_another_site_or_without_the_session_token_changes_nothing() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let mut browser = signed_in(&app, &client).await;
    let csrf = browser.csrf("/portal/credentials").await;

    let cross_site = browser
        .post(
            "/portal/sign-out",
            &[("csrf", &csrf)],
            Some("https://evil.example"),
        )
        .await;
    let forged = browser
        .post("/portal/sign-out", &[("csrf", "not-the-token")], None)
        .await;
    let foreign_sign_in = Browser::of(&app)
        .post(
            "/portal/sign-in",
            &[("client_id", &client.id), ("client_secret", &client.secret)],
            Some("https://evil.example"),
        )
        .await;

    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(foreign_sign_in.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        browser.get("/portal/credentials").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    assert_eq!(
        app.count_rows("web_sessions", "id_digest <> $1", "").await,
        1
    );
}

#[tokio::test]
async fn a_session_continues_on_another_instance_and_one_sign_out_ends_it_on_both() {
    let a = TestApp::spawn().await;
    let b = a.spawn_beside().await;
    let client = a.standard_client("ES256").await;
    let browser = signed_in(&a, &client).await;
    let mut on_b = browser.at(&b);

    assert_eq!(
        on_b.get("/portal/credentials").await.status(),
        StatusCode::OK
    );
    let csrf = on_b.csrf("/portal/credentials").await;
    let out = on_b
        .post("/portal/sign-out", &[("csrf", &csrf)], None)
        .await;

    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/portal");
    let on_a = browser.get("/portal/credentials").await;
    assert_eq!(on_a.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&on_a), "/portal");
    assert_eq!(a.count_rows("web_sessions", "id_digest <> $1", "").await, 0);
}

#[tokio::test]
async fn an_idle_session_expires_and_a_suspended_client_is_signed_out() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let idle = signed_in(&app, &client).await;
    let other = app.standard_client("ES256").await;
    let suspended = signed_in(&app, &other).await;

    let path = format!("/admin/clients/{}", other.id);
    let patch = json!({"status": "suspended"});
    app.admin(reqwest::Method::PATCH, &path, Some(patch)).await;
    let after_suspension = suspended.get("/portal/credentials").await;
    app.clock.advance_seconds(IDLE_MINUTES * 60 - 60);
    let before_expiry = idle.get("/portal/credentials").await;
    app.clock.advance_seconds(120);
    let expired = idle.get("/portal/credentials").await;

    assert_eq!(after_suspension.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after_suspension), "/portal");
    assert_eq!(before_expiry.status(), StatusCode::OK);
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&expired), "/portal");
}

#[tokio::test]
async fn reference_003_in_pages_request_access_read_the_decision_and_generate_credentials() {
    let app = TestApp::spawn().await;
    create_groups(&app).await;
    let client = app.standard_client("ES256").await;
    let mut browser = signed_in(&app, &client).await;
    let csrf = browser.csrf("/portal/access").await;

    let unchecked = browser
        .post("/portal/access", &[("csrf", &csrf), ("reason", "")], None)
        .await;
    let unknown = browser
        .post(
            "/portal/access",
            &[("csrf", &csrf), ("api_groups", "nope"), ("reason", "x")],
            None,
        )
        .await;
    let sent = browser
        .post(
            "/portal/access",
            &[
                ("csrf", &csrf),
                ("api_groups", GROUP),
                ("reason", "Monthly reports"),
            ],
            None,
        )
        .await;

    assert_eq!(unchecked.status(), StatusCode::BAD_REQUEST);
    let unchecked = unchecked.text().await.unwrap();
    assert!(
        unchecked.contains("Choose at least one API group."),
        "{unchecked}"
    );
    assert!(unchecked.contains("Say why the client needs this access."));
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(unknown
        .text()
        .await
        .unwrap()
        .contains("there is no API group named"));
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let requests = app
        .count_rows("access_requests", "client_id = $1", &client.id)
        .await;
    assert_eq!(requests, 1, "only the valid request was recorded");
    let listed = browser.get("/portal/access").await.text().await.unwrap();
    assert!(listed.contains("Monthly reports") && listed.contains("pending"));

    let pending: serde_json::Value = app
        .admin(
            reqwest::Method::GET,
            "/admin/access-requests?status=pending",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let id = pending.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(decide(&app, &id, "approve").await.status(), StatusCode::OK);
    let notifications = browser
        .get("/portal/notifications")
        .await
        .text()
        .await
        .unwrap();
    assert!(notifications.contains(NOTE), "{notifications}");
    assert!(notifications.contains(r#"aria-label="1 unread""#));
    let notification = app
        .state
        .registry
        .notifications_of(&tokenmint::domain::ClientId::parse(&client.id).unwrap())
        .await
        .unwrap()[0]
        .id
        .clone();
    let read = browser
        .post(
            &format!("/portal/notifications/{notification}/read"),
            &[("csrf", &csrf)],
            None,
        )
        .await;
    assert_eq!(read.status(), StatusCode::SEE_OTHER);
    let after = browser
        .get("/portal/credentials")
        .await
        .text()
        .await
        .unwrap();
    assert!(after.contains(r#"aria-label="0 unread""#));

    let refused = browser
        .post(
            "/portal/credentials/new",
            &[
                ("csrf", &csrf),
                ("username", "site"),
                ("api_groups", OTHER_GROUP),
            ],
            None,
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Not approved for this client: billing"));
    let created = browser
        .post(
            "/portal/credentials/new",
            &[
                ("csrf", &csrf),
                ("username", "careers-site"),
                ("notes", "web front end"),
                ("api_groups", GROUP),
            ],
            None,
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(header(&created, "cache-control"), "no-store");
    let created = created.text().await.unwrap();
    assert!(created.contains("I have copied the key and secret"));
    let (key, secret) = (
        text_of(&created, "new-key"),
        text_of(&created, "new-secret"),
    );
    let listed = browser
        .get("/portal/credentials")
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains("careers-site") && listed.contains(&key));
    assert!(!listed.contains(&secret), "the secret is shown once");
    let token = app
        .http
        .post(app.url("/auth/authtoken"))
        .json(&json!({"key": key, "secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.status(),
        StatusCode::OK,
        "the generated pair gets an AuthToken"
    );
}

#[tokio::test]
async fn in_sandbox_mode_the_portal_creates_a_sandbox_api_key_shown_once_that_gets_a_token() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let mut browser = signed_in(&app, &client).await;
    let csrf = browser.csrf("/portal/credentials").await;

    let created = browser
        .post("/portal/api-keys", &[("csrf", &csrf)], None)
        .await;

    assert_eq!(created.status(), StatusCode::CREATED);
    let created = created.text().await.unwrap();
    let key = text_of(&created, "new-api-key");
    assert!(key.starts_with("tmk_"), "{key}");
    let listed = browser
        .get("/portal/credentials")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("sandbox") && !listed.contains(&key),
        "listed, never shown again"
    );
    let token = app
        .http
        .get(app.url("/clients/authorization"))
        .query(&[("apiKey", &key)])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK, "the key gets a JWT");
}

#[tokio::test]
async fn in_production_the_portal_creates_no_sandbox_api_key() {
    let app = TestApp::spawn_with(
        crate::helpers::Backend::Postgres,
        &[("TOKENMINT_MODE", "production")],
    )
    .await;
    let client = app.standard_client("ES256").await;
    let mut browser = signed_in(&app, &client).await;
    let csrf = browser.csrf("/portal/credentials").await;
    let page = browser
        .get("/portal/credentials")
        .await
        .text()
        .await
        .unwrap();

    let refused = browser
        .post("/portal/api-keys", &[("csrf", &csrf)], None)
        .await;

    assert!(!page.contains("Create a sandbox API key"));
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.count_rows("api_keys", "client_id = $1", &client.id)
            .await,
        0
    );
}

#[tokio::test]
async fn revoking_a_credential_in_the_portal_stops_it_and_its_authtokens_like_the_api() {
    let app = TestApp::spawn().await;
    let client = crate::authtoken::approved_client(&app).await;
    let (key, secret) = crate::authtoken::credential(&app, &client).await;
    let generate = || {
        app.http
            .post(app.url("/auth/authtoken"))
            .json(&json!({"key": key, "secret": secret}))
            .send()
    };
    let token: serde_json::Value = generate().await.unwrap().json().await.unwrap();
    let token = token["authToken"].as_str().unwrap().to_owned();
    let mut browser = signed_in(&app, &client).await;
    let csrf = browser.csrf("/portal/credentials").await;
    let listed = browser
        .get("/portal/credentials")
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&format!("/portal/credentials/{key}/revoke")));

    let revoked = browser
        .post(
            &format!("/portal/credentials/{key}/revoke"),
            &[("csrf", &csrf)],
            None,
        )
        .await;

    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(generate().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let introspected: serde_json::Value = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        introspected["active"], false,
        "its AuthToken is revoked too"
    );
    let after = browser
        .get("/portal/credentials")
        .await
        .text()
        .await
        .unwrap();
    assert!(after.contains("revoked"));
}
