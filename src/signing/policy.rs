//! Policy: scope, state and lifetime of a grant checked against its client's policy. Pure.

use super::error::PolicyError;
use super::grant::{Grant, ScopeRequest, TtlRequest};
use crate::domain::is_scope_token;

/// What the policy settled for a grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// Scopes the token carries, in request order without duplicates.
    pub scopes: Vec<String>,
    /// State the token carries, upper case.
    pub state: Option<String>,
    /// Lifetime in seconds.
    pub ttl_seconds: i64,
}

/// Applies the client's policy to a grant: every requested scope allowed, the state allowed, the
/// lifetime within the client's maximum.
pub fn settle(grant: &Grant) -> Result<Settled, PolicyError> {
    let policy = &grant.policy;
    let scopes = match &grant.scopes {
        ScopeRequest::Default => policy.default_scopes.clone(),
        ScopeRequest::Requested(requested) => {
            if let Some(bad) = requested.iter().find(|s| !is_scope_token(s)) {
                return Err(PolicyError::ScopeMalformed(bad.clone()));
            }
            let mut scopes: Vec<String> = Vec::with_capacity(requested.len());
            for s in requested {
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
            let refused: Vec<String> = scopes
                .iter()
                .filter(|s| !policy.allowed_scopes.contains(s))
                .cloned()
                .collect();
            if !refused.is_empty() {
                return Err(PolicyError::ScopeNotAllowed(refused));
            }
            scopes
        }
    };
    let state = match &grant.state {
        None => policy.default_state.clone(),
        Some(requested) => {
            let upper = requested.trim().to_ascii_uppercase();
            if !policy.allowed_states.contains(&upper) {
                return Err(PolicyError::StateNotAllowed(requested.clone()));
            }
            Some(upper)
        }
    };
    let max_seconds = policy.max_ttl_minutes.saturating_mul(60);
    let ttl_seconds = match grant.ttl {
        TtlRequest::AtMost(seconds) => seconds.min(max_seconds).max(1),
        TtlRequest::Exactly(seconds) if (1..=max_seconds).contains(&seconds) => seconds,
        TtlRequest::Exactly(_) => {
            return Err(PolicyError::TtlOutOfRange {
                max_minutes: policy.max_ttl_minutes,
            })
        }
    };
    Ok(Settled {
        scopes,
        state,
        ttl_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Algorithm, ClientId, ClientPolicy};

    fn grant() -> Grant {
        let policy = ClientPolicy {
            allowed_scopes: vec!["programs:read".into(), "schools:read".into()],
            default_scopes: vec!["programs:read".into()],
            allowed_states: vec!["IC".into(), "OH".into()],
            default_state: Some("IC".into()),
            max_ttl_minutes: 30,
            algorithm: Algorithm::ES256,
        };
        Grant::for_client("test", &ClientId::parse("c1").unwrap(), &policy, 3600)
    }

    #[test]
    fn defaults_apply_when_nothing_is_asked() {
        let settled = settle(&grant()).unwrap();
        assert_eq!(settled.scopes, ["programs:read"]);
        assert_eq!(settled.state.as_deref(), Some("IC"));
        assert_eq!(
            settled.ttl_seconds,
            30 * 60,
            "an hour is capped at the client's 30 minutes"
        );
    }

    #[test]
    fn requested_scopes_must_all_be_allowed_and_refusals_are_listed() {
        let mut g = grant();
        g.scopes = ScopeRequest::Requested(vec!["schools:read".into(), "admin".into(), "x".into()]);
        assert_eq!(
            settle(&g),
            Err(PolicyError::ScopeNotAllowed(vec![
                "admin".into(),
                "x".into()
            ]))
        );
        g.scopes = ScopeRequest::Requested(vec!["schools:read".into(), "schools:read".into()]);
        assert_eq!(settle(&g).unwrap().scopes, ["schools:read"]);
    }

    #[test]
    fn states_are_case_insensitive_and_must_be_allowed() {
        let mut g = grant();
        g.state = Some("oh".into());
        assert_eq!(settle(&g).unwrap().state.as_deref(), Some("OH"));
        g.state = Some("TX".into());
        assert_eq!(settle(&g), Err(PolicyError::StateNotAllowed("TX".into())));
    }

    #[test]
    fn an_exact_lifetime_beyond_the_maximum_is_refused() {
        let mut g = grant();
        g.ttl = TtlRequest::Exactly(31 * 60);
        assert_eq!(
            settle(&g),
            Err(PolicyError::TtlOutOfRange { max_minutes: 30 })
        );
        g.ttl = TtlRequest::Exactly(0);
        assert!(settle(&g).is_err());
        g.ttl = TtlRequest::Exactly(60);
        assert_eq!(settle(&g).unwrap().ttl_seconds, 60);
    }
}
