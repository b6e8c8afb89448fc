//! The JWKS rules: shape, limits, usable key types, private material, and choosing a key.

use jsonwebtoken::{Algorithm as Jwt, Validation};
use serde_json::{json, Value};

use super::keys::{b64, header, jwks, TestKey};
use crate::domain::Algorithm;
use crate::remote_keys::{parse_registered_jwks, RemoteKeyError};

const MAX_KEYS: usize = 100;

fn parse(value: Value) -> Result<crate::remote_keys::JwkSet, RemoteKeyError> {
    parse_registered_jwks(&value, MAX_KEYS)
}

fn refusal(value: Value) -> String {
    parse(value).unwrap_err().to_string()
}

/// Verifies `token` with the key found for its header, as a caller would.
fn verifies(set: &crate::remote_keys::JwkSet, key: &TestKey) -> bool {
    let token = key.sign(&json!({"sub": "workload"}));
    let found = set.find(&key.header()).unwrap();
    let mut validation = Validation::new(found.jwt_algorithm());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(&token, found.decoding_key(), &validation).is_ok()
}

#[test]
fn reads_rsa_ec_and_ed25519_keys_that_verify_their_tokens() {
    let (rsa, ec, ed) = (
        TestKey::rs256("r"),
        TestKey::es256("e"),
        TestKey::ed25519("o"),
    );
    let set = parse(jwks(&[&rsa, &ec, &ed])).unwrap();
    assert_eq!(set.keys().len(), 3);
    for key in [&rsa, &ec, &ed] {
        assert!(verifies(&set, key), "{:?}", key.alg());
    }
    let other = TestKey::es256("e");
    assert!(
        !verifies(&set, &other),
        "a different key under the same kid must not verify"
    );
}

#[test]
fn reports_the_one_algorithm_each_key_may_verify() {
    let ed = TestKey::ed25519("o");
    let found = parse(jwks(&[&ed])).unwrap().find(&ed.header()).unwrap();
    assert_eq!(found.algorithm(), Algorithm::EdDSA);
    assert_eq!(found.jwt_algorithm(), Jwt::EdDSA);
    assert_eq!(found.kid(), Some("o"));
}

#[test]
fn refuses_what_is_not_a_keys_array() {
    for value in [
        json!([]),
        json!({"keys": {}}),
        json!({"kids": []}),
        json!("keys"),
    ] {
        assert_eq!(
            refusal(value),
            "the client's JWKS is not an object with a \"keys\" array"
        );
    }
}

#[test]
fn refuses_more_keys_than_the_limit_before_reading_any() {
    let key = json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"});
    assert_eq!(
        refusal(json!({"keys": vec![key; 1000]})),
        "the client's JWKS has 1000 keys; at most 100 are read"
    );
}

#[test]
fn skips_unusable_keys_and_refuses_a_set_with_none_usable() {
    let ec = TestKey::es256("e");
    let mut wrong_alg = ec.jwk();
    wrong_alg["alg"] = "ES384".into();
    let mut encryption = ec.jwk();
    encryption["use"] = "enc".into();
    let mut not_for_verifying = ec.jwk();
    not_for_verifying["key_ops"] = json!(["encrypt"]);
    let unusable = vec![
        json!({"kty": "EC", "crv": "P-384", "x": b64(&[1; 48]), "y": b64(&[1; 48])}),
        json!({"kty": "RSA", "n": b64(&[0xff; 128]), "e": "AQAB"}), // 1024 bits
        json!({"kty": "OKP", "crv": "X25519", "x": b64(&[1; 32])}),
        json!({"kty": "EC", "crv": "P-256", "x": "not base64!", "y": b64(&[1; 32])}),
        json!({"kty": "EC", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[1; 32])}),
        json!({"kty": "EC", "crv": "P-256", "kid": 7, "x": b64(&[1; 32]), "y": b64(&[1; 32])}),
        json!("not an object"),
        wrong_alg,
        encryption,
        not_for_verifying,
    ];
    assert_eq!(
        refusal(json!({"keys": unusable.clone()})),
        "the client's JWKS has no usable key (RSA RS256, EC P-256 ES256 or Ed25519 EdDSA)"
    );
    let mut with_one_usable = unusable.clone();
    with_one_usable.push(ec.jwk());
    let set = parse(json!({"keys": with_one_usable})).unwrap();
    assert_eq!((set.keys().len(), set.skipped()), (1, unusable.len()));
}

