//! `POST /oauth/introspect`: own tokens active with their claims, everything else inactive, and
//! tokens of every scheme introspected by their owner.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::{inactive, introspect, resource_server, revoke, token_of};
use crate::authtoken::{approved_client, auth_token, credential, generate, GROUP_SCOPES};
use crate::helpers::TestApp;
use crate::sign_in::{access_token, Fixture, ACCESS_TOKEN_AUDIENCE, SUBJECT};

/// The members an active answer may have (RFC 7662 §2.2).
const MEMBERS: [&str; 12] = [
    "active",
    "scope",
    "client_id",
    "username",
    "token_type",
    "exp",
    "iat",
    "nbf",
    "sub",
    "aud",
    "iss",
    "jti",
];

/// Asserts an active answer carries exactly the token's own claims under the RFC's names.
async fn assert_active_with_claims(app: &TestApp, answer: &Value, token: &str) {
    let (_, claims) = app.verify_with_jwks(token).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    for name in [
        "scope",
        "client_id",
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "nbf",
        "jti",
    ] {
        assert_eq!(answer[name], claims[name], "{name}");
    }
    for name in answer.as_object().unwrap().keys() {
        assert!(MEMBERS.contains(&name.as_str()), "unexpected member {name}");
    }
}

/// The token with a widened scope in its payload and the original signature.
fn tampered(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("programs:read schools:read");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

#[tokio::test]
async fn a_client_sees_its_own_active_token_with_its_claims() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("EdDSA").await;
    let token = token_of(&app, &client).await;

    let answer = introspect(&app, &client, &token).await;

    assert_active_with_claims(&app, &answer, &token).await;
    assert_eq!(answer["client_id"], client.id.as_str());
    assert_eq!(answer["scope"], "programs:read");
    assert!(
        answer.get("username").is_none(),
        "no user name for a client token"
    );
}

#[tokio::test]
async fn another_clients_token_is_inactive_unless_the_caller_has_the_introspection_right() {
    let app = TestApp::spawn().await;
    let owner = app.standard_client("ES256").await;
    let stranger = app.standard_client("ES256").await;
    let server = resource_server(&app).await;
    let token = token_of(&app, &owner).await;

    assert_eq!(introspect(&app, &stranger, &token).await, inactive());
    let seen_by_server = introspect(&app, &server, &token).await;

    assert_active_with_claims(&app, &seen_by_server, &token).await;
    assert_eq!(seen_by_server["client_id"], owner.id.as_str());
}

#[tokio::test]
async fn garbage_tampered_expired_and_revoked_tokens_are_inactive() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let server = resource_server(&app).await;
    let token = token_of(&app, &client).await;
    let tampered = tampered(&token);
    let revoked = token_of(&app, &client).await;
    assert_eq!(revoke(&app, &client, &revoked).await, 200);

    for (what, presented) in [
        ("garbage", "not-a-token"),
        ("three dots", "a.b.c"),
        ("tampered", tampered.as_str()),
        ("revoked", revoked.as_str()),
    ] {
        assert_eq!(
            introspect(&app, &client, presented).await,
            inactive(),
            "{what}"
        );
        assert_eq!(
            introspect(&app, &server, presented).await,
            inactive(),
            "{what}"
        );
    }
    assert_eq!(introspect(&app, &client, &token).await["active"], true);

    app.clock.advance_seconds(3600 + 10);
    assert_eq!(
        introspect(&app, &client, &token).await,
        inactive(),
        "expired"
    );
}

#[tokio::test]
async fn a_service_account_token_is_active_for_its_owning_client_only() {
    let fixture = Fixture::arrange(TestApp::spawn().await).await;
    let app = &fixture.app;
    let token = access_token(fixture.exchange(&fixture.claims()).await).await;
    let stranger = app.standard_client("ES256").await;

    let answer = introspect(app, &fixture.client, &token).await;

    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], fixture.client.id.as_str());
    assert_eq!(answer["sub"], SUBJECT);
    assert_eq!(answer["aud"], ACCESS_TOKEN_AUDIENCE);
    assert_eq!(answer["scope"], "programs:read");
    assert_eq!(introspect(app, &stranger, &token).await, inactive());
}

#[tokio::test]
async fn an_authtoken_is_active_for_its_owning_client_with_the_credential_user_name() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let token = auth_token(generate(&app, &key, &secret).await).await;
    let stranger = app.standard_client("ES256").await;

    let answer = introspect(&app, &client, &token).await;

    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], client.id.as_str());
    assert_eq!(answer["sub"], key.as_str());
    assert_eq!(answer["username"], "careers-site");
    assert_eq!(answer["scope"], GROUP_SCOPES.join(" "));
    assert_eq!(introspect(&app, &stranger, &token).await, inactive());
}
