//! `private_key_jwt` (RFC 7523 §2.2 and §3, OpenID Connect Core §9): a client proves itself with
//! a JWT it signed with a key it registered (`jwks`) or publishes (`jwks_uri`).
//!
//! The checks, in order; the first failing one decides, and each is `invalid_client` with its own
//! description (the caller holds, or claims to hold, the client's private key, so naming the
//! failed check tells an attacker nothing a signature does not):
//! 1. a compact JWS with `alg` RS256, ES256 or EdDSA (never `none` or HS*), without `crit`
//!    (RFC 7515 §4.1.11);
//! 2. `iss` = `sub` = the client id (and = the `client_id` parameter when one is sent);
//! 3. the client exists, is active and has keys, and a key of its set (by `kid`, else its only key
//!    of that `alg`) verifies the signature;
//! 4. `aud` (string or array) contains the token endpoint URL or the issuer (or the URL of the
//!    route it is presented to);
//! 5. `exp` in the future and at most an hour away (and a minute, for clocks that run ahead),
//!    `jti` present;
//! 6. the `jti` has not been used by this client before its `exp` (on any instance: the
//!    used-assertion record, under the issuer `client:<id>`).

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm as JwsAlgorithm, Header, Validation};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::guard::{self, Authenticated, Refusal};
use crate::limits::Identifier;
use crate::registry::{Client, ClientStatus, CredentialKind, RegistryError};
use crate::remote_keys::{self, KeySource, PublishedKey, RemoteKeySettings};
use crate::state::AppState;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The algorithms a client may sign with (RFC 8414 `token_endpoint_auth_signing_alg_values_supported`).
pub const SIGNING_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];
/// Longest assertion read, in bytes (a few keys' worth; anything longer is not ours to parse).
const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// Farthest `exp` accepted: an hour from now...
const MAX_LIFETIME_SECONDS: i64 = 3600;
/// ...plus this much for a client whose clock runs ahead (stock libraries such as Authlib make
/// their assertions last exactly an hour from their own clock).
const CLOCK_SKEW_SECONDS: i64 = 60;

/// Why an assertion was refused; `Display` is the `error_description` the client gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionRefusal {
    /// Check 1.
    Malformed,
    /// Check 1: the header lists critical extensions (RFC 7515 §4.1.11), none understood here.
    Critical,
    /// Check 2.
    WrongIssuer,
    /// Check 3: a key that does not verify it, or no such client (told alike, so client ids
    /// cannot be probed).
    BadSignature,
    /// Check 3: the client registered no keys.
    NoKeys,
    /// Check 3: its keys could not be fetched.
    KeysUnavailable,
    /// Check 3, after the signature: a suspended client.
    Suspended,
    /// Check 4.
    WrongAudience,
    /// Check 5.
    Expired,
    /// Check 5.
    TooLong,
    /// Check 5.
    NoJti,
    /// Check 6.
    Replayed,
}

impl std::fmt::Display for AssertionRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// An assertion's refusal, or a store that failed while checking it.
pub enum AssertionFailure {
    /// A check refused it.
    Refused(AssertionRefusal),
    /// The registry could not answer.
    Store(RegistryError),
}

impl Refusal for AssertionFailure {
    /// An unknown client or a signature that does not verify is a guess; the other refusals
    /// concern a caller who holds the key, and a store failure is nobody's guess.
    fn is_guess(&self) -> bool {
        matches!(self, Self::Refused(AssertionRefusal::BadSignature))
    }
}

impl From<AssertionFailure> for ApiError {
    fn from(failure: AssertionFailure) -> Self {
        match failure {
            AssertionFailure::Refused(refusal) => {
                tracing::info!(reason = %refusal, "client assertion refused");
                Self::InvalidCredentials(refusal.message())
            }
            AssertionFailure::Store(err) => err.into(),
        }
    }
}

impl AssertionRefusal {
    /// The description (what [`ApiError::InvalidCredentials`] carries).
    fn message(self) -> &'static str {
        match self {
            Self::Malformed => {
                "the client assertion is not a JWT signed with RS256, ES256 or EdDSA"
            }
            Self::Critical => {
                "the client assertion's header lists critical extensions (crit), which are not \
                 supported"
            }
            Self::WrongIssuer => "the client assertion's iss and sub must both be the client id",
            Self::BadSignature => {
                "the client assertion's signature does not verify with the client's keys"
            }
            Self::NoKeys => "the client has no registered keys for private_key_jwt",
            Self::KeysUnavailable => "the client's jwks_uri could not be read",
            Self::Suspended => "the client is suspended",
            Self::WrongAudience => {
                "the client assertion's aud must contain the token endpoint URL or the issuer"
            }
            Self::Expired => "the client assertion has expired",
            Self::TooLong => "the client assertion's exp must be at most an hour away",
            Self::NoJti => "the client assertion must carry a jti",
            Self::Replayed => "the client assertion has already been used",
        }
    }
}

impl From<AssertionRefusal> for AssertionFailure {
    fn from(refusal: AssertionRefusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<RegistryError> for AssertionFailure {
    fn from(err: RegistryError) -> Self {
        Self::Store(err)
    }
}

/// The claims read from an assertion (others are ignored).
#[derive(Deserialize)]
pub(crate) struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    exp: Option<i64>,
    jti: Option<String>,
}

/// A verified client, as the guarded path reports it.
struct Verified(Arc<Client>);

impl Authenticated for Verified {
    fn client_id(&self) -> Option<&str> {
        Some(self.0.id.as_str())
    }