#[test]
fn accepts_explicit_algorithms_and_padded_members() {
    let (rsa, ed) = (TestKey::rs256("r"), TestKey::ed25519("o"));
    let mut rsa_jwk = rsa.jwk();
    rsa_jwk["alg"] = "RS256".into();
    rsa_jwk["use"] = "sig".into();
    rsa_jwk["e"] = "AQAB".into();
    let mut ed_jwk = ed.jwk();
    ed_jwk["alg"] = "Ed25519".into();
    ed_jwk["x"] = format!("{}=", ed_jwk["x"].as_str().unwrap()).into();
    let set = parse(json!({"keys": [rsa_jwk, ed_jwk]})).unwrap();
    assert!(verifies(&set, &rsa));
    assert!(verifies(&set, &ed));
}

#[test]
fn refuses_a_set_showing_private_or_symmetric_key_material() {
    let mut private = TestKey::es256("e").jwk();
    private["d"] = b64(&[1; 32]).into();
    let secret = json!({"kty": "oct", "k": b64(b"a shared secret")});
    for key in [private, secret] {
        assert_eq!(
            refusal(json!({"keys": [TestKey::ed25519("o").jwk(), key]})),
            "the client's JWKS contains private key material; publish only public keys"
        );
    }
}

#[test]
fn never_accepts_hmac_algorithms() {
    let set = parse(jwks(&[&TestKey::es256("e")])).unwrap();
    for alg in [Jwt::HS256, Jwt::HS384, Jwt::HS512, Jwt::PS256, Jwt::ES384] {
        let err = set.find(&header(alg, Some("e"))).unwrap_err();
        assert!(
            matches!(err, RemoteKeyError::AlgorithmNotAllowed { .. }),
            "{alg:?}"
        );
        assert!(!err.is_source_failure());
    }
    assert_eq!(
        set.find(&header(Jwt::HS256, Some("e")))
            .unwrap_err()
            .to_string(),
        "alg HS256 is not accepted; use RS256, ES256 or EdDSA"
    );
    assert!(
        crate::jws::decode_header("eyJhbGciOiJub25lIn0.e30.").is_err(),
        "alg none"
    );
}

#[test]
fn chooses_a_key_by_kid_and_checks_its_algorithm() {
    let (one, two) = (TestKey::es256("one"), TestKey::rs256("two"));
    let set = parse(jwks(&[&one, &two])).unwrap();
    assert_eq!(
        set.find(&header(Jwt::RS256, Some("two"))).unwrap().kid(),
        Some("two")
    );
    let err = set.find(&header(Jwt::ES256, Some("three"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no key with kid \"three\" in the client's JWKS"
    );
    assert!(!err.is_source_failure());
    let err = set.find(&header(Jwt::RS256, Some("one"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the key with kid \"one\" in the client's JWKS is for ES256, not RS256"
    );
    let long = "k".repeat(500);
    let err = set.find(&header(Jwt::ES256, Some(&long))).unwrap_err();
    assert!(err.to_string().len() < 120, "a long kid is shortened");
}

#[test]
fn without_a_kid_uses_the_only_key_of_the_algorithm_else_refuses() {
    let (a, b, r) = (
        TestKey::es256("a"),
        TestKey::es256("b"),
        TestKey::ed25519("r"),
    );
    let set = parse(jwks(&[&a, &b, &r])).unwrap();
    assert_eq!(
        set.find(&header(Jwt::EdDSA, None)).unwrap().kid(),
        Some("r")
    );
    assert_eq!(
        set.find(&header(Jwt::ES256, None)).unwrap_err().to_string(),
        "the token names no kid and the client's JWKS has 2 ES256 keys"
    );
    assert_eq!(
        set.find(&header(Jwt::RS256, None)).unwrap_err().to_string(),
        "the token names no kid and the client's JWKS has no RS256 key"
    );
}
