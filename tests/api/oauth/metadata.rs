//! `GET /.well-known/oauth-authorization-server` (RFC 8414): absolute URLs of this service, the
//! issuer of its tokens, and every token route of the running mode.

use serde_json::{json, Value};

use super::{INTROSPECT, REVOKE};
use crate::helpers::{Backend, TestApp};

const METADATA: &str = "/.well-known/oauth-authorization-server";

async fn metadata(app: &TestApp) -> Value {
    let response = app.get(METADATA).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The paths of the `tokenmint_token_routes` extension member.
fn route_paths(app: &TestApp, document: &Value) -> Vec<String> {
    document["tokenmint_token_routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|route| {
            let endpoint = route["endpoint"].as_str().unwrap();
            endpoint.strip_prefix(&app.address).unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_issuer_is_the_tokens_iss_and_jwks_uri_serves_the_keys() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let token = app.issue_for(&client).await;
    let (_, claims) = app.verify_with_jwks(token.token.expose()).await;

    let document = metadata(&app).await;

    assert_eq!(document["issuer"], claims["iss"]);
    let jwks_uri = document["jwks_uri"].as_str().unwrap();
    let jwks: Value = app
        .http
        .get(jwks_uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, app.jwks().await);
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn names_the_endpoints_their_authentication_grants_and_algorithms() {
    let app = TestApp::spawn().await;

    let document = metadata(&app).await;

    let methods = json!([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt"
    ]);
    assert_eq!(document["introspection_endpoint"], app.url(INTROSPECT));
    assert_eq!(document["revocation_endpoint"], app.url(REVOKE));
    assert_eq!(
        document["introspection_endpoint_auth_methods_supported"],
        methods
    );
    assert_eq!(
        document["revocation_endpoint_auth_methods_supported"],
        methods
    );
    assert_eq!(document["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(document["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(
        document["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256", "EdDSA"])
    );
    assert_eq!(
        document["grant_types_supported"],
        json!([
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(document["response_types_supported"], json!([]));
    assert_eq!(
        document["tokenmint_signing_alg_values_supported"],
        json!(["ES256", "RS256", "EdDSA"])
    );
}

#[tokio::test]
async fn lists_every_token_route_and_each_is_a_documented_route() {
    let app = TestApp::spawn().await;
    let openapi: Value = app.get("/openapi.json").await.json().await.unwrap();

    let document = metadata(&app).await;

    let paths = route_paths(&app, &document);
    for expected in [
        "/auth/token/create",
        "/auth/jwt",
        "/clients/authorization",
        "/test-api-keys",
        "/v0/sign_in/token",
        "/auth/authtoken",
        "/auth/authtoken/refresh",
        "/oauth/token",
    ] {
        assert!(paths.contains(&expected.to_owned()), "{expected} listed");
    }
    for route in document["tokenmint_token_routes"].as_array().unwrap() {
        let path = route["endpoint"]
            .as_str()
            .unwrap()
            .strip_prefix(&app.address)
            .unwrap();
        for method in route["methods"].as_array().unwrap() {
            let method = method.as_str().unwrap().to_lowercase();
            assert!(
                openapi["paths"][path][&method].is_object(),
                "{method} {path} documented"
            );
        }
    }
}

#[tokio::test]
async fn a_production_service_does_not_list_the_sandbox_route() {
    let app = TestApp::spawn_with(Backend::Postgres, &[("TOKENMINT_MODE", "production")]).await;

    let document = metadata(&app).await;

    let paths = route_paths(&app, &document);
    assert!(!paths.contains(&"/test-api-keys".to_owned()));
    assert!(paths.contains(&"/clients/authorization".to_owned()));
    let test_keys = app
        .http
        .post(app.url("/test-api-keys"))
        .json(&json!({"phone": "+380501234567"}));
    assert_eq!(test_keys.send().await.unwrap().status(), 404);
}
