//! The numbered checks of CONTRACT.md section E, in order; the first failing one decides. Pure:
//! the parsed assertion, the service-account config with its certificates' keys, `now` and the
//! expected audience go in, a [`Rejection`] or the [`Accepted`] claims come out.
//!
//! The RS256 signature is verified here over the exact signing input with aws-lc-rs, against every
//! currently valid certificate of the config (`kid` and any key-locating header are ignored; the
//! registry parsed each key when it read the certificate), so no library's own claim validation
//! decides anything. Time claims are strict: only a JSON number is numeric (a numeric string is
//! not), compared with `now` without leeway.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::request::TokenParams;
use crate::http::grant_types::JWT_BEARER;
use crate::registry::service_accounts::ServiceAccount;

/// Why an assertion grant was refused; `Display` is the exact message the caller gets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Check 1.
    #[error("Grant type is not valid")]
    GrantType,
    /// Check 2.
    #[error("Assertion can't be blank")]
    BlankAssertion,
    /// Check 3 (and a future `nbf` in check 7).
    #[error("Assertion is malformed")]
    Malformed,
    /// Check 4: neither `service_account_id` nor `iss` names a config.
    #[error("Invalid client identifier")]
    NoClientIdentifier,
    /// Check 4: no config with that id.
    #[error("Service account config not found")]
    ConfigNotFound,
    /// Check 5.
    #[error("Certificates are expired")]
    CertificatesExpired,
    /// Check 6.
    #[error("Assertion body does not match signature")]
    BadSignature,
    /// Check 7.
    #[error("Assertion has expired")]
    Expired,
    /// Check 8.
    #[error("Invalid iat")]
    InvalidIat,
    /// Check 9.
    #[error("Invalid audience. Expected [\"{expected}\"], received {received}")]
    InvalidAudience {
        /// This route's public URL.
        expected: String,
        /// The asserted `aud`, described.
        received: String,
    },
    /// Check 10.
    #[error("Missing required claim {0}")]
    MissingClaim(&'static str),
    /// Check 10: `sub` null, empty or not text.
    #[error("Invalid subject")]
    InvalidSubject,
    /// Check 11.
    #[error("Invalid issuer")]
    InvalidIssuer,
    /// Check 12 (and scopes the client's policy no longer allows).
    #[error("Invalid scopes")]
    InvalidScopes,
    /// Check 13.
    #[error("Invalid user attributes")]
    InvalidUserAttributes,
    /// Check 14.
    #[error("Assertion has already been used")]
    Replayed,
    /// The config's client is suspended; told only to a caller whose assertion passed checks
    /// 1 to 13, i.e. who holds one of the config's private keys.
    #[error("Service account is disabled")]
    Disabled,
    /// The config asks for more than its client's policy now allows (a lifetime above the
    /// client's maximum, changed after registration).
    #[error("Service account config is not allowed by its client's policy")]
    ClientPolicy,
}

impl Rejection {
    /// The refusal reason counted in the metrics (a fixed string).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoClientIdentifier | Self::ConfigNotFound => "invalid_client",
            Self::CertificatesExpired | Self::BadSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::InvalidScopes => "invalid_scope",
            Self::Replayed => "replayed",
            Self::Disabled => "suspended",
            _ => "invalid_request",
        }
    }
}

/// A compact JWS split and decoded; its `Debug` output shows nothing of it.
pub struct Assertion {
    signing_input: String,
    claims: Map<String, Value>,
    signature: Vec<u8>,
}

impl std::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Assertion(..)")
    }
}

/// What an accepted assertion grants.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    /// `sub`.
    pub subject: String,
    /// The asserted scopes, as asserted (empty when none).
    pub scopes: Vec<String>,
    /// The asserted user attributes (empty when none).
    pub user_attributes: Map<String, Value>,
    /// The `jti`, when it is a non-empty string (only then is replay refused).
    pub jti: Option<String>,
    /// The assertion's `exp`, until which its `jti` stays used.
    pub expires_at: DateTime<Utc>,
}

/// Accepts base64url with or without padding, as JWT libraries in the wild produce.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Checks 1 to 3: the grant type, the assertion's presence, and its form (a compact JWS of at
/// most `max_bytes` whose header says RS256 and whose parts are JSON objects).
pub fn grant(params: &TokenParams, max_bytes: usize) -> Result<Assertion, Rejection> {
    if params.grant_type.as_deref() != Some(JWT_BEARER) {
        return Err(Rejection::GrantType);
    }
    // Surrounding whitespace (a pasted newline) is not part of a compact JWS.
    let raw = match params.assertion.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => raw,
        _ => return Err(Rejection::BlankAssertion),
    };
    parse(raw, max_bytes).ok_or(Rejection::Malformed)
}

fn parse(raw: &str, max_bytes: usize) -> Option<Assertion> {
    if raw.len() > max_bytes {
        return None;
    }
    let mut parts = raw.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let object = |part: &str| match serde_json::from_slice(&BASE64URL.decode(part).ok()?) {
        Ok(Value::Object(members)) => Some(members),
        _ => None,
    };
    let header = object(header)?;
    // RFC 7515 §4.1.11: a `crit` extension is not understood here, so the assertion is refused.
    crate::jws::check_members(&header).ok()?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return None;
    }
    let claims = object(payload)?;
    let signature = BASE64URL.decode(signature).ok()?;
    let signing_input = raw[..raw.rfind('.')?].to_owned();
    Some(Assertion {
        signing_input,
        claims,
        signature,
    })
}

