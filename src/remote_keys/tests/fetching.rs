//! Fetching over HTTP from a local publisher: discovery, the limits, and the URL rules at fetch
//! time.

use std::time::Duration;

use jsonwebtoken::Algorithm as Jwt;
use serde_json::json;

use super::keys::{header, jwks, TestKey};
use super::server::TestServer;
use super::{client_source, issuer_source, sandbox, t0, with_resolver, PATIENCE};
use crate::remote_keys::{
    AddressClass, KeySource, Publisher, RemoteKeyError, RemoteKeySettings, RemoteKeys, UrlField,
};

/// Looks up `kid` (ES256) in `source` with fresh settings; the error, for the refusal tests.
async fn refusal(settings: RemoteKeySettings, source: &KeySource) -> RemoteKeyError {
    let keys = RemoteKeys::new(settings);
    let header = header(Jwt::ES256, Some("k"));
    let lookup = keys.find(source, &header, t0());
    tokio::time::timeout(PATIENCE, lookup)
        .await
        .unwrap()
        .unwrap_err()
}

#[tokio::test]
async fn finds_a_clients_key_at_its_jwks_uri_and_verifies_with_it() {
    let key = TestKey::es256("k1");
    let server = TestServer::start(jwks(&[&key])).await;
    let keys = RemoteKeys::new(sandbox());
    let found = keys
        .find(&client_source(&server.url("/jwks")), &key.header(), t0())
        .await
        .unwrap();
    let token = key.sign(&json!({"sub": "client"}));
    let mut validation = jsonwebtoken::Validation::new(found.jwt_algorithm());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<serde_json::Value>(&token, found.decoding_key(), &validation).unwrap();
    assert_eq!(server.hits("/jwks"), 1);
}

#[tokio::test]
async fn finds_an_issuers_keys_through_its_discovery_document() {
    let key = TestKey::rs256("gh");
    let server = TestServer::start(jwks(&[&key])).await;
    let keys = RemoteKeys::new(sandbox());
    let source = issuer_source(&server.base, None);
    let found = keys.find(&source, &key.header(), t0()).await.unwrap();
    assert_eq!(found.kid(), Some("gh"));
    assert_eq!(server.hits("/.well-known/openid-configuration"), 1);
    assert_eq!(server.hits("/jwks"), 1);
}

#[tokio::test]
async fn uses_an_issuers_explicit_jwks_uri_without_discovery() {
    let key = TestKey::ed25519("k8s");
    let server = TestServer::start(jwks(&[&key])).await;
    let keys = RemoteKeys::new(sandbox());
    let source = issuer_source(&server.base, Some(&server.url("/jwks")));
    keys.find(&source, &key.header(), t0()).await.unwrap();
    assert_eq!(server.hits("/.well-known/openid-configuration"), 0);
}

#[tokio::test]
async fn refuses_a_discovery_document_naming_another_issuer() {
    let server = TestServer::start(jwks(&[&TestKey::es256("k")])).await;
    let err = refusal(sandbox(), &issuer_source(&server.url("/mismatch"), None)).await;
    assert_eq!(err, RemoteKeyError::IssuerMismatch);
    assert!(err.is_source_failure());
    assert_eq!(server.hits("/jwks"), 0);
}

#[tokio::test]
async fn refuses_a_discovered_jwks_uri_at_a_private_address() {
    let server = TestServer::start(jwks(&[&TestKey::es256("k")])).await;
    let settings = RemoteKeySettings {
        refuse_private_addresses: true,
        ..sandbox()
    };
    let err = refusal(settings, &issuer_source(&server.url("/private"), None)).await;
    assert_eq!(
        err.to_string(),
        "the jwks_uri in the issuer's discovery document points at a private address (private network)"
    );
}

#[tokio::test]
async fn refuses_a_body_over_the_cap_whether_or_not_its_length_is_announced() {
    let server = TestServer::start(json!({})).await;
    for path in ["/big", "/big-chunked"] {
        let err = refusal(sandbox(), &client_source(&server.url(path))).await;
        assert_eq!(
            err.to_string(),
            "the client's JWKS is larger than 64 KB",
            "{path}"
        );
        assert!(err.is_source_failure());
    }
}

#[tokio::test]
async fn refuses_a_jwks_that_is_not_json() {
    let server = TestServer::start(json!({})).await;
    let err = refusal(sandbox(), &client_source(&server.url("/not-json"))).await;
    assert_eq!(err.to_string(), "the client's JWKS is not JSON");
}

