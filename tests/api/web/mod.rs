//! The web pages over the real router: the landing page at `/`, its embedded stylesheet, and the
//! security headers every page carries; the portal's sessions in [`portal`]. The same pages in a
//! real Chromium, with an accessibility check, are `web_browser.rs`.

mod portal;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Response, StatusCode};

use crate::helpers::{Backend, TestApp};

/// Where the landing page sends a newcomer first, each answering 200 here.
const START_LINKS: [&str; 5] = [
    "/portal",
    "/swagger-ui/",
    "/openapi.json",
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
];

pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The page protections CONTRACT G asks of every page.
pub fn assert_page_headers(response: &Response) {
    let policy = header(response, "content-security-policy");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "x-frame-options"), "DENY");
}

#[tokio::test]
async fn the_landing_page_says_what_the_service_is_and_links_where_to_start() {
    let app = TestApp::spawn().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, CONTENT_TYPE.as_str()),
        "text/html; charset=utf-8"
    );
    assert_page_headers(&response);
    let page = response.text().await.unwrap();
    assert!(page.contains("<h1>Signed access tokens for your backend</h1>"));
    assert!(page.contains(&app.address), "the issuer is named: {page}");
    for link in START_LINKS {
        assert!(page.contains(&format!("href=\"{link}\"")), "{link}");
        assert_eq!(app.get(link).await.status(), StatusCode::OK, "{link}");
    }
    for (path, scheme) in tokenmint::schemes::token_routes() {
        assert!(page.contains(path), "{scheme}'s {path} is listed");
    }
}

#[tokio::test]
async fn in_sandbox_mode_the_landing_page_says_where_the_demo_credentials_are_and_never_shows_them()
{
    let app = TestApp::spawn_on(Backend::Sqlite).await;

    let page = app.get("/").await.text().await.unwrap();

    assert!(page.contains("data/demo.env"), "{page}");
    assert!(page.contains("/test-api-keys"), "sandbox routes are listed");
    assert!(!page.to_lowercase().contains("client_secret="), "{page}");
}

#[tokio::test]
async fn in_production_the_landing_page_lists_no_sandbox_route_and_no_demo() {
    let app = TestApp::spawn_with(Backend::Postgres, &[("TOKENMINT_MODE", "production")]).await;

    let response = app.get("/").await;

    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(!page.contains("demo.env"), "{page}");
    assert!(!page.contains("/test-api-keys"), "{page}");
    assert!(page.contains("production"), "{page}");
}

#[tokio::test]
async fn the_stylesheet_is_served_from_the_binary_with_the_page_headers() {
    let app = TestApp::spawn_on(Backend::Sqlite).await;

    let response = app.get("/assets/tokenmint.css").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, CONTENT_TYPE.as_str()),
        "text/css; charset=utf-8"
    );
    assert!(header(&response, CACHE_CONTROL.as_str()).starts_with("public"));
    assert_page_headers(&response);
    assert!(response.text().await.unwrap().contains(".masthead"));
}
