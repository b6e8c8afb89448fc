//! `GET /metrics` (Prometheus): tokens issued and refused per scheme and reason, latency per
//! route template, database pool and cache figures; each service counts on its own.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestClient};

/// The exposition text.
async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The value of the one sample named exactly `series` (name and labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

async fn token_create(app: &TestApp, client: &TestClient, secret: &str) -> StatusCode {
    app.http
        .post(app.url("/auth/token/create"))
        .json(&json!({"client_id": client.id, "client_secret": secret}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn auth_jwt(app: &TestApp, client: &TestClient) -> StatusCode {
    app.http
        .post(app.url("/auth/jwt"))
        .header("client-id", &client.id)
        .header("client-secret", &client.secret)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn issued_and_refused_tokens_are_counted_per_scheme_and_reason() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;

    assert_eq!(token_create(&app, &client, &client.secret).await, 200);
    assert_eq!(token_create(&app, &client, &client.secret).await, 200);
    assert_eq!(auth_jwt(&app, &client).await, 200);
    assert_eq!(token_create(&app, &client, "wrong-secret").await, 401);
    let over_scope = app
        .http
        .post(app.url("/auth/token/create"))
        .json(
            &json!({"client_id": client.id, "client_secret": client.secret,
            "scope": ["industry:write"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(over_scope.status(), 403);

    let text = scrape(&app).await;
    let issued = |scheme: &str| {
        sample(
            &text,
            &format!("tokenmint_tokens_issued_total{{scheme=\"{scheme}\"}}"),
        )
    };
    assert_eq!(issued("token_create"), Some(2.0), "{text}");
    assert_eq!(issued("auth_jwt"), Some(1.0), "{text}");
    let refused = |scheme: &str, reason: &str| {
        sample(
            &text,
            &format!("tokenmint_token_refusals_total{{scheme=\"{scheme}\",reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(
        refused("token_create", "invalid_client"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        refused("token_create", "invalid_scope"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(refused("auth_jwt", "invalid_client"), None, "{text}");
    assert!(!text.contains(&client.secret), "no secret in the metrics");
    assert!(!text.contains("wrong-secret"));
}

#[tokio::test]
async fn latency_is_recorded_per_route_template_never_per_raw_path() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let response = app
        .admin(
            reqwest::Method::GET,
            &format!("/admin/clients/{}", client.id),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/no/such/route").await.status(), 404);

    let text = scrape(&app).await;
    let count = |labels: &str| {
        sample(
            &text,
            &format!("tokenmint_http_request_duration_seconds_count{{{labels}}}"),
        )
    };
    assert_eq!(
        count(r#"route="/admin/clients/{client_id}",method="GET",status="200""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count(r#"route="/admin/clients",method="POST",status="201""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count(r#"route="unmatched",method="GET",status="404""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tokenmint_http_request_duration_seconds_bucket{le="+Inf",route="/admin/clients/{client_id}",method="GET",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains(&client.id),
        "a raw path never becomes a label"
    );
    assert!(!text.contains("/no/such/route"));
}

#[tokio::test]
async fn pool_cache_and_queue_figures_are_sampled_at_scrape_time() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    assert_eq!(auth_jwt(&app, &client).await, 200);

    let text = scrape(&app).await;
    let open = sample(&text, "tokenmint_db_pool_connections").expect("pool size");
    assert!(open >= 1.0, "{text}");
    let idle = sample(&text, "tokenmint_db_pool_idle_connections").expect("idle");
    assert!(idle <= open);
    assert_eq!(
        sample(&text, "tokenmint_db_pool_max_connections"),
        Some(5.0)
    );
    for kind in [
        "client_secret",
        "api_key",
        "jwt_credential",
        "service_account",
    ] {
        let series = format!("tokenmint_credential_cache_entries{{kind=\"{kind}\"}}");
        assert!(sample(&text, &series).is_some(), "{series} in {text}");
    }
    assert_eq!(sample(&text, "tokenmint_issuance_queue_records"), Some(0.0));
}

#[tokio::test]
async fn each_service_counts_on_its_own() {
    let (first, second) = tokio::join!(TestApp::spawn(), TestApp::spawn_on(Backend::Sqlite));
    let client = first.standard_client("ES256").await;
    assert_eq!(auth_jwt(&first, &client).await, 200);

    let series = r#"tokenmint_tokens_issued_total{scheme="auth_jwt"}"#;
    assert_eq!(sample(&scrape(&first).await, series), Some(1.0));
    assert_eq!(sample(&scrape(&second).await, series), None);
}

#[tokio::test]
async fn prometheus_gets_openmetrics_and_others_the_classic_text_format() {
    let app = TestApp::spawn().await;
    let classic = app.get("/metrics").await;
    assert_eq!(
        classic.headers()[CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let openmetrics = app
        .http
        .get(app.url("/metrics"))
        .header(
            ACCEPT,
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        openmetrics.headers()[CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(openmetrics.text().await.unwrap().ends_with("# EOF\n"));
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TOKENMINT__METRICS__ENABLED", "false")]).await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

#[test]
fn every_token_route_counted_by_scheme_is_a_documented_route() {
    let document = tokenmint::app::openapi_document(tokenmint::config::Mode::Sandbox);
    for (route, _) in tokenmint::schemes::token_routes() {
        assert!(document.paths.paths.contains_key(route), "{route}");
    }
}

#[tokio::test]
async fn a_replayed_service_account_assertion_is_counted_as_replayed() {
    let fixture = crate::sign_in::Fixture::arrange(TestApp::spawn().await).await;
    let claims = fixture.claims();
    assert_eq!(fixture.exchange(&claims).await.status(), 200);
    assert_eq!(fixture.exchange(&claims).await.status(), 400);

    let text = scrape(&fixture.app).await;
    let issued = r#"tokenmint_tokens_issued_total{scheme="sign_in"}"#;
    assert_eq!(sample(&text, issued), Some(1.0), "{text}");
    let replayed = r#"tokenmint_token_refusals_total{scheme="sign_in",reason="replayed"}"#;
    assert_eq!(sample(&text, replayed), Some(1.0), "{text}");
}
