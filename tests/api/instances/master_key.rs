//! Master-key rotation while instances serve: two instances restarted with the new key and the
//! previous one, `tokenmint master-key rotate` run while both issue tokens, then a signing-key
//! rotation that reaches the other instance, an instance with only the new key, an API key made
//! before the rotation, and an instance with only the old key refused with the fingerprint.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use tokenmint::signing::MasterKey;

use super::{poll, within_deadline, Instance, PUBLIC_URL};
use crate::binary::{run_json, tokenmint, BIN};
use crate::helpers::ADMIN_TOKEN;
use crate::pg;

/// Tokens each instance issues while the rotation runs, at least.
const TOKENS_DURING_ROTATION: usize = 5;

#[tokio::test]
async fn a_master_key_rotation_while_two_instances_serve_keeps_every_key_and_credential() {
    // Arrange: a deployment on the old key, with a client and an API key.
    let url = pg::fresh_database_url().await;
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate_base64().unwrap().to_string();
    let new = MasterKey::generate_base64().unwrap().to_string();
    let new_fingerprint = MasterKey::from_base64(&new)
        .unwrap()
        .fingerprint()
        .to_owned();
    let first = Instance::start(dir.path(), "first", &url, &old).await;
    let client = first.create_client().await;
    let path = format!("/admin/clients/{}/api-keys", client.id);
    let body = json!({"environment": "production"});
    let created = first.admin(Method::POST, &path, Some(body)).await;
    let api_key = created.json::<Value>().await.unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(first);

    // Every instance restarted, one at a time, with the new key and the previous one.
    let both = [("TOKENMINT_MASTER_KEY_PREVIOUS", old.as_str())];
    let a = Instance::start_with(dir.path(), "a", &url, &new, &both).await;
    let b = Instance::start_with(dir.path(), "b", &url, &new, &both).await;
    wait_for_listeners(&url, 2).await;

    // Act: rotate while both issue tokens.
    let issuing = async {
        let mut tokens = Vec::new();
        let (path, url, old, new) = (dir.path().to_owned(), url.clone(), old.clone(), new.clone());
        let mut rotation = tokio::task::spawn_blocking(move || rotate(&path, &url, &old, &new));
        loop {
            for instance in [&a, &b] {
                let issued = instance.token_create(&client).await;
                assert_eq!(
                    issued.status(),
                    200,
                    "an instance failed during the rotation"
                );
                let issued: Value = issued.json().await.unwrap();
                tokens.push(issued["jwt"].as_str().unwrap().to_owned());
            }
            if tokens.len() >= 2 * TOKENS_DURING_ROTATION && rotation.is_finished() {
                return (tokens, (&mut rotation).await.unwrap());
            }
        }
    };
    let (tokens, rotated) = issuing.await;

    // Assert: everything re-sealed under the new key, nothing left under the old one.
    let stored = count(&url, "select count(*) from signing_keys").await + 1;
    assert_eq!(rotated["resealed"], stored, "{rotated}");
    assert_eq!(rotated["already_current"], 0);
    assert_eq!(rotated["master_key"], new_fingerprint.as_str());
    for table in ["signing_keys", "sealed_secrets"] {
        let sql = format!(
            "select count(*) from {table} where sealed_by is distinct from '{new_fingerprint}'"
        );
        assert_eq!(count(&url, &sql).await, 0, "{table}");
    }
    for token in &tokens {
        verify_with_jwks(&b, token).await;
    }
    for (issuer, verifier) in [(&a, &b), (&b, &a)] {
        let issued: Value = issuer.token_create(&client).await.json().await.unwrap();
        verify_with_jwks(verifier, issued["jwt"].as_str().unwrap()).await;
    }

    // Running it again is harmless.
    let again = rotate(dir.path(), &url, &old, &new);
    assert_eq!(again["resealed"], 0);
    assert_eq!(again["already_current"], stored);

    // A signing-key rotation after it is picked up by the other instance.
    for _ in 0..2 {
        let body = json!({"algorithm": "ES256"});
        let rotated = a
            .admin(Method::POST, "/admin/keys/rotate", Some(body))
            .await;
        assert_eq!(rotated.status(), 200);
    }
    let published = kids(&a).await;
    within_deadline("rotated keys published by B", || async {
        kids(&b).await == published
    })
    .await;
    let issued: Value = a.token_create(&client).await.json().await.unwrap();
    let token = issued["jwt"].as_str().unwrap();
    verify_with_jwks(&b, token).await;
    let me = b.http.get(b.url("/v1/me")).bearer_auth(token).send().await;
    assert_eq!(me.unwrap().status(), 200);

    // An instance with only the new key serves, and the API key made before still works.
    let c = Instance::start(dir.path(), "c", &url, &new).await;
    assert_eq!(c.token_create(&client).await.status(), 200);
    let authorize = c.http.get(c.url("/clients/authorization"));
    let authorized = authorize
        .query(&[("apiKey", &api_key)])
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.status(), 200, "API key made before the rotation");

    // An instance with only the old key refuses to start, naming the fingerprint it lacks.
    let refused = refused_start(dir.path(), &url, &old).await;
    assert!(refused.contains(&new_fingerprint), "{refused}");
    assert!(
        !refused.contains(&old) && !refused.contains(&new),
        "{refused}"
    );
}

