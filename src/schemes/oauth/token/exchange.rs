//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693), workload identity
//! federation: a JWT from an outside OpenID Connect issuer (a GitHub Actions job's, a Kubernetes
//! pod's projected service-account token, a SPIFFE JWT-SVID, any IdP's) becomes an access token
//! of the client a trust policy names, with no client secret.
//!
//! The checks, in order; the first failing one decides, as 400 `invalid_request` (the request's
//! shape) or `invalid_grant` (the subject token):
//! 1. `subject_token` present, `subject_token_type` a JWT or an ID token;
//! 2. a compact JWS with `alg` RS256, ES256 or EdDSA (never `none` or HS*) and no `crit` header
//!    (RFC 7515 §4.1.11), its claims a JSON
//!    object with an `iss`;
//! 3. a trust policy for exactly that issuer (only the authenticated client's, when one
//!    authenticated);
//! 4. the signature verifies with the issuer's key for the header (its policy's `jwks_uri`, else
//!    from its discovery document; fetched and cached by `remote_keys`, fetched again for an
//!    unknown `kid` at most once per 30 s per issuer);
//! 5. `exp` in the future, `iat` (if any) not in the future, `nbf` (if any) passed;
//! 6. a policy of that issuer admits its `aud`, `sub` and claims (the first one, oldest first);
//! 7. the policy's client is active.
//!
//! A subject token that passed checks 2 to 5 is remembered by its SHA-256 (the registry's
//! exchange cache, dropped on any registry change and after the verified-credential TTL), so
//! presenting it again skips the signature and rechecks only its `exp`; 6 and 7 run every time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::super::form::OAuthForm;
use crate::http::error::ApiError;
use crate::registry::trust_policies::TrustPolicy;
use crate::registry::{Client, ClientStatus, RegistryError};
use crate::remote_keys::{self, KeySource, RemoteKeyError};
use crate::state::AppState;

/// The grant type.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// What the answer's `issued_token_type` says.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The subject token types accepted.
pub const SUBJECT_TOKEN_TYPES: [&str; 2] = [
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
];
/// Longest subject token read, in bytes.
const MAX_SUBJECT_TOKEN_LEN: usize = 16 * 1024;

/// A subject token that passed every check, with the policy that admits it.
pub struct Exchanged {
    /// The policy.
    pub policy: TrustPolicy,
    /// Its client.
    pub client: Arc<Client>,
    /// The outside token's `iss`.
    pub issuer: String,
    /// The outside token's `sub`.
    pub subject: String,
    /// The outside token's `exp`, seconds since the epoch.
    pub expires: i64,
}

/// `invalid_grant` with a description.
fn invalid_grant(message: impl Into<String>) -> ApiError {
    ApiError::Forbidden {
        code: "invalid_grant",
        message: message.into(),
    }
}

/// Checks 1 to 7 on the form's subject token; `client` limits the policies to its own.
pub async fn verify(
    state: &AppState,
    form: &OAuthForm,
    client: Option<&Client>,
    now: DateTime<Utc>,
) -> Result<Exchanged, ApiError> {
    let token = form.require("subject_token")?;
    let token_type = form.require("subject_token_type")?;
    if !SUBJECT_TOKEN_TYPES.contains(&token_type) {
        return Err(ApiError::invalid(
            "subject_token_type",
            format!(
                "subject_token_type must be {}",
                SUBJECT_TOKEN_TYPES.join(" or ")
            ),
        ));
    }
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    let client_id = client.map(|c| c.id.as_str());
    let (claims, policies) = match state.registry.verified_subject_token(&digest) {
        // Verified before, with nothing changed since: only its lifetime is checked again.
        Some(claims) => {
            let issuer = claims
                .get("iss")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let policies = policies_for(state, issuer, client_id).await?;
            let leeway = state.settings.signing.verify_leeway_seconds;
            let exp = claims
                .get("exp")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            if exp + leeway <= now.timestamp() {
                return Err(invalid_grant("the subject token has expired"));
            }
            (claims, policies)
        }
        None => {
            let ticket = state.registry.exchange_ticket();
            let (header, issuer) = read(token)?;
            let policies = policies_for(state, &issuer, client_id).await?;
            let claims =
                Arc::new(verified_claims(state, token, &header, &issuer, &policies, now).await?);
            state
                .registry
                .remember_subject_token(digest, ticket, Arc::clone(&claims));
            (claims, policies)
        }
    };
    let policy = policies
        .into_iter()
        .find(|policy| policy.admits(&claims))
        .ok_or_else(|| {
            invalid_grant(
                "the subject token's aud, sub or claims match no trust policy of its issuer",
            )
        })?;
    let client = match state
        .registry
        .exchange_client(policy.client_id.as_str())
        .await
    {
        Ok(client) if client.status == ClientStatus::Active => client,
        Ok(_) => return Err(invalid_grant("the trust policy's client is suspended")),
        Err(RegistryError::NotFound(_)) => {
            return Err(invalid_grant("the trust policy's client no longer exists"))
        }
        Err(other) => return Err(other.into()),
    };
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let expires = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Exchanged {
        policy,
        client,
        issuer,
        subject,
        expires,
    })
}

