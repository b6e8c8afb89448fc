//! The proof checks that need no store (1 to 5), on proofs signed here with a fresh P-256 key.

use jsonwebtoken::{EncodingKey, Header};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use serde_json::{json, Value};

use super::*;

const NOW: i64 = 1_795_860_000;
const HTU: &str = "https://auth.example.com/oauth/token";

/// A P-256 key: its signing key and its public JWK.
fn key() -> (EncodingKey, Value) {
    let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw();
    let jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    let encoding = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
    (encoding, jwk)
}

/// A compact JWS of `claims` under a header written as given (so it may hold what a library
/// would drop, such as a private key part).
fn sign(key: &EncodingKey, jwk: &Value, typ: &str, claims: &Value) -> String {
    let header = json!({"typ": typ, "alg": "ES256", "jwk": jwk});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, Algorithm::ES256).unwrap();
    format!("{input}.{signature}")
}

fn claims() -> Value {
    json!({"jti": "proof-1", "htm": "POST", "htu": HTU, "iat": NOW})
}

fn check(proof: &str, token: Option<&str>) -> Result<(String, String, i64), ProofRefusal> {
    let request = ProofRequest {
        method: "POST",
        path: "/oauth/token",
        access_token: token,
    };
    let now = DateTime::from_timestamp(NOW, 0).unwrap();
    verify(proof, &request, HTU, now, 5)
}

#[test]
fn a_fresh_proof_names_its_keys_thumbprint() {
    let (key, jwk) = key();
    let proof = sign(&key, &jwk, "dpop+jwt", &claims());
    let (jkt, jti, iat) = check(&proof, None).unwrap();
    let expected = thumbprint(&serde_json::from_value(jwk).unwrap());
    assert_eq!((jkt, jti.as_str(), iat), (expected, "proof-1", NOW));
}

#[test]
fn the_query_and_fragment_of_htu_are_ignored() {
    let (key, jwk) = key();
    let mut with_query = claims();
    with_query["htu"] = json!(format!("{HTU}?x=1#f"));
    assert!(check(&sign(&key, &jwk, "dpop+jwt", &with_query), None).is_ok());
}

#[test]
fn each_check_refuses_its_own_fault() {
    let (key, jwk) = key();
    let (_, other_jwk) = self::key();
    let with = |name: &str, value: Value| {
        let mut claims = claims();
        claims[name] = value;
        sign(&key, &jwk, "dpop+jwt", &claims)
    };
    let mut private = jwk.clone();
    private["d"] = json!("AAAA");
    let mut no_jti = claims();
    no_jti.as_object_mut().unwrap().remove("jti");
    let cases = [
        ("not a JWS", "abc".to_owned(), ProofRefusal::Malformed),
        (
            "typ",
            sign(&key, &jwk, "JWT", &claims()),
            ProofRefusal::Malformed,
        ),
        (
            "private jwk",
            sign(&key, &private, "dpop+jwt", &claims()),
            ProofRefusal::Malformed,
        ),
        (
            "other key",
            sign(&key, &other_jwk, "dpop+jwt", &claims()),
            ProofRefusal::BadSignature,
        ),
        ("htm", with("htm", json!("GET")), ProofRefusal::WrongRequest),
        (
            "htu",
            with("htu", json!("https://evil.example/oauth/token")),
            ProofRefusal::WrongRequest,
        ),
        ("old iat", with("iat", json!(NOW - 66)), ProofRefusal::Stale),
        (
            "future iat",
            with("iat", json!(NOW + 66)),
            ProofRefusal::Stale,
        ),
        (
            "no jti",
            sign(&key, &jwk, "dpop+jwt", &no_jti),
            ProofRefusal::Malformed,
        ),
    ];
    for (name, proof, refusal) in cases {
        assert_eq!(check(&proof, None).err(), Some(refusal), "{name}");
    }
    let hs256 = jsonwebtoken::encode(
        &Header {
            typ: Some("dpop+jwt".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims(),
        &EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    assert_eq!(check(&hs256, None).err(), Some(ProofRefusal::Malformed));
}

#[test]
fn a_proof_with_a_token_must_carry_its_hash() {
    let (key, jwk) = key();
    let mut bound = claims();
    bound["ath"] = json!(token_hash("the-token"));
    let proof = sign(&key, &jwk, "dpop+jwt", &bound);
    assert!(check(&proof, Some("the-token")).is_ok());
    assert_eq!(
        check(&proof, Some("another")).err(),
        Some(ProofRefusal::WrongToken)
    );
    let unbound = sign(&key, &jwk, "dpop+jwt", &claims());
    assert_eq!(
        check(&unbound, Some("the-token")).err(),
        Some(ProofRefusal::WrongToken)
    );
}
