//! `GET` and `POST /auth/jwt` (CONTRACT.md section B).

use reqwest::header::{
    ACCESS_CONTROL_EXPOSE_HEADERS, AUTHORIZATION, CACHE_CONTROL, ORIGIN, RETRY_AFTER,
};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestClient};

async fn auth_jwt(
    app: &TestApp,
    method: Method,
    id: Option<&str>,
    secret: Option<&str>,
) -> Response {
    let mut request = app.http.request(method, app.url("/auth/jwt"));
    if let Some(id) = id {
        request = request.header("client-id", id);
    }
    if let Some(secret) = secret {
        request = request.header("client-secret", secret);
    }
    request.send().await.unwrap()
}

fn bearer(response: &Response) -> String {
    let value = response.headers()[AUTHORIZATION].to_str().unwrap();
    value
        .strip_prefix("Bearer ")
        .expect("Bearer prefix")
        .to_owned()
}

async fn ok(app: &TestApp, method: Method, client: &TestClient) -> Response {
    auth_jwt(app, method, Some(&client.id), Some(&client.secret)).await
}

#[tokio::test]
async fn get_and_post_return_a_one_hour_token_in_the_authorization_header() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("EdDSA").await;
    for method in [Method::GET, Method::POST] {
        let response = ok(&app, method.clone(), &client).await;
        assert_eq!(response.status(), 200, "{method}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let token = bearer(&response);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expiresIn"], 3600);
        assert!(
            body.get("jwt").is_none(),
            "the token travels in the header only"
        );
        let (header, claims) = app.verify_with_jwks(&token).await;
        assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
        assert_eq!(claims["client_id"], client.id.as_str());
        assert_eq!(claims["scope"], "programs:read");
        assert_eq!(claims["state"], "IC");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        assert_eq!(
            app.count_rows("issuances", "jti = $1", claims["jti"].as_str().unwrap())
                .await,
            1
        );
        let me = app
            .http
            .get(app.url("/v1/me"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
    }
}

#[tokio::test]
async fn browsers_can_read_the_token_header() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let response = app
        .http
        .get(app.url("/auth/jwt"))
        .header(ORIGIN, "https://portal.example.com")
        .header("client-id", &client.id)
        .header("client-secret", &client.secret)
        .send()
        .await
        .unwrap();
    let exposed = response.headers()[ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("authorization"), "{exposed}");
}

#[tokio::test]
async fn the_lifetime_is_capped_by_the_clients_maximum() {
    let app = TestApp::spawn().await;
    let mut body = crate::helpers::standard_client_body("ES256");
    body["max_ttl_minutes"] = json!(15);
    let client = app.create_client(body).await;
    let response = ok(&app, Method::GET, &client).await;
    let (_, claims) = app.verify_with_jwks(&bearer(&response)).await;
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        15 * 60
    );
}

#[tokio::test]
async fn a_missing_or_empty_header_is_400() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    for (id, secret, field) in [
        (None, Some(client.secret.as_str()), "client-id"),
        (Some(client.id.as_str()), None, "client-secret"),
        (Some(""), Some(client.secret.as_str()), "client-id"),
        (Some(client.id.as_str()), Some(" "), "client-secret"),
        (None, None, "client-id"),
    ] {
        let response = auth_jwt(&app, Method::POST, id, secret).await;
        assert_eq!(response.status(), 400);
        assert!(response.headers().get(AUTHORIZATION).is_none());
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{error}"
        );
    }
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", &client.id)
            .await,
        0
    );
}

#[tokio::test]
async fn invalid_credentials_are_403_as_documented() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let wrong = auth_jwt(&app, Method::GET, Some(&client.id), Some("wrong")).await;
    let unknown = auth_jwt(&app, Method::GET, Some("nobody"), Some(&client.secret)).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(unknown.status(), 403);
    let (a, b): (Value, Value) = (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(
        a, b,
        "unknown client and wrong secret are indistinguishable"
    );
    assert_eq!(a["error"], "invalid_client");

    app.admin(
        Method::PATCH,
        &format!("/admin/clients/{}", client.id),
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(
        ok(&app, Method::GET, &client).await.status(),
        403,
        "suspended"
    );
}

#[tokio::test]
async fn a_database_outage_is_503_not_500() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    app.state.db.pool().close().await;
    let response = ok(&app, Method::POST, &client).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[RETRY_AFTER], "5");
}
