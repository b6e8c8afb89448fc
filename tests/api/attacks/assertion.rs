//! Forged service-account assertions at `POST /v0/sign_in/token`: unsigned, HMAC-signed with the
//! registered certificate or its public key, signed by another key that the header points to,
//! and expired. Each is refused with the documented message and issues nothing.

use serde_json::{json, Value};

use super::jws::{compact, hs256};
use super::{assert_sign_in_refused, Target};
use crate::helpers::TestApp;
use crate::sign_in::keys;

const MALFORMED: &str = "Assertion is malformed";
const BAD_SIGNATURE: &str = "Assertion body does not match signature";
const EXPIRED: &str = "Assertion has expired";

#[tokio::test]
async fn forged_assertions_are_refused_with_the_documented_messages() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let account = target.service_account().await;
    let claims = target.assertion_claims(&account);
    let certificate = keys()[0].certificate();
    let public_pem =
        rcgen::KeyPair::from_pem_and_sign_algo(&keys()[0].pem, &rcgen::PKCS_RSA_SHA256)
            .unwrap()
            .public_key_pem();
    let attacker = &keys()[1];
    let attacker_jwk = json!({"kty": "RSA", "kid": "attacker", "n": "AQAB", "e": "AQAB"});
    let mut forgeries: Vec<(String, String, &str)> = Vec::new();
    for alg in ["none", "None", "HS256", "RS512", "PS256", "ES256"] {
        let header = json!({"alg": alg, "typ": "JWT"});
        forgeries.push((
            format!("alg {alg}, no signature"),
            unsigned(&header, &claims),
            MALFORMED,
        ));
    }
    for (form, secret) in [
        ("certificate PEM", certificate.clone()),
        (
            "certificate PEM without newline",
            certificate.trim_end().to_owned(),
        ),
        ("public key PEM", public_pem.clone()),
    ] {
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let token = compact(&header, &claims, |input| hs256(secret.as_bytes(), input));
        forgeries.push((format!("HS256 with the {form}"), token, MALFORMED));
    }
    for (name, value) in [
        ("kid", json!("attacker")),
        ("jku", json!("http://127.0.0.1:9/jwks.json")),
        ("x5u", json!("http://127.0.0.1:9/cert.pem")),
        ("jwk", attacker_jwk),
        ("x5c", json!([pem_body(&attacker.certificate())])),
    ] {
        let header = json!({"alg": "RS256", "typ": "JWT", name: value});
        let token = attacker.sign_with_header(&header, &claims);
        forgeries.push((format!("{name} naming another key"), token, BAD_SIGNATURE));
    }
    let mut expired = claims.clone();
    expired["exp"] = json!(claims["iat"].as_i64().unwrap());
    forgeries.push(("expired".into(), keys()[0].sign(&expired), EXPIRED));
    expired["exp"] = Value::Null;
    forgeries.push(("exp null".into(), keys()[0].sign(&expired), EXPIRED));
    expired["exp"] = json!(claims["exp"].to_string());
    forgeries.push(("exp a string".into(), keys()[0].sign(&expired), EXPIRED));

    let before = target.ledger().await;
    for (label, token, message) in &forgeries {
        let refused = assert_sign_in_refused(&target.app, token, label).await;
        assert_eq!(&refused, message, "{label}");
    }
    assert_eq!(target.ledger().await, before, "nothing issued");
}

/// The JWS of `header` and `claims` with an empty signature.
fn unsigned(header: &Value, claims: &Value) -> String {
    compact(header, claims, |_| Vec::new())
}

/// The base64 body of a PEM block, on one line (an `x5c` entry).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|line| !line.starts_with("-----"))
        .collect()
}
