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
