//! The numbered checks in isolation: a real RSA key, a config holding its public key, a fixed
//! `now`. The HTTP behaviour is tested in `tests/api/sign_in.rs`.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::request::TokenParams;
use super::validate::{account_id, check, grant, Accepted, Rejection};
use crate::domain::ClientId;
use crate::http::grant_types::JWT_BEARER;
use crate::registry::service_accounts::{Certificate, CertificateKey, ServiceAccount};

const AUDIENCE: &str = "https://tokens.example.com/v0/sign_in/token";
const ACCOUNT_ID: &str = "01b8ebaac5215f84640ade756b645f28";
const MAX_BYTES: usize = 16384;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn key() -> RsaKeyPair {
    RsaKeyPair::generate(KeySize::Rsa2048).unwrap()
}

fn account(key: &RsaKeyPair) -> ServiceAccount {
    ServiceAccount {
        id: ACCOUNT_ID.into(),
        client_id: ClientId::parse("c1").unwrap(),
        description: String::new(),
        scopes: vec!["programs:read".into(), "schools:read".into()],
        access_token_audience: "http://localhost:4000".into(),
        access_token_duration_seconds: 300,
        access_token_user_attributes: vec!["icn".into()],
        certificates: vec![Certificate {
            id: "crt_1".into(),
            fingerprint: "00".into(),
            subject: "CN=test".into(),
            not_before: now() - Duration::days(1),
            not_after: now() + Duration::days(1),
            created_at: now(),
            public_key: CertificateKey::from_der(key.public_key().as_ref()).unwrap(),
        }],
        created_at: now(),
        updated_at: now(),
        last_used_at: None,
    }
}

fn claims() -> Value {
    let t = now().timestamp();
    json!({"iss": ACCOUNT_ID, "sub": "user@example.com", "aud": AUDIENCE, "iat": t,
        "exp": t + 300, "scopes": ["programs:read"], "service_account_id": ACCOUNT_ID,
        "jti": "2ed8a21d207adf50eb935e32d25a41ff", "user_attributes": {"icn": "1012667122V019349"}})
}