/// Check 3: the policies for the issuer (only the client's, when one authenticated).
async fn policies_for(
    state: &AppState,
    issuer: &str,
    client_id: Option<&str>,
) -> Result<Vec<TrustPolicy>, ApiError> {
    let policies = state.registry.trust_policies_for(issuer, client_id).await?;
    if policies.is_empty() {
        return Err(invalid_grant(format!(
            "no trust policy accepts tokens of the issuer {issuer}"
        )));
    }
    Ok(policies)
}

/// Check 2: the header and the issuer it claims (read before the signature is checked, only to
/// find whose keys to check it with).
pub(crate) fn read(token: &str) -> Result<(Header, String), ApiError> {
    let malformed =
        || invalid_grant("the subject token is not a JWT signed with RS256, ES256 or EdDSA");
    if token.len() > MAX_SUBJECT_TOKEN_LEN || token.split('.').count() != 3 {
        return Err(malformed());
    }
    let header = crate::jws::decode_header(token).map_err(|refusal| match refusal {
        crate::jws::HeaderRefusal::Critical => invalid_grant(
            "the subject token's header lists critical extensions (crit), which are not supported",
        ),
        crate::jws::HeaderRefusal::Malformed => malformed(),
    })?;
    if !matches!(
        header.alg,
        Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
    ) {
        return Err(malformed());
    }
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .map_err(|_| malformed())?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .filter(|iss| !iss.is_empty())
        .ok_or_else(|| invalid_grant("the subject token has no iss"))?;
    Ok((header, issuer.to_owned()))
}

/// Checks 4 and 5: the token's claims, verified with the first of the policies' key sources
/// that has its key (policies of one issuer usually share one).
async fn verified_claims(
    state: &AppState,
    token: &str,
    header: &Header,
    issuer: &str,
    policies: &[TrustPolicy],
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, ApiError> {
    let policy = state.remote_keys.policy();
    let mut sources: Vec<KeySource> = Vec::new();
    for trust in policies {
        let checked = remote_keys::check_issuer(&trust.issuer, policy).and_then(|issuer| {
            let jwks_uri = trust
                .jwks_uri
                .as_deref()
                .map(|uri| remote_keys::check_url(uri, policy))
                .transpose()?;
            Ok(KeySource::Issuer { issuer, jwks_uri })
        });
        match checked {
            Ok(source) if !sources.contains(&source) => sources.push(source),
            Ok(_) => {}
            Err(e) => return Err(keys_unavailable(&e)),
        }
    }
    let mut last_error = None;
    for source in &sources {
        match state.remote_keys.find(source, header, now).await {
            Ok(key) => {
                let leeway = state.settings.signing.verify_leeway_seconds;
                return check_claims(token, &key, issuer, now, leeway);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.map_or_else(
        || invalid_grant("the subject token's key was not found"),
        |e| keys_unavailable(&e),
    ))
}

/// A key that could not be had: the reason as `invalid_grant` (a failing issuer is told apart
/// from a missing key by the description; either way the client cannot get a token now).
fn keys_unavailable(error: &RemoteKeyError) -> ApiError {
    if error.is_source_failure() {
        tracing::warn!(error = %error, "an issuer's keys could not be read");
    }
    invalid_grant(error.to_string())
}

/// Check 5, with the signature: `exp` required and in the future, `iat` and `nbf` not ahead.
fn check_claims(
    token: &str,
    key: &remote_keys::PublishedKey,
    issuer: &str,
    now: DateTime<Utc>,
    leeway: i64,
) -> Result<Map<String, Value>, ApiError> {
    let mut validation = Validation::new(key.jwt_algorithm());
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding_key(), &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => invalid_grant(
                "the subject token's signature does not verify with its issuer's keys",
            ),
            jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(claim) => {
                invalid_grant(format!("the subject token has no {claim}"))
            }
            _ => invalid_grant("the subject token is malformed"),
        })?
        .claims;
    let now = now.timestamp();
    let seconds = |name: &str| claims.get(name).and_then(Value::as_i64);
    match seconds("exp") {
        Some(exp) if exp + leeway > now => {}
        _ => return Err(invalid_grant("the subject token has expired")),
    }
    if seconds("iat").is_some_and(|iat| iat > now + leeway) {
        return Err(invalid_grant("the subject token's iat is in the future"));
    }
    if seconds("nbf").is_some_and(|nbf| nbf > now + leeway) {
        return Err(invalid_grant("the subject token is not valid yet (nbf)"));
    }
    Ok(claims)
}
