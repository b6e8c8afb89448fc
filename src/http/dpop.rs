//! DPoP proofs (RFC 9449): a client proves, per request, that it holds the private key a token is
//! bound to. The token endpoint binds a token to the proof's key (`cnf.jkt`, its RFC 7638
//! thumbprint); a protected route then accepts that token only with a fresh proof by the same
//! key over that request and that token (`ath`).
//!
//! The checks of RFC 9449 §4.3, in order; the first failing one decides:
//! 1. one `DPoP` header holding a compact JWS (at most [`MAX_PROOF_LEN`] bytes);
//! 2. no `crit` header (RFC 7515 §4.1.11), header `typ` `dpop+jwt`, an asymmetric `alg` ([`ALGORITHMS`]), a public `jwk` of that
//!    algorithm's key type (no private part), and the signature verifies with it;
//! 3. `htm` the request's method, `htu` the request's URL under the public URL (query and
//!    fragment ignored);
//! 4. `iat` within [`WINDOW_SECONDS`] of now (plus the configured leeway);
//! 5. `ath` the hash of the access token presented with it, where one is;
//! 6. `jti` not seen in a proof by the same key within the window, on any instance (the
//!    used-assertion record under `dpop:<thumbprint>`, its rows expiring with the window).

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::registry::RegistryError;
use crate::state::AppState;

/// The request header carrying the proof.
pub const HEADER: &str = "dpop";
/// The algorithms a proof may be signed with (RFC 8414 `dpop_signing_alg_values_supported`).
pub const ALGORITHMS: [&str; 3] = ["ES256", "RS256", "EdDSA"];
/// How far a proof's `iat` may lie from now, in seconds.
pub const WINDOW_SECONDS: i64 = 60;
/// Longest proof read, in bytes (an RSA key and a few claims fit well within).
const MAX_PROOF_LEN: usize = 8 * 1024;
/// Longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// Why a proof was refused; `Display` is the `error_description` the client gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofRefusal {
    /// The client's tokens must be bound but it sent no proof.
    #[error("a DPoP proof is required")]
    Missing,
    /// More than one `DPoP` header.
    #[error("send one DPoP header")]
    Repeated,
    /// Checks 1 and 2 (other than the signature).
    #[error("the DPoP proof is not a dpop+jwt signed with ES256, RS256 or EdDSA by a public jwk")]
    Malformed,
    /// Check 2: the header lists critical extensions (RFC 7515 §4.1.11), none understood here.
    #[error("the DPoP proof's header lists critical extensions (crit), which are not supported")]
    Critical,
    /// Check 2.
    #[error("the DPoP proof's signature does not verify with its jwk")]
    BadSignature,
    /// Check 3.
    #[error("the DPoP proof's htm or htu does not match this request")]
    WrongRequest,
    /// Check 4.
    #[error("the DPoP proof's iat is not within 60 seconds of now")]
    Stale,
    /// Check 5.
    #[error("the DPoP proof's ath does not match the access token")]
    WrongToken,
    /// Check 5: the proof's key is not the one the token is bound to.
    #[error("the DPoP proof's key is not the one the access token is bound to")]
    WrongKey,
    /// Check 6.
    #[error("the DPoP proof has already been used")]
    Replayed,
}

/// A refused proof, or a store that failed while checking it.
#[derive(Debug)]
pub enum ProofFailure {
    /// A check refused it.
    Refused(ProofRefusal),
    /// The replay record could not answer.
    Store(RegistryError),
}

impl From<ProofRefusal> for ProofFailure {
    fn from(refusal: ProofRefusal) -> Self {
        Self::Refused(refusal)
    }
}

/// What a proof is checked against: the request it came with.
pub struct ProofRequest<'a> {
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The route's path under the public URL (`htu`).
    pub path: &'a str,
    /// The access token presented with the proof, if any (`ath`).
    pub access_token: Option<&'a str>,
}

/// The claims of a proof (others are ignored).
#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
}

