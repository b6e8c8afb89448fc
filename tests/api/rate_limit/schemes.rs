//! The failure budgets on the routes of schemes C (API keys), D (`generate` and the portal's HTTP
//! Basic), E (service-account assertions) and the OAuth routes' client authentication: each
//! answers 429 with `Retry-After` in its own error format.

use reqwest::Method;
use serde_json::json;

use super::{
    issuances_of, spawn_limited, too_many, ADDRESS_BURST, IDENTIFIER_BURST,
    IDENTIFIER_RETRY_SECONDS, WRONG_SECRET,
};
use crate::api_key::{authorize, create_key};
use crate::authtoken::{approved_client, credential, generate, portal};
use crate::helpers::TestClient;
use crate::oauth::{call, token_of, Auth, INTROSPECT, REVOKE};
use crate::sign_in::{assert_refused, keys, Fixture};

/// A well-formed API key that no client has.
const UNKNOWN_KEY: &str = "tmk_sandbox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[tokio::test]
async fn a_failing_api_key_and_then_its_address_are_refused_in_the_errors_format() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    let (_, good_key) = create_key(&app, &client.id, "sandbox", None).await;
    for _ in 0..IDENTIFIER_BURST {
        assert_eq!(authorize(&app, UNKNOWN_KEY).await.status(), 401);
    }
    let (retry_after, body) = too_many(authorize(&app, UNKNOWN_KEY).await).await;
    assert_eq!(retry_after, IDENTIFIER_RETRY_SECONDS);
    let message = body["errors"]["apiKey"]
        .as_str()
        .expect("{errors: {apiKey}}");
    assert!(message.contains("Retry-After"), "{body}");
    assert_eq!(authorize(&app, &good_key).await.status(), 200);

    for n in IDENTIFIER_BURST..ADDRESS_BURST {
        let other_unknown = format!("{UNKNOWN_KEY}{n}");
        assert_eq!(authorize(&app, &other_unknown).await.status(), 401);
    }
    let (retry_after, _) = too_many(authorize(&app, &good_key).await).await;

    assert_eq!(retry_after, 1);
    assert_eq!(issuances_of(&app, &client.id).await, 1);
    app.clock.advance_seconds(1);
    assert_eq!(authorize(&app, &good_key).await.status(), 200);
}

#[tokio::test]
async fn generate_refuses_a_failing_credential_key_even_with_the_right_secret() {
    let app = spawn_limited().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    for _ in 0..IDENTIFIER_BURST {
        assert_eq!(generate(&app, &key, WRONG_SECRET).await.status(), 401);
    }

    let (retry_after, body) = too_many(generate(&app, &key, &secret).await).await;

    assert_eq!(retry_after, IDENTIFIER_RETRY_SECONDS);
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(issuances_of(&app, &client.id).await, 0);
    app.clock.advance_seconds(IDENTIFIER_RETRY_SECONDS as i64);
    assert_eq!(generate(&app, &key, &secret).await.status(), 200);
}

#[tokio::test]
async fn the_portal_refuses_a_failing_client_id_even_with_the_right_secret() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    let impostor = TestClient {
        secret: WRONG_SECRET.to_owned(),
        ..client.clone()
    };
    for _ in 0..IDENTIFIER_BURST {
        let response = portal(&app, &impostor, Method::GET, "/v1/credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }

    let response = portal(&app, &client, Method::GET, "/v1/credentials")
        .send()
        .await
        .unwrap();

    let (retry_after, body) = too_many(response).await;
    assert_eq!(retry_after, IDENTIFIER_RETRY_SECONDS);
    assert_eq!(body["error"], "too_many_requests");
}

#[tokio::test]
async fn a_service_account_with_too_many_bad_signatures_is_refused_in_the_sign_in_format() {
    let fixture = Fixture::arrange(spawn_limited().await).await;
    for _ in 0..IDENTIFIER_BURST {
        let forged = keys()[1].sign(&fixture.claims());
        let response = fixture.exchange_assertion(&forged).await;
        assert_refused(response, "Assertion body does not match signature").await;
    }

    let (retry_after, body) = too_many(fixture.exchange(&fixture.claims()).await).await;

    assert_eq!(retry_after, IDENTIFIER_RETRY_SECONDS);
    assert_eq!(
        body,
        json!({"errors": "Too many failed attempts, retry later"})
    );
    assert_eq!(fixture.issuance_count().await, 0);
    fixture
        .app
        .clock
        .advance_seconds(IDENTIFIER_RETRY_SECONDS as i64);
    assert_eq!(fixture.exchange(&fixture.claims()).await.status(), 200);
}

#[tokio::test]
async fn unknown_service_accounts_spend_the_address_budget_but_invalid_claims_do_not() {
    let fixture = Fixture::arrange(spawn_limited().await).await;
    let expired = fixture.claims_with("exp", json!(0));
    for _ in 0..(ADDRESS_BURST * 2) {
        let response = fixture.exchange(&expired).await;
        assert_refused(response, "Assertion has expired").await;
    }
    assert_eq!(fixture.exchange(&fixture.claims()).await.status(), 200);

    for n in 0..ADDRESS_BURST {
        let unknown = format!("{:032x}", n + 1);
        let claims = fixture.claims_with("service_account_id", json!(unknown));
        let response = fixture.exchange(&claims).await;
        assert_refused(response, "Service account config not found").await;
    }

    let (retry_after, body) = too_many(fixture.exchange(&fixture.claims()).await).await;
    assert_eq!(retry_after, 1);
    assert_eq!(body["errors"], "Too many failed attempts, retry later");
}

#[tokio::test]
async fn introspection_and_revocation_refuse_a_failing_client_id_in_the_oauth_format() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    let token = token_of(&app, &client).await;
    let impostor = TestClient {
        secret: WRONG_SECRET.to_owned(),
        ..client.clone()
    };
    for auth in [Auth::Basic, Auth::Post, Auth::Basic] {
        let response = call(&app, INTROSPECT, &impostor, auth, &token).await;
        assert_eq!(response.status(), 401);
    }

    let response = call(&app, INTROSPECT, &client, Auth::Post, &token).await;

    let (retry_after, body) = too_many(response).await;
    assert_eq!(retry_after, IDENTIFIER_RETRY_SECONDS);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"].is_string());
    let (_, body) = too_many(call(&app, REVOKE, &client, Auth::Basic, &token).await).await;
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(introspect_as_other(&app, &token).await, 200);
}

/// Another client of the same address still authenticates (only the client id is limited).
async fn introspect_as_other(app: &crate::helpers::TestApp, token: &str) -> u16 {
    let other = app.standard_client("ES256").await;
    let response = call(app, INTROSPECT, &other, Auth::Basic, token).await;
    response.status().as_u16()
}
