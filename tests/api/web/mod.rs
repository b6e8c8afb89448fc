//! The web pages over the real router: the landing page at `/`, its embedded stylesheet, and the
//! security headers every page carries; the portal's sessions in [`portal`]. The same pages in a
//! real Chromium, with an accessibility check, are `web_browser.rs`.

mod console;
mod portal;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{redirect, Client, Response, StatusCode};

use crate::helpers::{Backend, TestApp};

/// The session cookie's name.
pub const SESSION: &str = "tokenmint_session";

/// A browser of one site: no redirects followed, the session cookie kept by hand.
pub struct Browser {
    http: Client,
    base: String,
    /// The session cookie (`name=value`), once the service set one.
    pub cookie: Option<String>,
}

impl Browser {
    pub fn of(app: &TestApp) -> Self {
        Self {
            http: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.address.clone(),
            cookie: None,
        }
    }

    /// The same session, sent to another instance.
    pub fn at(&self, app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            cookie: self.cookie.clone(),
            ..Self::of(app)
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// A form POST as this site's own page sends it (`Origin` is this site) unless `origin`.
    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, origin.unwrap_or(&self.base))
            .form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        response
    }

    /// A form POST with owned pairs, as this site's own page sends it.
    pub async fn post_owned(&mut self, path: &str, form: &[(String, String)]) -> Response {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post(path, &pairs, None).await
    }

    pub async fn sign_in(&mut self, client_id: &str, secret: &str) -> Response {
        self.post(
            "/portal/sign-in",
            &[("client_id", client_id), ("client_secret", secret)],
            None,
        )
        .await
    }

    /// The CSRF token of the page at `path` (its sign-out form's hidden field).
    pub async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await.text().await.unwrap();
        let start = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
        page[start..].split('"').next().unwrap().to_owned()
    }
}

pub fn location(response: &Response) -> String {
    header(response, LOCATION.as_str())
}

/// The text of a page's element with `id` (its inner text up to the next tag).
pub fn text_of(page: &str, id: &str) -> String {
    let start = page.find(&format!(r#"id="{id}">"#)).expect(id) + id.len() + 6;
    page[start..].split('<').next().unwrap().trim().to_owned()
}

/// Where the landing page sends a newcomer first, each answering 200 here.
const START_LINKS: [&str; 6] = [
    "/portal",
    "/console",
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