/// The proof a request carries, checked: the RFC 7638 thumbprint of its key, or `None` when the
/// request has no `DPoP` header.
pub async fn check(
    state: &AppState,
    headers: &HeaderMap,
    request: &ProofRequest<'_>,
) -> Result<Option<String>, ProofFailure> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ProofRefusal::Repeated.into());
    }
    let proof = value.to_str().map_err(|_| ProofRefusal::Malformed)?;
    let now = state.clock.now();
    let leeway = state.settings.signing.verify_leeway_seconds;
    let htu = state.settings.public_url_for(request.path);
    let (thumbprint, jti, iat) = verify(proof, request, &htu, now, leeway)?;
    let expires_at =
        DateTime::from_timestamp(iat + WINDOW_SECONDS + leeway, 0).ok_or(ProofRefusal::Stale)?;
    let first = state
        .registry
        .record_assertion_use(&format!("dpop:{thumbprint}"), &jti, expires_at, now)
        .await
        .map_err(ProofFailure::Store)?;
    if !first {
        return Err(ProofRefusal::Replayed.into());
    }
    Ok(Some(thumbprint))
}

/// Checks 1 to 5, without the store: the key's thumbprint, the `jti` and the `iat`.
pub(crate) fn verify(
    proof: &str,
    request: &ProofRequest<'_>,
    htu: &str,
    now: DateTime<Utc>,
    leeway: i64,
) -> Result<(String, String, i64), ProofRefusal> {
    if proof.len() > MAX_PROOF_LEN || proof.split('.').count() != 3 {
        return Err(ProofRefusal::Malformed);
    }
    let header = crate::jws::decode_header(proof).map_err(|refusal| match refusal {
        crate::jws::HeaderRefusal::Critical => ProofRefusal::Critical,
        crate::jws::HeaderRefusal::Malformed => ProofRefusal::Malformed,
    })?;
    let jwk = header.jwk.as_ref().ok_or(ProofRefusal::Malformed)?;
    let fits = matches!(
        (&jwk.algorithm, header.alg),
        (AlgorithmParameters::RSA(_), Algorithm::RS256)
            | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
    ) || matches!(
        (&jwk.algorithm, header.alg),
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) if ec.curve == EllipticCurve::P256
    );
    if header.typ.as_deref() != Some("dpop+jwt") || !fits || has_private_part(proof) {
        return Err(ProofRefusal::Malformed);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| ProofRefusal::Malformed)?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => ProofRefusal::BadSignature,
            _ => ProofRefusal::Malformed,
        })?
        .claims;
    let without_query = |url: &str| url.split(['?', '#']).next().unwrap_or_default().to_owned();
    let method_matches = claims.htm.as_deref() == Some(request.method);
    if !method_matches || claims.htu.as_deref().map(without_query).as_deref() != Some(htu) {
        return Err(ProofRefusal::WrongRequest);
    }
    let iat = claims.iat.ok_or(ProofRefusal::Stale)?;
    if (iat - now.timestamp()).abs() > WINDOW_SECONDS + leeway {
        return Err(ProofRefusal::Stale);
    }
    if let Some(token) = request.access_token {
        if claims.ath.as_deref() != Some(token_hash(token).as_str()) {
            return Err(ProofRefusal::WrongToken);
        }
    }
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LEN)
        .ok_or(ProofRefusal::Malformed)?;
    Ok((thumbprint(jwk), jti, iat))
}

/// Whether the proof's `jwk` carries a private key part (RFC 9449 §4.2: it must not).
fn has_private_part(proof: &str) -> bool {
    #[derive(Deserialize)]
    struct RawHeader {
        jwk: serde_json::Map<String, serde_json::Value>,
    }
    let raw = proof.split('.').next().unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<RawHeader>(&bytes).ok())
        .is_none_or(|header| {
            ["d", "p", "q", "dp", "dq", "qi"]
                .iter()
                .any(|k| header.jwk.contains_key(*k))
        })
}

/// The RFC 7638 SHA-256 thumbprint of a key, base64url: the `jkt` a bound token carries.
pub fn thumbprint(jwk: &Jwk) -> String {
    jwk.thumbprint(ThumbprintHash::SHA256)
}

/// `ath`: the base64url SHA-256 of an access token (RFC 9449 §4.2).
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests;
