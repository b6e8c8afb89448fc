//! Verification of the access tokens this service issued: the one place where the accepted
//! algorithm, issuer, type and time checks are set.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, Validation};
use serde_json::{Map, Value};

use super::error::TokenError;
use super::keys::KeySet;
use super::keys::ACCESS_TOKEN_TYP;

/// Longest token accepted; anything larger is refused before parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verifies an access token and returns its claims.
///
/// Security choices, each deliberate:
/// - the key is found by `kid` among *our published keys only* (`jku`, `x5u`, `jwk` headers are
///   ignored), and the header's `alg` must equal that key's algorithm, which rules out `none`
///   and HMAC-with-a-public-key confusion;
/// - a header with `crit` is refused (RFC 7515 §4.1.11: no extension is understood here);
/// - `typ` must be `at+jwt` (RFC 9068 §4), so an assertion or ID token cannot pass for one;
/// - `iss` must be ours; `aud` is not checked because this verifies for the issuer itself, and
///   schemes issue tokens for several audiences;
/// - `exp`/`nbf` are checked against the injected clock with `leeway_seconds`, not the system
///   clock, so time stays an input.
pub fn verify(
    keys: &KeySet,
    issuer: &str,
    token: &str,
    now: DateTime<Utc>,
    leeway_seconds: i64,
) -> Result<Map<String, Value>, TokenError> {
    verify_allowing_expiry(keys, issuer, token, now, leeway_seconds, 0)
}

/// [`verify`], except that `exp` may have passed up to `grace_seconds` ago (or the leeway, if
/// longer). Only for refresh routes, which renew an expired token within a documented window;
/// every other check (key, `alg`, `typ`, signature, `iss`, `nbf`) is the same.
pub fn verify_allowing_expiry(
    keys: &KeySet,
    issuer: &str,
    token: &str,
    now: DateTime<Utc>,
    leeway_seconds: i64,
    grace_seconds: i64,
) -> Result<Map<String, Value>, TokenError> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    // RFC 7515 §4.1.11: no `crit` (this service signs none, so one is not our token).
    let header = crate::jws::decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(TokenError::WrongType);
    }
    let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
    let key = keys.verifying_key(kid).ok_or(TokenError::UnknownKey)?;
    let expected: jsonwebtoken::Algorithm = key
        .algorithm
        .as_str()
        .parse()
        .map_err(|_| TokenError::UnknownKey)?;
    if header.alg != expected {
        return Err(TokenError::UnknownKey);
    }
    let mut validation = Validation::new(expected);
    validation.set_issuer(&[issuer]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "iat"]);
    let claims = decode::<Map<String, Value>>(token, &key.decoding, &validation)
        .map_err(|e| TokenError::Invalid(e.to_string()))?
        .claims;
    let now = now.timestamp();
    let seconds = |name: &str| claims.get(name).and_then(Value::as_i64);
    let exp = seconds("exp").ok_or_else(|| TokenError::Invalid("exp is not a number".into()))?;
    if exp.saturating_add(leeway_seconds.max(grace_seconds)) <= now {
        return Err(TokenError::Expired);
    }
    if seconds("nbf").is_some_and(|nbf| nbf - leeway_seconds > now) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;
    use crate::domain::Algorithm;
    use crate::signing::keys::KeyMaterial;
    use crate::signing::token::{encode, AccessClaims};

    const ISSUER: &str = "https://issuer.example";

    fn token_expiring_at(exp: DateTime<Utc>) -> (KeySet, String) {
        let key = KeyMaterial::generate(Algorithm::ES256).unwrap();
        let published = vec![(
            key.kid().to_owned(),
            Algorithm::ES256,
            key.public_jwk().clone(),
        )];
        let extra = Map::new();
        let claims = AccessClaims {
            iss: ISSUER,
            sub: "s",
            aud: json!("a"),
            client_id: "c",
            iat: exp.timestamp() - 60,
            nbf: exp.timestamp() - 60,
            exp: exp.timestamp(),
            jti: "j",
            scope: None,
            state: None,
            extra: &extra,
        };
        let token = encode(&key, &claims).unwrap();
        (
            KeySet::new(vec![std::sync::Arc::new(key)], published, None).unwrap(),
            token,
        )
    }

    #[test]
    fn an_expired_token_passes_only_within_the_grace_period() {
        let exp = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let (keys, token) = token_expiring_at(exp);
        let later = |seconds| exp + Duration::seconds(seconds);
        assert_eq!(
            verify(&keys, ISSUER, &token, later(60), 5),
            Err(TokenError::Expired)
        );
        let within = verify_allowing_expiry(&keys, ISSUER, &token, later(3599), 5, 3600);
        assert_eq!(within.unwrap()["jti"], "j");
        assert_eq!(
            verify_allowing_expiry(&keys, ISSUER, &token, later(3600), 5, 3600),
            Err(TokenError::Expired)
        );
        assert!(
            verify_allowing_expiry(&keys, "https://other.example", &token, later(1), 5, 3600)
                .is_err(),
            "every other check still applies"
        );
    }
}
