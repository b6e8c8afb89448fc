//! Pagination with the opaque cursor, refusals of bad parameters and of callers without the
//! admin token, and `tokenmint issuances list`.

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{expected, issue_mix, page_jtis, report, via_auth_jwt, via_token_create};
use crate::binary::{run_json, tokenmint};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

/// Walks every page with `limit`, returning the jtis in order and the number of pages.
async fn walk(app: &TestApp, limit: &str) -> (Vec<String>, usize) {
    let (mut seen, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut query = vec![("limit", limit)];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        let (status, page) = report(app, &query).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(page_jtis(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (seen, pages),
        }
    }
}

async fn pages_walk_every_row_exactly_once(app: TestApp) {
    let (_, _, all) = issue_mix(&app).await;
    let (seen, pages) = walk(&app, "2").await;
    assert_eq!(seen, expected(&all, |_| true));
    assert_eq!(
        pages, 3,
        "six rows in pages of two, the last with no next cursor"
    );
    let (seen, pages) = walk(&app, "4").await;
    assert_eq!((seen.len(), pages), (all.len(), 2));
}
on_both_backends!(pages_walk_every_row_exactly_once);

#[tokio::test]
async fn tokens_issued_while_paging_do_not_disturb_the_walk() {
    let app = TestApp::spawn().await;
    let (a, _, all) = issue_mix(&app).await;
    let (status, first) = report(&app, &[("limit", "2")]).await;
    assert_eq!(status, 200);
    let mut seen = page_jtis(&first);
    // Newer tokens arrive at the head of the order, before the cursor's position.
    app.clock.advance_seconds(1);
    via_auth_jwt(&app, &a).await;
    via_token_create(&app, &a).await;
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let (status, page) = report(&app, &[("limit", "2"), ("cursor", &cursor)]).await;
        assert_eq!(status, 200);
        seen.extend(page_jtis(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, expected(&all, |_| true));
}

#[tokio::test]
async fn invalid_parameters_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let forged = "djE6c29vbjpub3QtYS1qdGk"; // base64url of "v1:soon:not-a-jti"
    let cases: [(&[(&str, &str)], &str); 12] = [
        (&[("scheme", "client_credentials")], "scheme"),
        (&[("since", "yesterday")], "since"),
        (&[("since", "2026-11-22")], "since"),
        (&[("until", "2026-11-22T25:00:00Z")], "until"),
        (
            &[
                ("since", "2026-11-22T10:00:00Z"),
                ("until", "2026-11-22T09:59:59Z"),
            ],
            "until",
        ),
        (&[("cursor", "garbage!")], "cursor"),
        (&[("cursor", forged)], "cursor"),
        (&[("limit", "0")], "limit"),
        (&[("limit", "1001")], "limit"),
        (&[("limit", "-5")], "limit"),
        (&[("limit", "many")], "limit"),
        (&[("limit", "99999999999999999999")], "limit"),
    ];
    for (query, field) in cases {
        let (status, body) = report(&app, query).await;
        assert_eq!(status, 422, "{query:?}: {body}");
        assert_eq!(body["error"], "invalid_request", "{query:?}");
        assert_eq!(body["field"], field, "{query:?}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let (status, page) = report(&app, &[("limit", "1000"), ("scheme", "sign_in")]).await;
    assert_eq!((status, page["items"].clone()), (200, json!([])));
}

#[tokio::test]
async fn the_report_needs_the_admin_token() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/admin/issuances").await.status(), 401);
    let wrong = app
        .http
        .request(Method::GET, app.url("/admin/issuances"))
        .bearer_auth("not-the-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn the_cli_prints_the_same_pages_as_the_admin_api() {
    let app = TestApp::spawn_on(Backend::Sqlite).await;
    let (a, _, _) = issue_mix(&app).await;
    let settings = app.state.settings.clone();
    let dir = tempfile::tempdir().unwrap();
    // The binary reads the app's SQLite file directly (the service is not involved).
    let cli = |pairs: &[(&str, &str)]| {
        let mut command = tokenmint(dir.path());
        command
            .env("DATABASE_URL", settings.database.url.expose_secret())
            .env(
                "TOKENMINT_MASTER_KEY",
                settings.signing.master_key.expose_secret(),
            )
            .args(["issuances", "list"]);
        for (name, value) in pairs {
            command
                .arg(format!("--{}", name.replace('_', "-")))
                .arg(value);
        }
        run_json(&mut command)
    };
    let first_query = [("client_id", a.id.as_str()), ("limit", "2")];
    let (_, first) = report(&app, &first_query).await;
    assert_eq!(cli(&first_query), first);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);

    let cursor = first["next_cursor"].as_str().unwrap();
    let second_query = [
        ("client_id", a.id.as_str()),
        ("scheme", "auth_jwt"),
        ("limit", "2"),
        ("cursor", cursor),
    ];
    let (_, second) = report(&app, &second_query).await;
    assert_eq!(cli(&second_query), second);
    assert!(!second["items"].as_array().unwrap().is_empty());
}
