//! The signing core through the service: token claims verified against the published JWKS, the
//! issuance record, key publication and rotation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

async fn every_algorithm_issues_tokens_that_verify_against_the_jwks(app: TestApp) {
    for algorithm in ["ES256", "RS256", "EdDSA"] {
        let client = app.standard_client(algorithm).await;
        let issued = app.issue_for(&client).await;
        let (header, claims) = app.verify_with_jwks(issued.token.expose()).await;
        assert_eq!(format!("{:?}", header.alg), algorithm);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(claims["iss"], app.address.as_str());
        assert_eq!(claims["aud"], app.address.as_str());
        assert_eq!(claims["sub"], client.id.as_str());
        assert_eq!(claims["client_id"], client.id.as_str());
        assert_eq!(claims["scope"], "programs:read");
        assert_eq!(claims["state"], "IC");
        assert_eq!(claims["jti"], issued.jti.as_str());
        let (iat, nbf, exp) = (&claims["iat"], &claims["nbf"], &claims["exp"]);
        assert_eq!(iat, nbf);
        assert_eq!(exp.as_i64().unwrap() - iat.as_i64().unwrap(), 3600);
    }
}
on_both_backends!(every_algorithm_issues_tokens_that_verify_against_the_jwks);

async fn every_token_leaves_an_issuance_record(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let issued = app.issue_for(&client).await;
    let row: (String, String, String, String, Option<String>, i64, i64) = sqlx::query_as(
        "select client_id, scheme, subject, scopes, state, issued_at, expires_at \
         from issuances where jti = $1",
    )
    .bind(&issued.jti)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(row.0, client.id);
    assert_eq!(row.1, "test");
    assert_eq!(row.2, client.id);
    assert_eq!(row.3, "programs:read");
    assert_eq!(row.4.as_deref(), Some("IC"));
    assert_eq!(row.6 - row.5, 3_600_000);
}
on_both_backends!(every_token_leaves_an_issuance_record);

