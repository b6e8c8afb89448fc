//! Value types shared by the registry and the signing core.
//!
//! `registry` and `signing` never import each other; what both must speak about (a client's id,
//! its token policy, a signing algorithm) lives here, parsed once at the edge and valid by type.
//! Nothing here does I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The public identifier of a client (not a secret).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Longest client id accepted anywhere; longer input is refused before any lookup.
    pub const MAX_LEN: usize = 128;

    /// A fresh random client id: 32 lowercase hex characters.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Parses a client id received from outside: non-empty, printable ASCII, bounded.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JWS signing algorithm tokenmint can sign with (RFC 7518 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256: the default.
    #[default]
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys).
    RS256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Algorithm; 3] = [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA];

    /// The RFC 7518 / RFC 8037 name, as written in a JWS header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ES256" => Ok(Self::ES256),
            "RS256" => Ok(Self::RS256),
            "EdDSA" => Ok(Self::EdDSA),
            other => Err(format!(
                "unsupported algorithm {other:?}: use ES256, RS256 or EdDSA"
            )),
        }
    }
}

/// What every token issued to one client must obey (CONTRACT.md "Shared model").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Scopes the client may receive.
    pub allowed_scopes: Vec<String>,
    /// Scopes given when a request names none (a subset of `allowed_scopes`).
    pub default_scopes: Vec<String>,
    /// Two-letter state codes the client may receive, upper case.
    pub allowed_states: Vec<String>,
    /// State given when a request names none.
    pub default_state: Option<String>,
    /// The longest lifetime of any token of this client, in minutes.
    pub max_ttl_minutes: i64,
    /// The algorithm the client's tokens are signed with.
    pub algorithm: Algorithm,
    /// How many tokens it may take per minute and per day, over every scheme and instance.
    pub quota: Quota,
}

/// How many tokens a client may take per UTC minute and per UTC calendar day, counted over every
/// scheme and instance; an absent limit is no limit (CONTRACT.md, Admin API, "Quotas").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Tokens per minute (the UTC clock's minute, from :00 to :59).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 600, minimum = 1, maximum = 1_000_000_000)]
    pub per_minute: Option<i64>,
    /// Tokens per day (the UTC calendar day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 100_000, minimum = 1, maximum = 1_000_000_000)]
    pub per_day: Option<i64>,
}

impl Quota {
    /// The largest limit a quota may set.
    pub const MAX: i64 = 1_000_000_000;

    /// No limit at all.
    pub fn is_unlimited(&self) -> bool {
        self.per_minute.is_none() && self.per_day.is_none()
    }

    /// Checks each limit lies between 1 and [`Self::MAX`]; returns the field at fault.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, limit) in [
            ("quota.per_minute", self.per_minute),
            ("quota.per_day", self.per_day),
        ] {
            if limit.is_some_and(|n| !(1..=Self::MAX).contains(&n)) {
                return Err((field, format!("must be between 1 and {}", Self::MAX)));
            }
        }
        Ok(())
    }
}

impl ClientPolicy {
    /// Checks the policy is coherent: defaults within what is allowed, a positive TTL, well-formed
    /// states. Returns the offending field and a message.
    pub fn validate(&self, max_ttl_cap_minutes: i64) -> Result<(), (&'static str, String)> {
        if let Some(bad) = self.allowed_scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(("allowed_scopes", format!("{bad:?} is not a valid scope")));
        }
        if let Some(bad) = self
            .default_scopes
            .iter()
            .find(|s| !self.allowed_scopes.contains(s))
        {
            return Err((
                "default_scopes",
                format!("{bad:?} is not in allowed_scopes"),
            ));
        }
        if let Some(bad) = self.allowed_states.iter().find(|s| !is_state_code(s)) {
            return Err((
                "allowed_states",
                format!("{bad:?} is not a two-letter state code"),
            ));
        }
        if let Some(state) = &self.default_state {
            if !self.allowed_states.contains(state) {
                return Err((
                    "default_state",
                    format!("{state:?} is not in allowed_states"),
                ));
            }
        }
        if !(1..=max_ttl_cap_minutes).contains(&self.max_ttl_minutes) {
            return Err((
                "max_ttl_minutes",
                format!("must be between 1 and {max_ttl_cap_minutes}"),
            ));
        }
        self.quota.validate()
    }
}

/// A scope is a non-empty run of printable ASCII without spaces or quotes (RFC 6749 §3.3).
pub fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 128
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A state code is two ASCII letters; stored and compared upper case.
pub fn is_state_code(state: &str) -> bool {
    state.len() == 2 && state.bytes().all(|b| b.is_ascii_uppercase())
}

/// Normalizes a phone number to E.164 (`+` and 8 to 15 digits), dropping spaces, dashes, dots and
/// parentheses; `None` when it cannot be one.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let rest = trimmed.strip_prefix('+')?;
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let ok = (8..=15).contains(&digits.len()) && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ClientPolicy {
        ClientPolicy {
            allowed_scopes: vec!["programs:read".into(), "schools:read".into()],
            default_scopes: vec!["programs:read".into()],
            allowed_states: vec!["IC".into(), "OH".into()],
            default_state: Some("IC".into()),
            max_ttl_minutes: 60,
            algorithm: Algorithm::ES256,
            quota: Quota::default(),
        }
    }

    #[test]
    fn a_coherent_policy_is_valid() {
        assert_eq!(policy().validate(1440), Ok(()));
    }

    #[test]
    fn defaults_outside_what_is_allowed_are_refused() {
        let mut p = policy();
        p.default_scopes.push("admin".into());
        assert_eq!(p.validate(1440).unwrap_err().0, "default_scopes");
        let mut p = policy();
        p.default_state = Some("TX".into());
        assert_eq!(p.validate(1440).unwrap_err().0, "default_state");
        let mut p = policy();
        p.max_ttl_minutes = 0;
        assert_eq!(p.validate(1440).unwrap_err().0, "max_ttl_minutes");
    }

    #[test]
    fn quota_limits_are_positive_and_bounded() {
        let mut p = policy();
        p.quota.per_minute = Some(0);
        assert_eq!(p.validate(1440).unwrap_err().0, "quota.per_minute");
        p.quota.per_minute = Some(10);
        p.quota.per_day = Some(Quota::MAX + 1);
        assert_eq!(p.validate(1440).unwrap_err().0, "quota.per_day");
        p.quota.per_day = Some(Quota::MAX);
        assert_eq!(p.validate(1440), Ok(()));
        assert!(Quota::default().is_unlimited());
        assert!(!p.quota.is_unlimited());
    }

    #[test]
    fn phones_are_normalized_to_e164() {
        assert_eq!(
            normalize_phone("+380 (67) 123-45-67").as_deref(),
            Some("+380671234567")
        );
        assert_eq!(normalize_phone("380671234567"), None);
        assert_eq!(normalize_phone("+12"), None);
        assert_eq!(normalize_phone("+1 555 abc 1234"), None);
    }

    #[test]
    fn client_ids_are_bounded_printable_text() {
        assert!(ClientId::parse("abc-123").is_some());
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse("a b").is_none());
        assert!(ClientId::parse(&"x".repeat(129)).is_none());
    }
}
