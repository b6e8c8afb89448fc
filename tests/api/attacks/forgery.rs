//! Forged access tokens: unsigned, HMAC-signed with the service's own public keys, signed by an
//! attacker's key under an unknown `kid` or with headers pointing at the attacker's key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::jws::{compact, hs256, public_key_secrets, EcKey};
use super::Target;
use crate::helpers::TestApp;

#[tokio::test]
async fn unsigned_tokens_are_refused_everywhere() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let mut unsigned = header.clone();
        unsigned["alg"] = json!(alg);
        let token = compact(&unsigned, &claims, |_| Vec::new());
        target
            .assert_refused_everywhere(&token, &format!("alg {alg:?}"))
            .await;
        // The genuine signature kept on an `alg: none` header.
        let signature = target.genuine.rsplit('.').next().unwrap();
        let (input, _) = token.rsplit_once('.').unwrap();
        let with_signature = format!("{input}.{signature}");
        target
            .assert_refused_everywhere(&with_signature, &format!("alg {alg:?}, signature kept"))
            .await;
    }
    let no_alg = compact(
        &json!({"typ": "at+jwt", "kid": header["kid"]}),
        &claims,
        |_| Vec::new(),
    );
    target.assert_refused_everywhere(&no_alg, "no alg").await;
}

#[tokio::test]
async fn hs256_signed_with_a_published_public_key_is_refused_everywhere() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    let jwks = target.app.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert!(keys.len() >= 6, "active and next keys of three algorithms");
    for jwk in keys {
        let kid = jwk["kid"].as_str().unwrap();
        for (form, secret) in public_key_secrets(jwk) {
            for alg in ["HS256", "HS384", "HS512"] {
                let mut forged = header.clone();
                forged["alg"] = json!(alg);
                forged["kid"] = json!(kid);
                // HS384/HS512 get an HS256 MAC: refused before the MAC is even looked at.
                let token = compact(&forged, &claims, |input| hs256(&secret, input));
                let label = format!("{alg} with the {form} of {} key {kid}", jwk["alg"]);
                target.assert_refused_everywhere(&token, &label).await;
            }
        }
    }
}

#[tokio::test]
async fn a_token_under_an_unknown_or_foreign_kid_is_refused_everywhere() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    let attacker = EcKey::generate();
    let kids = [
        json!("attacker-key"),
        json!(""),
        json!("../../../../../../dev/null"),
        json!("' or '1'='1"),
        json!("http://attacker.example/jwks.json#key"),
        json!(42),
        Value::Null,
    ];
    for kid in kids {
        let mut forged = header.clone();
        forged["kid"] = kid.clone();
        let token = compact(&forged, &claims, |input| attacker.sign(input));
        target
            .assert_refused_everywhere(&token, &format!("kid {kid}"))
            .await;
    }
    let mut without_kid = header.clone();
    without_kid.as_object_mut().unwrap().remove("kid");
    let token = compact(&without_kid, &claims, |input| attacker.sign(input));
    target.assert_refused_everywhere(&token, "no kid").await;
    // The right kid, the wrong key: the signature decides.
    let token = compact(&header, &claims, |input| attacker.sign(input));
    target
        .assert_refused_everywhere(&token, "our kid, attacker's signature")
        .await;
}

#[tokio::test]
async fn key_locating_headers_pointing_at_an_attackers_key_are_ignored() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    let attacker = EcKey::generate();
    let (server, fetches) = attacker_server().await;
    let attacker_jwk = attacker.public_jwk("attacker-key");
    let headers = [
        ("jku", json!(format!("{server}/jwks.json"))),
        ("x5u", json!(format!("{server}/cert.pem"))),
        ("jwk", attacker_jwk.clone()),
        ("x5c", json!([STANDARD.encode(attacker.certificate_der())])),
    ];
    for (name, value) in headers {
        for kid in [header["kid"].clone(), json!("attacker-key")] {
            let mut forged = header.clone();
            forged[name] = value.clone();
            forged["kid"] = kid.clone();
            let token = compact(&forged, &claims, |input| attacker.sign(input));
            target
                .assert_refused_everywhere(&token, &format!("{name} with kid {kid}"))
                .await;
        }
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        0,
        "the service never fetches a key from a URL a token names"
    );
}

#[tokio::test]
async fn claims_changed_under_a_genuine_signature_are_refused_everywhere() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    let signature = target.genuine.rsplit('.').next().unwrap().to_owned();
    let changes = [
        ("scope", json!("reports:read reports:export admin")),
        ("exp", json!(claims["exp"].as_i64().unwrap() + 86_400)),
        ("client_id", json!("someone-else")),
        ("iss", json!("https://attacker.example")),
    ];
    for (claim, value) in changes {
        let mut tampered = claims.clone();
        tampered[claim] = value;
        let token = compact(&header, &tampered, |_| {
            URL_SAFE_NO_PAD.decode(&signature).unwrap()
        });
        target
            .assert_refused_everywhere(&token, &format!("{claim} changed"))
            .await;
    }
}

/// A listener standing in for the attacker's key server: it counts connections and answers
/// none, so any attempt to fetch a key shows.
async fn attacker_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(connection);
        }
    });
    (address, fetches)
}
