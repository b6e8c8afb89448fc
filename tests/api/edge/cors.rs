//! CORS only where browsers on other sites may call: the token routes, JWKS, metadata, `/v1/me`,
//! introspection and revocation answer a preflight as configured (`*` in the tests); the admin
//! API and the web pages answer none, so no other site's script can send them an admin token or
//! read a page.

use reqwest::header::{ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN};
use reqwest::{Method, Response};

use crate::helpers::{TestApp, ADMIN_TOKEN};

const OTHER_SITE: &str = "https://elsewhere.example";

async fn preflight(app: &TestApp, path: &str, method: &str) -> Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header(ORIGIN, OTHER_SITE)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_admin_api_and_the_web_pages_answer_no_cross_origin_preflight() {
    let app = TestApp::spawn().await;
    for (path, method) in [
        ("/admin/clients", "POST"),
        ("/admin/keys/rotate", "POST"),
        ("/", "GET"),
        ("/portal/sign-in", "POST"),
        ("/console", "GET"),
        ("/assets/tokenmint.css", "GET"),
    ] {
        let response = preflight(&app, path, method).await;
        let headers = response.headers();
        assert!(
            headers.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
            "{path}: {headers:?}"
        );
        assert!(
            headers.get(ACCESS_CONTROL_ALLOW_HEADERS).is_none(),
            "{path}"
        );
    }
    let read = app
        .http
        .get(app.url("/admin/keys"))
        .bearer_auth(ADMIN_TOKEN)
        .header(ORIGIN, OTHER_SITE)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert!(read.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn token_routes_keys_metadata_and_token_checks_keep_cors() {
    let app = TestApp::spawn().await;
    for (path, method) in [
        ("/oauth/token", "POST"),
        ("/auth/token/create", "POST"),
        ("/v0/sign_in/token", "POST"),
        ("/.well-known/jwks.json", "GET"),
        ("/.well-known/oauth-authorization-server", "GET"),
        ("/v1/me", "GET"),
        ("/oauth/introspect", "POST"),
        ("/oauth/revoke", "POST"),
    ] {
        let response = preflight(&app, path, method).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "*",
            "{path}"
        );
    }
}
