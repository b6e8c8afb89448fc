//! The master key on SQLite (sandbox): a deployment older than stored peppers keeps the pepper
//! its API key digests were made with.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{standard_client_body, Backend, TestApp};

/// The label of the subkey that was the pepper before peppers were stored.
const LEGACY_PEPPER_LABEL: &str = "tokenmint credential digest v1";

fn hmac_sha256(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(value);
    mac.finalize().into_bytes().to_vec()
}

#[tokio::test]
async fn a_deployment_older_than_stored_peppers_keeps_its_api_key_digests() {
    // Arrange: the database as the release before stored peppers left it: signing keys sealed
    // without a fingerprint, no stored pepper.
    let app = TestApp::spawn_on(Backend::Sqlite).await;
    let pool = app.state.db.pool();
    sqlx::query("delete from sealed_secrets")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("update signing_keys set sealed_by = null")
        .execute(pool)
        .await
        .unwrap();

    // Act: the first start of this release.
    let upgraded = app.spawn_beside().await;
    let client = upgraded.create_client(standard_client_body("ES256")).await;
    let path = format!("/admin/clients/{}/api-keys", client.id);
    let body = json!({"environment": "sandbox"});
    let created: Value = upgraded
        .admin(Method::POST, &path, Some(body))
        .await
        .json()
        .await
        .unwrap();

    // Assert: the digest is the one the old release computed, with the pepper derived from the
    // master key, so the API keys it issued still match.
    let api_key = created["api_key"].as_str().unwrap();
    let master = STANDARD.decode(&app.master_key).unwrap();
    let pepper = hmac_sha256(&master, LEGACY_PEPPER_LABEL.as_bytes());
    let expected = hex::encode(hmac_sha256(&pepper, api_key.as_bytes()));
    let id = created["api_key_id"].as_str().unwrap();
    assert_eq!(
        upgraded
            .count_rows("api_keys", "digest = $1", &expected)
            .await,
        1,
        "{id}"
    );
    assert_eq!(
        upgraded
            .count_rows("sealed_secrets", "name = $1", "credential_pepper")
            .await,
        1
    );
    let authorized = upgraded
        .get_owned(format!("/clients/authorization?apiKey={api_key}"))
        .await;
    assert_eq!(authorized.status(), 200);
}