/// `tokenmint master-key rotate` with the new key and the previous one; its JSON.
fn rotate(dir: &std::path::Path, url: &str, old: &str, new: &str) -> Value {
    run_json(
        tokenmint(dir)
            .env("TOKENMINT_MODE", "production")
            .env("TOKENMINT_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("DATABASE_URL", url)
            .env("TOKENMINT_MASTER_KEY", new)
            .env("TOKENMINT_MASTER_KEY_PREVIOUS", old)
            .args(["master-key", "rotate"]),
    )
}

/// Starts `tokenmint serve` with only `master_key`, expecting it to exit with an error; its
/// standard error.
async fn refused_start(dir: &std::path::Path, url: &str, master_key: &str) -> String {
    let mut child = std::process::Command::new(BIN)
        .env_clear()
        .env(
            "TOKENMINT_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("TOKENMINT_MODE", "production")
        .env("TOKENMINT_LISTEN", "127.0.0.1:0")
        .env("TOKENMINT_PUBLIC_URL", PUBLIC_URL)
        .env("TOKENMINT_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("DATABASE_URL", url)
        .env("TOKENMINT_MASTER_KEY", master_key)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exited = poll(Duration::from_secs(60), || {
        let status = child.try_wait().unwrap();
        async move { status.is_some() }
    })
    .await;
    if exited.is_none() {
        let _ = child.kill();
        panic!("an instance with only the old master key started");
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    String::from_utf8(output.stderr).unwrap()
}

/// One `count(*)` over the database.
async fn count(url: &str, sql: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    n
}

/// Waits until `n` change listeners are connected to the database.
async fn wait_for_listeners(url: &str, n: i64) {
    let sql = format!(
        "select count(*) from pg_stat_activity where datname = current_database() \
         and application_name = '{}'",
        tokenmint::sync::APPLICATION_NAME
    );
    let seen = poll(Duration::from_secs(30), || async {
        count(url, &sql).await == n
    })
    .await;
    assert!(seen.is_some(), "expected {n} change listeners");
}

/// The kids an instance's JWKS publishes.
async fn kids(instance: &Instance) -> Vec<String> {
    let jwks = jwks(instance).await;
    let mut kids: Vec<String> = jwks
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    kids.sort();
    kids
}

async fn jwks(instance: &Instance) -> jsonwebtoken::jwk::JwkSet {
    let response = instance
        .http
        .get(instance.url("/.well-known/jwks.json"))
        .send();
    response.await.unwrap().json().await.unwrap()
}

/// Verifies a token's signature and issuer with a key from the instance's JWKS.
async fn verify_with_jwks(instance: &Instance, token: &str) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwks = jwks(instance).await;
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[PUBLIC_URL]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).expect("verifies against the JWKS");
}
