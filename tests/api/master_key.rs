//! The master key on SQLite (sandbox): a deployment older than stored peppers keeps the pepper
//! its API key digests were made with, and `tokenmint master-key` generates a key, re-seals
//! everything under it, refuses without the previous key, and can be run twice. The rotation
//! while instances serve is in `instances::master_key`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use tokenmint::signing::MasterKey;

use crate::binary::{run, run_json, tokenmint};
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

#[test]
fn master_key_rotate_reseals_everything_on_sqlite_and_refuses_without_the_previous_key() {
    // Arrange: a sandbox with its generated master key, a client and an API key.
    let dir = tempfile::tempdir().unwrap();
    let client: Value =
        run_json(tokenmint(dir.path()).args(["client", "create", "--name", "Acme"]));
    let client_id = client["client_id"].as_str().unwrap();
    run(tokenmint(dir.path()).args(["api-key", "create", client_id, "--environment", "sandbox"]));
    let old = std::fs::read_to_string(dir.path().join("data/master.key")).unwrap();
    let old = old.trim();
    let old_fingerprint = MasterKey::from_base64(old)
        .unwrap()
        .fingerprint()
        .to_owned();
    let new = run(tokenmint(dir.path()).args(["master-key", "generate"]));
    let new = new.trim();
    assert_eq!(STANDARD.decode(new).unwrap().len(), 32);
    let new_fingerprint = MasterKey::from_base64(new)
        .unwrap()
        .fingerprint()
        .to_owned();
    let with = |previous: Option<&str>, args: &[&str]| {
        let mut command = tokenmint(dir.path());
        command.env("TOKENMINT_MASTER_KEY", new).args(args);
        if let Some(previous) = previous {
            command.env("TOKENMINT_MASTER_KEY_PREVIOUS", previous);
        }
        command
    };

    // Without the previous key: refused, naming the fingerprint it lacks, and nothing changes.
    let refused = with(None, &["master-key", "rotate"]).output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(&old_fingerprint), "{stderr}");
    assert!(
        stderr.contains("TOKENMINT_MASTER_KEY_PREVIOUS is not set"),
        "{stderr}"
    );
    assert!(!stderr.contains(old) && !stderr.contains(new), "{stderr}");

    // With it: every private key and the pepper re-sealed; a second run changes nothing.
    let rotated = run_json(&mut with(Some(old), &["master-key", "rotate"]));
    let stored = rotated["resealed"].as_i64().unwrap();
    assert!(stored >= 7, "six signing keys and the pepper: {rotated}");
    assert_eq!(rotated["already_current"], 0);
    let again = run_json(&mut with(Some(old), &["master-key", "rotate"]));
    assert_eq!(
        (
            again["resealed"].as_i64(),
            again["already_current"].as_i64()
        ),
        (Some(0), Some(stored))
    );

    // Each run is in the audit trail, under the operating-system user who ran it.
    let trail = run_json(&mut with(
        None,
        &["audit", "list", "--action", "master_key.rotate"],
    ));
    let events = trail["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{trail}");
    assert_eq!(events[1]["target"], new_fingerprint.as_str());
    assert_eq!(events[1]["details"]["previous"], old_fingerprint.as_str());
    assert_eq!(events[1]["details"]["resealed"], stored);
    assert!(!trail.to_string().contains(old) && !trail.to_string().contains(new));

    // Only the new key from now on: everything is under it, and the service loads with it.
    let status = run_json(&mut with(None, &["master-key", "status"]));
    assert_eq!(
        status["sealed_by"],
        json!({ new_fingerprint.as_str(): stored })
    );
    assert_eq!(status["master_key_previous"], Value::Null);
    run(&mut with(None, &["keys", "list"]));
    let listed = run_json(&mut with(None, &["api-key", "list", client_id]));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}
