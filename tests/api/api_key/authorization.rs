//! `GET /clients/authorization?apiKey=`: the token, and every refusal of section C.

use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{api_key_issuances, assert_errors, authorize, create_key};
use crate::helpers::{standard_client_body, Backend, ClockExt, TestApp};
use crate::on_both_backends;

const ONE_HOUR_SECONDS: i64 = 3600;
const UNKNOWN_KEY: &str = "tmk_sandbox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

async fn a_live_key_gets_a_one_hour_token_verified_by_the_jwks_and_recorded(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let (_, key) = create_key(&app, &client.id, "sandbox", None).await;

    let response = authorize(&app, &key).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "only the jwt: {body}");
    let jwt = body["jwt"].as_str().unwrap();
    let (header, claims) = app.verify_with_jwks(jwt).await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["scope"], "programs:read");
    assert_eq!(claims["state"], "IC");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, ONE_HOUR_SECONDS);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(app.count_rows("issuances", "jti = $1", jti).await, 1);
    assert_eq!(api_key_issuances(&app).await, 1);

    // Clients then call APIs with the bare token: `Authorization: <jwt>`.
    let me = app
        .http
        .get(app.url("/v1/me"))
        .header(AUTHORIZATION, jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}
on_both_backends!(a_live_key_gets_a_one_hour_token_verified_by_the_jwks_and_recorded);

async fn keys_are_stored_only_as_keyed_digests(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let (id, key) = create_key(&app, &client.id, "sandbox", None).await;
    let random_part = key.strip_prefix("tmk_sandbox_").unwrap();

    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("select id, client_id, environment, digest from api_keys")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();

    assert_eq!(rows.len(), 1);
    let (stored_id, stored_client, environment, digest) = &rows[0];
    assert_eq!((stored_id, stored_client), (&id, &client.id));
    assert_eq!(environment, "sandbox");
    for column in [stored_id, stored_client, environment, digest] {
        assert!(!column.contains(random_part), "the key is stored in clear");
    }
    assert_eq!(digest.len(), 64);
    let unkeyed = format!("{:x}", Sha256::digest(key.as_bytes()));
    assert_ne!(digest, &unkeyed, "the digest is keyed, not a plain SHA-256");
}
on_both_backends!(keys_are_stored_only_as_keyed_digests);

#[tokio::test]
async fn the_token_lives_no_longer_than_the_clients_maximum() {
    let app = TestApp::spawn().await;
    let mut body = standard_client_body("EdDSA");
    body["max_ttl_minutes"] = json!(30);
    let client = app.create_client(body).await;
    let (_, key) = create_key(&app, &client.id, "sandbox", None).await;

    let body: Value = authorize(&app, &key).await.json().await.unwrap();

    let (_, claims) = app.verify_with_jwks(body["jwt"].as_str().unwrap()).await;
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 30 * 60);
}

#[tokio::test]
async fn an_unknown_key_is_401_and_issues_nothing() {
    let app = TestApp::spawn().await;
    for key in [
        UNKNOWN_KEY,
        "not-a-key",
        &"x".repeat(4000),
        "tmk_live_\u{0}%ff",
    ] {
        let message = assert_errors(authorize(&app, key).await, 401, "apiKey").await;
        assert!(!message.contains(key));
    }
    assert_eq!(api_key_issuances(&app).await, 0);
}

#[tokio::test]
async fn a_revoked_key_is_401() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let (id, key) = create_key(&app, &client.id, "sandbox", None).await;
    assert_eq!(authorize(&app, &key).await.status(), 200);

    let revoked = app
        .admin(Method::DELETE, &format!("/admin/api-keys/{id}"), None)
        .await;
    assert_eq!(revoked.status(), 204);

    assert_errors(authorize(&app, &key).await, 401, "apiKey").await;
    assert_eq!(api_key_issuances(&app).await, 1);
}

#[tokio::test]
async fn an_expired_key_is_401() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let expires_at = (app.clock.now_utc() + chrono::Duration::minutes(10)).to_rfc3339();
    let (_, key) = create_key(&app, &client.id, "sandbox", Some(&expires_at)).await;
    assert_eq!(authorize(&app, &key).await.status(), 200);

    app.clock.advance_seconds(10 * 60);

    assert_errors(authorize(&app, &key).await, 401, "apiKey").await;
}

#[tokio::test]
async fn a_key_of_a_suspended_client_is_401_until_it_is_reactivated() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let (_, key) = create_key(&app, &client.id, "sandbox", None).await;
    let path = format!("/admin/clients/{}", client.id);

    app.admin(Method::PATCH, &path, Some(json!({"status": "suspended"})))
        .await;
    assert_errors(authorize(&app, &key).await, 401, "apiKey").await;

    app.admin(Method::PATCH, &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(authorize(&app, &key).await.status(), 200);
}

#[tokio::test]
async fn a_production_key_is_401_on_a_sandbox_service() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let (_, key) = create_key(&app, &client.id, "production", None).await;
    assert!(key.starts_with("tmk_live_"), "{key}");

    assert_errors(authorize(&app, &key).await, 401, "apiKey").await;
}

#[tokio::test]
async fn a_production_service_takes_production_keys_and_refuses_sandbox_ones() {
    let app = TestApp::spawn_with(Backend::Postgres, &[("TOKENMINT_MODE", "production")]).await;
    let client = app.standard_client("RS256").await;
    let (_, sandbox_key) = create_key(&app, &client.id, "sandbox", None).await;
    let (_, live_key) = create_key(&app, &client.id, "production", None).await;

    assert_errors(authorize(&app, &sandbox_key).await, 401, "apiKey").await;
    let response = authorize(&app, &live_key).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let (header, _) = app.verify_with_jwks(body["jwt"].as_str().unwrap()).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
}

#[tokio::test]
async fn a_missing_empty_or_repeated_api_key_is_422_and_garbage_never_500() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let (_, key) = create_key(&app, &client.id, "sandbox", None).await;
    let queries = [
        String::new(),
        "?apiKey=".into(),
        "?apiKey".into(),
        "?apiKey=%20%20".into(),
        "?apikey=whatever".into(),
        "?%%%&&==;".into(),
        format!("?apiKey={key}&apiKey={key}"),
    ];
    for query in queries {
        let response = app.get(&format!("/clients/authorization{query}")).await;
        let message = assert_errors(response, 422, "apiKey").await;
        assert!(message.contains("apiKey"), "{query}: {message}");
    }
    assert_eq!(api_key_issuances(&app).await, 0);
}

#[tokio::test]
async fn a_store_outage_is_503_with_retry_after_in_the_errors_format() {
    let app = TestApp::spawn().await;
    app.state.db.pool().close().await;

    let response = authorize(&app, UNKNOWN_KEY).await;

    assert!(response.headers().contains_key(RETRY_AFTER));
    assert_errors(response, 503, "service").await;
}

#[tokio::test]
async fn a_store_that_stops_answering_is_503_in_the_errors_format() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let (_, key) = create_key(&app, &client.id, "sandbox", None).await;
    let mut lock = app.state.db.pool().begin().await.unwrap();
    sqlx::query("lock table api_keys in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();

    let response = authorize(&app, &key).await;

    lock.rollback().await.unwrap();
    assert!(response.headers().contains_key(RETRY_AFTER));
    assert_errors(response, 503, "service").await;
    assert_eq!(
        authorize(&app, &key).await.status(),
        200,
        "back once it answers"
    );
}