    /// A client's registered keys (`private_key_jwt`) are part of its policy, not a stored
    /// credential with a `last_used_at`.
    fn credential(&self) -> Option<(CredentialKind, &str)> {
        None
    }
}

/// Authenticates a client by its assertion, within the failure budgets of the client id it names
/// and of the caller's address. `audiences` are the values `aud` may contain.
pub async fn authenticate(
    state: &AppState,
    client_id: Option<&str>,
    assertion: &str,
    audiences: &[String],
    caller_ip: Option<IpAddr>,
) -> Result<Arc<Client>, ApiError> {
    let (header, claimed) = read(assertion).map_err(AssertionFailure::from)?;
    let id = match (claimed.iss.as_deref(), claimed.sub.as_deref(), client_id) {
        (Some(iss), Some(sub), sent) if iss == sub && sent.is_none_or(|sent| sent == iss) => iss,
        _ => return Err(AssertionFailure::from(AssertionRefusal::WrongIssuer).into()),
    };
    let now = state.clock.now();
    let attempt = verify(state, id, assertion, &header, audiences, now);
    let verified = guard::authenticate(state, Identifier::Client(id), caller_ip, attempt).await?;
    Ok(verified.0)
}

/// Check 1, and the claims that name the client (read before the signature is checked, only to
/// find whose keys to check it with).
pub(crate) fn read(assertion: &str) -> Result<(Header, Claims), AssertionRefusal> {
    if assertion.len() > MAX_ASSERTION_LEN || assertion.split('.').count() != 3 {
        return Err(AssertionRefusal::Malformed);
    }
    let header = crate::jws::decode_header(assertion).map_err(|refusal| match refusal {
        crate::jws::HeaderRefusal::Critical => AssertionRefusal::Critical,
        crate::jws::HeaderRefusal::Malformed => AssertionRefusal::Malformed,
    })?;
    if !matches!(
        header.alg,
        JwsAlgorithm::RS256 | JwsAlgorithm::ES256 | JwsAlgorithm::EdDSA
    ) {
        return Err(AssertionRefusal::Malformed);
    }
    let payload = assertion.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .map_err(|_| AssertionRefusal::Malformed)?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| AssertionRefusal::Malformed)?;
    Ok((header, claims))
}

/// Checks 3 to 6.
async fn verify(
    state: &AppState,
    id: &str,
    assertion: &str,
    header: &Header,
    audiences: &[String],
    now: DateTime<Utc>,
) -> Result<Verified, AssertionFailure> {
    let client = match state.registry.client(id).await {
        Ok(client) => client,
        Err(RegistryError::NotFound(_)) => return Err(AssertionRefusal::BadSignature.into()),
        Err(other) => return Err(other.into()),
    };
    let key = client_key(state, &client, header, now).await?;
    let mut validation = Validation::new(key.jwt_algorithm());
    validation.set_audience(audiences);
    validation.set_issuer(&[id]);
    validation.sub = Some(id.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 0;
    validation.validate_exp = false;
    let verified = jsonwebtoken::decode::<Claims>(assertion, key.decoding_key(), &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidAudience => AssertionRefusal::WrongAudience,
                ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => {
                    AssertionRefusal::WrongIssuer
                }
                ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => {
                    AssertionRefusal::WrongAudience
                }
                ErrorKind::InvalidSignature => AssertionRefusal::BadSignature,
                _ => AssertionRefusal::Malformed,
            }
        })?;
    if client.status == ClientStatus::Suspended {
        return Err(AssertionRefusal::Suspended.into());
    }
    let claims = verified.claims;
    let leeway = state.settings.signing.verify_leeway_seconds;
    let exp = claims.exp.ok_or(AssertionRefusal::Expired)?;
    if exp + leeway <= now.timestamp() {
        return Err(AssertionRefusal::Expired.into());
    }
    if exp > now.timestamp() + MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS.max(leeway) {
        return Err(AssertionRefusal::TooLong.into());
    }
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty())
        .ok_or(AssertionRefusal::NoJti)?;
    let expires_at = DateTime::from_timestamp(exp, 0).ok_or(AssertionRefusal::Expired)?;
    let issuer = format!("client:{id}");
    if !state
        .registry
        .record_assertion_use(&issuer, &jti, expires_at, now)
        .await?
    {
        return Err(AssertionRefusal::Replayed.into());
    }
    Ok(Verified(Arc::new(client)))
}

/// The client's key for the assertion's header: from its registered JWK Set, or fetched from its
/// `jwks_uri` (cached; see `remote_keys`), by `kid`, else its only key of the header's `alg`.
async fn client_key(
    state: &AppState,
    client: &Client,
    header: &Header,
    now: DateTime<Utc>,
) -> Result<PublishedKey, AssertionRefusal> {
    let found = match (&client.keys.jwks, &client.keys.jwks_uri) {
        (Some(jwks), _) => {
            let set = remote_keys::parse_registered_jwks(jwks, RemoteKeySettings::DEFAULT_MAX_KEYS)
                .map_err(|_| AssertionRefusal::NoKeys)?;
            set.find(header)
        }
        (None, Some(uri)) => {
            let url = url::Url::parse(uri).map_err(|_| AssertionRefusal::KeysUnavailable)?;
            let source = KeySource::ClientJwksUri(url);
            state.remote_keys.find(&source, header, now).await
        }
        (None, None) => return Err(AssertionRefusal::NoKeys),
    };
    found.map_err(|e| {
        if e.is_source_failure() {
            tracing::warn!(error = %e, "a client's jwks_uri could not be read");
            AssertionRefusal::KeysUnavailable
        } else {
            AssertionRefusal::BadSignature
        }
    })
}