#[tokio::test]
async fn refuses_a_jwks_of_a_thousand_keys() {
    let server = TestServer::start(json!({})).await;
    let source = issuer_source(&server.base, Some(&server.url("/thousand")));
    let err = refusal(sandbox(), &source).await;
    assert_eq!(
        err.to_string(),
        "the issuer's JWKS has 1000 keys; at most 100 are read"
    );
}

#[tokio::test]
async fn gives_up_on_a_source_that_does_not_answer_in_time() {
    let server = TestServer::start(json!({})).await;
    let settings = RemoteKeySettings {
        fetch_timeout: Duration::from_millis(200),
        ..sandbox()
    };
    let err = refusal(settings, &client_source(&server.url("/slow"))).await;
    assert_eq!(
        err,
        RemoteKeyError::Timeout {
            publisher: Publisher::Client,
            after: Duration::from_millis(200)
        }
    );
    assert_eq!(
        err.to_string(),
        "fetching the client's JWKS timed out after 200 ms"
    );
}

#[tokio::test]
async fn does_not_follow_a_redirect() {
    let server = TestServer::start(jwks(&[&TestKey::es256("k")])).await;
    let err = refusal(sandbox(), &client_source(&server.url("/redirect"))).await;
    assert!(matches!(err, RemoteKeyError::Redirected { .. }), "{err}");
    assert!(err.is_source_failure());
    assert_eq!(server.hits("/jwks"), 0);
}

#[tokio::test]
async fn reports_an_error_status_without_the_body() {
    let server = TestServer::start(json!({})).await;
    let err = refusal(sandbox(), &client_source(&server.url("/missing"))).await;
    assert_eq!(
        err.to_string(),
        format!(
            "fetching the client's JWKS from {} failed with HTTP status 404",
            server.url("/missing")
        )
    );
}

#[tokio::test]
async fn refuses_a_name_that_resolves_to_a_private_address_before_connecting() {
    let source = KeySource::ClientJwksUri("https://keys.example.com/jwks".parse().unwrap());
    let header = header(Jwt::ES256, Some("k"));
    for addresses in [
        &["10.0.0.7"][..],
        &["140.82.112.3", "fd00::7"],
        &["::ffff:127.0.0.1"],
    ] {
        let keys = with_resolver(
            RemoteKeySettings::default(),
            &[("keys.example.com", addresses)],
        );
        let lookup = keys.find(&source, &header, t0());
        let err = tokio::time::timeout(PATIENCE, lookup)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                err,
                RemoteKeyError::ResolvesToPrivate {
                    field: UrlField::JwksUri,
                    ..
                }
            ),
            "{addresses:?}: {err}"
        );
    }
    let keys = with_resolver(
        RemoteKeySettings::default(),
        &[("keys.example.com", &["10.0.0.7"])],
    );
    let err = keys.find(&source, &header, t0()).await.unwrap_err();
    assert_eq!(
        err,
        RemoteKeyError::ResolvesToPrivate {
            field: UrlField::JwksUri,
            class: AddressClass::Private
        }
    );
}

#[tokio::test]
async fn refuses_a_private_address_literal_at_fetch_time_too() {
    let source = KeySource::ClientJwksUri("https://169.254.169.254/jwks".parse().unwrap());
    let err = refusal(RemoteKeySettings::default(), &source).await;
    assert_eq!(
        err.to_string(),
        "jwks_uri points at a private address (link-local)"
    );
}

#[tokio::test]
async fn connects_to_the_address_it_checked_not_to_a_fresh_lookup() {
    // The publisher listens on 127.0.0.2 only; the name resolves there only through the
    // checked table, so a second, unchecked lookup by the HTTP client would not find it.
    let key = TestKey::es256("k");
    let server = TestServer::start_on("127.0.0.2:0".parse().unwrap(), jwks(&[&key])).await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let keys = with_resolver(sandbox(), &[("keys.localhost", &["127.0.0.2"])]);
    let url = format!("http://keys.localhost:{port}/jwks");
    let (source, header) = (client_source(&url), key.header());
    let lookup = keys.find(&source, &header, t0());
    tokio::time::timeout(PATIENCE, lookup)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.hits("/jwks"), 1);
}