fn sign(key: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn params(assertion: &str) -> TokenParams {
    TokenParams {
        grant_type: Some(JWT_BEARER.into()),
        assertion: Some(assertion.into()),
    }
}

/// Runs checks 1 to 13 on an assertion signed by `key` for `account(key)`.
fn outcome(key: &RsaKeyPair, claims: &Value) -> Result<Accepted, Rejection> {
    let assertion = grant(
        &params(&sign(key, &json!({"alg": "RS256"}), claims)),
        MAX_BYTES,
    )?;
    account_id(&assertion)?;
    check(&assertion, &account(key), now(), AUDIENCE)
}

fn with(claim: &str, value: Value) -> Value {
    let mut c = claims();
    c[claim] = value;
    c
}

fn without(claim: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(claim);
    c
}

#[test]
fn a_well_formed_assertion_is_accepted_with_its_claims() {
    let key = key();
    let accepted = outcome(&key, &claims()).unwrap();
    assert_eq!(accepted.subject, "user@example.com");
    assert_eq!(accepted.scopes, ["programs:read"]);
    assert_eq!(accepted.user_attributes["icn"], "1012667122V019349");
    assert_eq!(
        accepted.jti.as_deref(),
        Some("2ed8a21d207adf50eb935e32d25a41ff")
    );
    assert_eq!(accepted.expires_at, now() + Duration::seconds(300));
}

#[test]
fn the_grant_type_and_the_assertion_come_first() {
    let missing = TokenParams::default();
    assert_eq!(
        grant(&missing, MAX_BYTES).unwrap_err(),
        Rejection::GrantType
    );
    let blank = TokenParams {
        grant_type: Some(JWT_BEARER.into()),
        assertion: Some("  ".into()),
    };
    assert_eq!(
        grant(&blank, MAX_BYTES).unwrap_err(),
        Rejection::BlankAssertion
    );
}

#[test]
fn anything_but_a_compact_rs256_jws_within_the_size_limit_is_malformed() {
    let key = key();
    let good = sign(&key, &json!({"alg": "RS256"}), &claims());
    let (head, rest) = good.split_once('.').unwrap();
    let none = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
    let hs256 = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#));
    let array_payload = format!("{head}.{}.c2ln", URL_SAFE_NO_PAD.encode("[1]"));
    for bad in [
        "abc".to_owned(),
        "a.b".to_owned(),
        format!("{good}.extra"),
        format!("{head}.!!!.sig"),
        none,
        hs256,
        array_payload,
        format!("{good}{}", "A".repeat(MAX_BYTES)),
    ] {
        assert_eq!(
            grant(&params(&bad), MAX_BYTES).unwrap_err(),
            Rejection::Malformed,
            "{bad:.40}"
        );
    }
}

#[test]
fn the_config_is_named_by_service_account_id_when_present_else_by_iss() {
    let key = key();
    let lookup = |claims: &Value| {
        let assertion = grant(
            &params(&sign(&key, &json!({"alg": "RS256"}), claims)),
            MAX_BYTES,
        )
        .unwrap();
        account_id(&assertion).map(str::to_owned)
    };
    assert_eq!(lookup(&claims()).unwrap(), ACCOUNT_ID);
    let by_iss = without("service_account_id");
    assert_eq!(lookup(&by_iss).unwrap(), ACCOUNT_ID);
    // CONTRACT.md E.4: a present but empty service_account_id is not replaced by iss.
    let empty = with("service_account_id", json!(""));
    assert_eq!(lookup(&empty).unwrap_err(), Rejection::NoClientIdentifier);
    let mut neither = without("service_account_id");
    neither["iss"] = json!(null);
    assert_eq!(lookup(&neither).unwrap_err(), Rejection::NoClientIdentifier);
}

#[test]
fn an_assertion_with_a_critical_header_extension_is_malformed() {
    let key = key();
    let header = json!({"alg": "RS256", "crit": ["exp"], "exp": 1});
    let refused = grant(&params(&sign(&key, &header, &claims())), MAX_BYTES).unwrap_err();
    assert_eq!(refused, Rejection::Malformed);
}

#[test]
fn only_a_valid_certificate_of_the_config_can_verify_the_signature() {
    let (key, other) = (key(), key());
    let mut expired = account(&key);
    expired.certificates[0].not_after = now() - Duration::seconds(1);
    let assertion = grant(
        &params(&sign(&key, &json!({"alg": "RS256"}), &claims())),
        MAX_BYTES,
    )
    .unwrap();
    assert_eq!(
        check(&assertion, &expired, now(), AUDIENCE).unwrap_err(),
        Rejection::CertificatesExpired
    );
    assert_eq!(
        check(&assertion, &account(&other), now(), AUDIENCE).unwrap_err(),
        Rejection::BadSignature
    );
    let mut rotated = account(&other);
    rotated.certificates.extend(account(&key).certificates);
    assert!(check(&assertion, &rotated, now(), AUDIENCE).is_ok());
}

#[test]
fn time_claims_are_strict_json_numbers_without_leeway() {
    let key = key();
    let t = now().timestamp();
    for exp in [
        json!(t),
        json!(t - 1),
        json!(null),
        json!((t + 300).to_string()),
    ] {
        assert_eq!(
            outcome(&key, &with("exp", exp.clone())).unwrap_err(),
            Rejection::Expired,
            "{exp}"
        );
    }
    assert!(outcome(&key, &with("exp", json!(t as f64 + 0.5))).is_ok());
    assert_eq!(
        outcome(&key, &with("nbf", json!(t + 1))).unwrap_err(),
        Rejection::Malformed
    );
    for iat in [json!(t + 1), json!("0"), json!(null)] {
        assert_eq!(
            outcome(&key, &with("iat", iat.clone())).unwrap_err(),
            Rejection::InvalidIat,
            "{iat}"
        );
    }
}

#[test]
fn the_audience_message_describes_what_was_received() {
    let key = key();
    let message = |aud: Option<Value>| {
        let claims = aud.map_or_else(|| without("aud"), |aud| with("aud", aud));
        outcome(&key, &claims).unwrap_err().to_string()
    };
    let expected = format!("Invalid audience. Expected [\"{AUDIENCE}\"], received");
    assert_eq!(message(Some(json!("x"))), format!("{expected} x"));
    assert_eq!(
        message(Some(json!(["a", "b"]))),
        format!("{expected} [\"a\", \"b\"]")
    );
    assert_eq!(message(None), format!("{expected} <none>"));
    assert_eq!(message(Some(json!(null))), format!("{expected} <none>"));
    assert!(outcome(&key, &with("aud", json!(["other", AUDIENCE]))).is_ok());
}

#[test]
fn required_claims_then_subject_issuer_scopes_and_attributes() {
    let key = key();
    let refused = |claims: Value| outcome(&key, &claims).unwrap_err();
    assert_eq!(refused(without("iat")), Rejection::MissingClaim("iat"));
    assert_eq!(refused(without("sub")), Rejection::MissingClaim("sub"));
    assert_eq!(refused(without("exp")), Rejection::MissingClaim("exp"));
    assert_eq!(refused(without("iss")), Rejection::MissingClaim("iss"));
    for sub in [json!(null), json!(""), json!(7)] {
        assert_eq!(refused(with("sub", sub)), Rejection::InvalidSubject);
    }
    assert_eq!(
        refused(with("iss", json!("someone"))),
        Rejection::InvalidIssuer
    );
    assert!(outcome(&key, &with("iss", json!("http://localhost:4000"))).is_ok());
    for scopes in [json!(["admin"]), json!([1]), json!({}), json!([])] {
        assert_eq!(refused(with("scopes", scopes)), Rejection::InvalidScopes);
    }
    assert_eq!(refused(without("scopes")), Rejection::InvalidScopes);
    let lone = outcome(&key, &with("scopes", json!("schools:read"))).unwrap();
    assert_eq!(lone.scopes, ["schools:read"]);
    for attributes in [json!("icn"), json!({"ssn": "1"})] {
        assert_eq!(
            refused(with("user_attributes", attributes)),
            Rejection::InvalidUserAttributes
        );
    }
    let none = outcome(&key, &without("user_attributes")).unwrap();
    assert!(none.user_attributes.is_empty());
}
