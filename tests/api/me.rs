//! `GET /v1/me`: the three accepted token forms, and refusals.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{json, Value};

use crate::helpers::TestApp;

async fn token(app: &TestApp) -> (String, String) {
    let client = app.standard_client("ES256").await;
    (
        app.issue_for(&client).await.token.expose().to_owned(),
        client.id,
    )
}

#[tokio::test]
async fn shows_the_verified_claims_for_a_bearer_a_bare_and_a_url_token() {
    let app = TestApp::spawn().await;
    let (token, client_id) = token(&app).await;
    let requests = [
        app.http
            .get(app.url("/v1/me"))
            .header(AUTHORIZATION, format!("Bearer {token}")),
        app.http
            .get(app.url("/v1/me"))
            .header(AUTHORIZATION, token.clone()),
        app.http.get(app.url(&format!("/v1/me?jwt={token}"))),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let claims: Value = response.json().await.unwrap();
        assert_eq!(claims["client_id"], client_id.as_str());
        assert_eq!(claims["scope"], "programs:read");
    }
}

#[tokio::test]
async fn refuses_a_missing_a_tampered_and_an_expired_token_with_401() {
    let app = TestApp::spawn().await;
    let (token, _) = token(&app).await;
    let missing = app.get("/v1/me").await;
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()[WWW_AUTHENTICATE],
        r#"Bearer error="invalid_token""#
    );
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");

    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("programs:read schools:read admin");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_eq!(
        me_with(&app, &parts.join(".")).await,
        401,
        "tampered payload"
    );

    app.clock.advance_seconds(3600 + 10);
    assert_eq!(me_with(&app, &token).await, 401, "expired");
}

#[tokio::test]
async fn refuses_unsigned_and_foreign_tokens() {
    let app = TestApp::spawn().await;
    let (token, _) = token(&app).await;
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let forge = |header: Value| {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            parts[1]
        )
    };

    let mut none = header.clone();
    none["alg"] = json!("none");
    assert_eq!(me_with(&app, &forge(none)).await, 401, "alg none");

    let mut wrong_type = header.clone();
    wrong_type["typ"] = json!("JWT");
    let resigned = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(wrong_type.to_string()),
        parts[1],
        parts[2]
    );
    assert_eq!(me_with(&app, &resigned).await, 401, "typ other than at+jwt");

    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = json!("not-a-published-kid");
    let resigned = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(unknown_kid.to_string()),
        parts[1],
        parts[2]
    );
    assert_eq!(me_with(&app, &resigned).await, 401, "unknown kid");

    assert_eq!(me_with(&app, "not.a.jwt").await, 401);
    assert_eq!(me_with(&app, &"a".repeat(9000)).await, 401, "oversized");
}

async fn me_with(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let issued = app.issue_for(&client).await;
    assert_eq!(me_with(&app, issued.token.expose()).await, 200);
    let now = tokenmint::clock::Clock::now(&*app.clock);
    assert_eq!(
        app.state
            .signer
            .revoke(std::slice::from_ref(&issued.jti), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(me_with(&app, issued.token.expose()).await, 401);
    assert_eq!(
        app.state.signer.revoke(&[issued.jti], now).await.unwrap(),
        0,
        "already revoked"
    );
}

#[tokio::test]
async fn protected_endpoints_fail_closed_when_revocation_cannot_be_checked() {
    let app = TestApp::spawn().await;
    let (token, _) = token(&app).await;
    app.state.db.pool().close().await;
    assert_eq!(me_with(&app, &token).await, 503);
}