async fn rotation_signs_with_the_prepublished_key_and_keeps_the_old_one_published(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let before = app.issue_for(&client).await;
    let old_kid = kid_of(before.token.expose());
    let keys: Vec<Value> = app
        .admin(Method::GET, "/admin/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let next_kid = keys
        .iter()
        .find(|k| k["algorithm"] == "ES256" && k["status"] == "next")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .expect("a next ES256 key exists");
    assert!(
        published_kids(&app).await.contains(&next_kid),
        "next key published before it signs"
    );

    let response = app
        .admin(
            Method::POST,
            "/admin/keys/rotate",
            Some(json!({"algorithm": "ES256"})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.unwrap();
    assert_eq!(rotated, json!([{"algorithm": "ES256", "kid": next_kid}]));

    let after = app.issue_for(&client).await;
    assert_eq!(kid_of(after.token.expose()), next_kid);
    let published = published_kids(&app).await;
    assert!(published.contains(&old_kid), "retired key stays published");
    app.verify_with_jwks(before.token.expose()).await;
    let me = app
        .http
        .get(app.url("/v1/me"))
        .bearer_auth(before.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "tokens of the retired key still work");

    let keys: Vec<Value> = app
        .admin(Method::GET, "/admin/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let old = keys.iter().find(|k| k["kid"] == old_kid.as_str()).unwrap();
    assert_eq!(old["status"], "retired");
    assert!(old["publish_until"].is_string());
    assert_eq!(
        keys.iter()
            .filter(|k| k["algorithm"] == "ES256" && k["status"] == "next")
            .count(),
        1
    );
}
on_both_backends!(rotation_signs_with_the_prepublished_key_and_keeps_the_old_one_published);

async fn the_jwks_publishes_public_parts_only_and_private_keys_are_sealed_at_rest(app: TestApp) {
    let jwks = app.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        6,
        "active and next key for each of three algorithms"
    );
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{key}");
        }
        assert_eq!(key["use"], "sig");
    }
    let sealed: Vec<(String,)> = sqlx::query_as("select private_key_sealed from signing_keys")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    for (blob,) in sealed {
        // Random ciphertext may contain "MII" anywhere; a key in clear would start with it (base64
        // DER) or carry a PEM label. tests/api/secrets_at_rest.rs searches for the keys themselves.
        assert!(!blob.starts_with("MII"), "no base64 DER key in clear");
        assert!(!blob.contains("PRIVATE KEY"), "no PEM key in clear");
    }
}
on_both_backends!(the_jwks_publishes_public_parts_only_and_private_keys_are_sealed_at_rest);

#[tokio::test]
async fn a_retired_key_is_unpublished_once_its_last_token_can_no_longer_live() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let old_kid = kid_of(app.issue_for(&client).await.token.expose());
    app.admin(
        Method::POST,
        "/admin/keys/rotate",
        Some(json!({"algorithm": "ES256"})),
    )
    .await;
    // Its last token lives the TTL cap and may be presented for a refresh that long again.
    let signing = &app.state.settings.signing;
    let last_use = signing.max_ttl_cap_minutes * 60 + signing.verify_after_expiry_seconds;
    app.clock.advance_seconds(last_use - 60);
    app.state
        .signer
        .reload(tokenmint::clock::Clock::now(&*app.clock))
        .await
        .unwrap();
    assert!(
        published_kids(&app).await.contains(&old_kid),
        "still published while an AuthToken it signed may be refreshed"
    );
    app.clock.advance_seconds(120);
    app.state
        .signer
        .reload(tokenmint::clock::Clock::now(&*app.clock))
        .await
        .unwrap();
    assert!(!published_kids(&app).await.contains(&old_kid));
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    app.jwks().await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn concurrent_issuances_are_each_recorded_before_they_return(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let issued = futures::future::join_all((0..40).map(|_| app.issue_for(&client))).await;
    let mut jtis: Vec<&str> = issued.iter().map(|t| t.jti.as_str()).collect();
    jtis.sort_unstable();
    jtis.dedup();
    assert_eq!(jtis.len(), 40);
    for jti in jtis {
        assert_eq!(app.count_rows("issuances", "jti = $1", jti).await, 1);
    }
}
on_both_backends!(concurrent_issuances_are_each_recorded_before_they_return);

#[tokio::test]
async fn no_token_is_returned_when_its_record_cannot_be_written() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let client = app.state.registry.client(&client.id).await.unwrap();
    let grant = tokenmint::signing::Grant::for_client("test", &client.id, &client.policy, 60);
    app.state.db.pool().close().await;
    let now = tokenmint::clock::Clock::now(&*app.clock);
    let outcome = app.state.signer.issue(&grant, now).await;
    assert!(
        matches!(
            outcome,
            Err(tokenmint::signing::SigningError::Unavailable(_))
        ),
        "{outcome:?}"
    );
}

/// Found by schemathesis: two rotations at once made one of them a 500 (SQLite: "database is
/// locked"; PostgreSQL: both promoted the same next key). They now queue, each rotating once.
async fn concurrent_rotations_each_rotate_once(app: TestApp) {
    const ROTATIONS: usize = 4;
    let body = || Some(json!({"algorithm": "ES256"}));
    let responses = futures::future::join_all(
        (0..ROTATIONS).map(|_| app.admin(Method::POST, "/admin/keys/rotate", body())),
    )
    .await;
    let mut kids: Vec<String> = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        let rotated: Value = response.json().await.unwrap();
        kids.push(rotated[0]["kid"].as_str().unwrap().to_owned());
    }
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), ROTATIONS, "each rotation promoted its own key");
    let keys: Value = app
        .admin(Method::GET, "/admin/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let count = |status: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["algorithm"] == "ES256" && k["status"] == status)
            .count()
    };
    assert_eq!((count("active"), count("next")), (1, 1));
    assert_eq!(count("retired"), ROTATIONS);
}
on_both_backends!(concurrent_rotations_each_rotate_once);