/// Check 4, first half: the id to look the config up by, `service_account_id` when the claim is
/// present, else `iss`. A present but empty (or non-string) `service_account_id` is not replaced
/// by `iss`, as in the original service: the identifier so chosen is missing.
pub fn account_id(assertion: &Assertion) -> Result<&str, Rejection> {
    let claim = match assertion.claims.get("service_account_id") {
        Some(Value::Null) | None => assertion.claims.get("iss"),
        present => present,
    };
    claim
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or(Rejection::NoClientIdentifier)
}

/// Checks 5 to 13 against the config found in check 4.
pub fn check(
    assertion: &Assertion,
    account: &ServiceAccount,
    now: DateTime<Utc>,
    expected_audience: &str,
) -> Result<Accepted, Rejection> {
    verify_signature(assertion, account, now)?;
    let claims = &assertion.claims;
    let now_seconds = now.timestamp_millis() as f64 / 1000.0;
    check_times(claims, now_seconds)?;
    check_audience(claims.get("aud"), expected_audience)?;
    if let Some(missing) = ["iat", "sub", "exp", "iss"]
        .into_iter()
        .find(|name| !claims.contains_key(*name))
    {
        return Err(Rejection::MissingClaim(missing));
    }
    let subject = match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.trim().is_empty() && !sub.chars().any(char::is_control) => sub,
        _ => return Err(Rejection::InvalidSubject),
    };
    let issuer = claims.get("iss").and_then(Value::as_str);
    if issuer != Some(account.id.as_str()) && issuer != Some(&account.access_token_audience) {
        return Err(Rejection::InvalidIssuer);
    }
    let scopes = asserted_scopes(claims.get("scopes"), &account.scopes)?;
    let user_attributes = asserted_user_attributes(
        claims.get("user_attributes"),
        &account.access_token_user_attributes,
    )?;
    let exp = claims.get("exp").and_then(Value::as_f64).unwrap_or(0.0);
    Ok(Accepted {
        subject: subject.to_owned(),
        scopes,
        user_attributes,
        jti: claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|jti| !jti.is_empty())
            .map(str::to_owned),
        // Float-to-int casts saturate, so an absurd `exp` cannot overflow.
        expires_at: DateTime::from_timestamp_millis((exp * 1000.0) as i64)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    })
}

/// Checks 5 and 6: some certificate is valid now, and one of those verifies the signature.
fn verify_signature(
    assertion: &Assertion,
    account: &ServiceAccount,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let mut live = account
        .certificates
        .iter()
        .filter(|c| c.is_valid_at(now))
        .peekable();
    if live.peek().is_none() {
        return Err(Rejection::CertificatesExpired);
    }
    let message = assertion.signing_input.as_bytes();
    let verified = live.any(|c| c.public_key.verifies(message, &assertion.signature));
    verified.then_some(()).ok_or(Rejection::BadSignature)
}

/// Checks 7 and 8. A claim that is absent is left to check 10; one that is present must be a
/// JSON number.
fn check_times(claims: &Map<String, Value>, now: f64) -> Result<(), Rejection> {
    let number = |name: &str| claims.get(name).map(Value::as_f64);
    match number("exp") {
        Some(Some(exp)) if exp > now => {}
        Some(_) => return Err(Rejection::Expired),
        None => {}
    }
    match number("nbf") {
        Some(Some(nbf)) if nbf <= now => {}
        Some(_) => return Err(Rejection::Malformed),
        None => {}
    }
    match number("iat") {
        Some(Some(iat)) if iat <= now => Ok(()),
        Some(_) => Err(Rejection::InvalidIat),
        None => Ok(()),
    }
}

/// Check 9: `aud`, a string or an array, must contain exactly this route's URL.
fn check_audience(aud: Option<&Value>, expected: &str) -> Result<(), Rejection> {
    let contains = match aud {
        Some(Value::String(one)) => one == expected,
        Some(Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(expected)),
        _ => false,
    };
    if contains {
        return Ok(());
    }
    let received = match aud {
        None | Some(Value::Null) => "<none>".to_owned(),
        Some(Value::String(one)) => one.clone(),
        Some(Value::Array(many)) => {
            let items: Vec<String> = many.iter().map(Value::to_string).collect();
            format!("[{}]", items.join(", "))
        }
        Some(other) => other.to_string(),
    };
    Err(Rejection::InvalidAudience {
        expected: expected.to_owned(),
        received,
    })
}

/// Check 12: a lone string counts as one scope; none (or an empty list) is only fine for a
/// config without scopes.
fn asserted_scopes(scopes: Option<&Value>, allowed: &[String]) -> Result<Vec<String>, Rejection> {
    let asserted: Vec<String> = match scopes {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(Rejection::InvalidScopes)?,
        Some(_) => return Err(Rejection::InvalidScopes),
    };
    let refused = (asserted.is_empty() && !allowed.is_empty())
        || asserted.iter().any(|s| !allowed.contains(s));
    if refused {
        return Err(Rejection::InvalidScopes);
    }
    Ok(asserted)
}

/// Check 13: an object whose keys are all allowed by the config; absent or null is empty.
fn asserted_user_attributes(
    attributes: Option<&Value>,
    allowed: &[String],
) -> Result<Map<String, Value>, Rejection> {
    match attributes {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(members)) if members.keys().all(|k| allowed.contains(k)) => {
            Ok(members.clone())
        }
        Some(_) => Err(Rejection::InvalidUserAttributes),
    }
}
