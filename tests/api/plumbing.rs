//! HTTP plumbing: probes, CORS, request ids, limits, OpenAPI and Swagger UI.

use reqwest::header::{ACCESS_CONTROL_EXPOSE_HEADERS, ORIGIN, RETRY_AFTER};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

const OPENAPI_PATH: &str = "openapi/openapi.json";

#[tokio::test]
async fn probes_answer_and_readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.state.db.pool().close().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the process is still up"
    );
}

#[tokio::test]
async fn a_database_outage_is_503_with_retry_after_not_500() {
    let app = TestApp::spawn().await;
    app.state.db.pool().close().await;
    let response = app.admin(Method::GET, "/admin/clients", None).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[RETRY_AFTER], "5");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
}

#[tokio::test]
async fn browsers_may_read_the_authorization_response_header() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/healthz"))
        .header(ORIGIN, "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let exposed = response.headers()[ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("authorization"), "{exposed}");
    let preflight = app
        .http
        .request(Method::OPTIONS, app.url("/v1/me"))
        .header(ORIGIN, "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,client-id,client-secret",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allowed.contains("client-secret"), "{allowed}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let app = TestApp::spawn().await;
    let generated = app.get("/healthz").await;
    assert!(!generated.headers()["x-request-id"].is_empty());
    let kept = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn an_oversized_body_is_413_and_an_unknown_route_404() {
    let app = TestApp::spawn().await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(70_000));
    let response = app
        .http
        .post(app.url("/admin/clients"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(app.get("/no/such/route").await.status(), 404);
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let page = app.get("/swagger-ui/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Swagger UI"));
    let bundle = app.get("/swagger-ui/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
    let config = app
        .get("/swagger-ui/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(config.contains("/openapi.json"), "{config}");
    assert!(
        config.contains("tokenmintPlugin"),
        "tokenmint's initializer: {config}"
    );
}

/// The committed document equals what the service serves; `UPDATE_OPENAPI=1` rewrites it.
#[tokio::test]
async fn openapi_spec_is_up_to_date() {
    let app = TestApp::spawn().await;
    let served: Value = app.get("/openapi.json").await.json().await.unwrap();
    let rendered = tokenmint::app::openapi_json(tokenmint::config::Mode::Sandbox);
    assert_eq!(serde_json::from_str::<Value>(&rendered).unwrap(), served);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(OPENAPI_PATH, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(OPENAPI_PATH).unwrap_or_default();
    assert!(
        committed == rendered,
        "{OPENAPI_PATH} is out of date: run `UPDATE_OPENAPI=1 cargo test openapi_spec_is_up_to_date`"
    );
    for (path, security) in [
        ("/v1/me", "access_token"),
        ("/admin/clients", "admin_token"),
    ] {
        let operations = &served["paths"][path];
        assert!(operations.is_object(), "{path} documented");
        assert!(served["components"]["securitySchemes"][security].is_object());
    }
}
