//! `Grant`: what a scheme asks the signing core to issue, after it authenticated the caller.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::error::PolicyError;
use crate::domain::{ClientId, ClientPolicy};

/// Which scopes a grant asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeRequest {
    /// The client's default scopes.
    Default,
    /// Exactly these (each must be allowed).
    Requested(Vec<String>),
}

/// How long the token should live, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlRequest {
    /// This long, capped at the client's maximum (documented lifetimes like "1 hour").
    AtMost(i64),
    /// Exactly this long; longer than the client's maximum (or under one second) is refused.
    Exactly(i64),
}

/// Which state a grant asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateRequest {
    /// The client's default state (none if it has none).
    Default,
    /// This state (any case); must be allowed for the client.
    Requested(String),
    /// The scheme has no notion of state: the token carries none.
    NotApplicable,
}

/// Where an exchanged token came from (RFC 8693): the trust policy that allowed it and the outside
/// token's issuer and subject, kept in the issuance record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The trust policy's id.
    pub trust_policy_id: String,
    /// The outside token's `iss`.
    pub issuer: String,
    /// The outside token's `sub`.
    pub subject: String,
}

/// A validated request for a token, built by a scheme adapter.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The scheme's stable name, recorded with the issuance (`token_create`, `auth_jwt`, ...).
    pub scheme: &'static str,
    /// The client the token is issued to.
    pub client_id: ClientId,
    /// That client's policy, which the token must obey.
    pub policy: ClientPolicy,
    /// `sub`; the client id unless the scheme names another subject.
    pub subject: String,
    /// `aud`; `None` means the configured default audience.
    pub audience: Option<Vec<String>>,
    /// Scopes asked for.
    pub scopes: ScopeRequest,
    /// State asked for.
    pub state: StateRequest,
    /// Lifetime asked for.
    pub ttl: TtlRequest,
    /// The scheme's own claims, added beside the standard ones.
    pub extra_claims: Map<String, Value>,
    /// The caller's network address, for the issuance record.
    pub caller_ip: Option<IpAddr>,
    /// The address the caller declared (scheme A's `ipaddress`), recorded as given.
    pub declared_ip: Option<String>,
    /// Whether [`crate::signing::Signer::revoke_subject`] must find this token (a scheme that
    /// revokes by subject says so; only such records are indexed by subject).
    pub revocable_by_subject: bool,
    /// For an exchanged token, what it was exchanged for.
    pub provenance: Option<Provenance>,
}

/// What a token exchange's trust policy allows (RFC 8693, CONTRACT F).
#[derive(Clone, Debug)]
pub struct Exchange<'a> {
    /// The scopes the policy allows.
    pub allowed_scopes: &'a [String],
    /// The policy's longest lifetime, seconds.
    pub max_ttl_seconds: i64,
    /// The outside token's `exp`, seconds since the epoch.
    pub outside_expires: i64,
    /// Where the token comes from, for the record.
    pub provenance: Provenance,
}

/// How long an exchanged token may outlive the outside token it was exchanged for.
pub const EXCHANGE_GRACE_SECONDS: i64 = 3600;

impl Grant {
    /// A grant for a token exchanged under a trust policy: `subject` (the outside token's),
    /// the requested scopes, which must lie within the policy's (`Default`: all of the policy's),
    /// at most the policy's lifetime and never past the outside token's `exp` plus
    /// [`EXCHANGE_GRACE_SECONDS`]. The client's own policy is enforced on top at issuance.
    pub fn exchanged(
        scheme: &'static str,
        client_id: &ClientId,
        policy: &ClientPolicy,
        subject: &str,
        scopes: ScopeRequest,
        exchange: Exchange<'_>,
        now_seconds: i64,
    ) -> Result<Self, PolicyError> {
        let scopes = match scopes {
            ScopeRequest::Default => exchange.allowed_scopes.to_vec(),
            ScopeRequest::Requested(scopes) => {
                let outside: Vec<String> = scopes
                    .iter()
                    .filter(|s| !exchange.allowed_scopes.contains(s))
                    .cloned()
                    .collect();
                if !outside.is_empty() {
                    return Err(PolicyError::ScopeNotAllowed(outside));
                }
                scopes
            }
        };
        let until_outside_expiry = exchange.outside_expires + EXCHANGE_GRACE_SECONDS - now_seconds;
        let ttl = exchange.max_ttl_seconds.min(until_outside_expiry);
        let mut grant = Self::for_client(scheme, client_id, policy, ttl);
        grant.subject = subject.to_owned();
        grant.scopes = ScopeRequest::Requested(scopes);
        grant.provenance = Some(exchange.provenance);
        Ok(grant)
    }

    /// A grant of the client's defaults for `scheme`, living at most `ttl_seconds`.
    pub fn for_client(
        scheme: &'static str,
        client_id: &ClientId,
        policy: &ClientPolicy,
        ttl_seconds: i64,
    ) -> Self {
        Self {
            scheme,
            client_id: client_id.clone(),
            policy: policy.clone(),
            subject: client_id.to_string(),
            audience: None,
            scopes: ScopeRequest::Default,
            state: StateRequest::Default,
            ttl: TtlRequest::AtMost(ttl_seconds),
            extra_claims: Map::new(),
            caller_ip: None,
            declared_ip: None,
            revocable_by_subject: false,
            provenance: None,
        }
    }
}
