//! Policy: scope, state and lifetime of a grant checked against its client's policy. Pure.

use super::error::PolicyError;
use super::grant::{Grant, ScopeRequest, StateRequest, TtlRequest};
use super::ScopeBundles;
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

/// Applies the client's policy to a grant: bundles expanded to the client's allowed scopes they
/// cover, every requested scope allowed, the state allowed, the lifetime within the client's
/// maximum.
pub fn settle(grant: &Grant, bundles: &ScopeBundles) -> Result<Settled, PolicyError> {
    let policy = &grant.policy;
    let scopes = match &grant.scopes {
        ScopeRequest::Default => policy.default_scopes.clone(),
        ScopeRequest::Requested(requested) => {
            if let Some(bad) = requested.iter().find(|s| !is_scope_token(s)) {
                return Err(PolicyError::ScopeMalformed(bad.clone()));
            }
            let mut scopes: Vec<String> = Vec::with_capacity(requested.len());
            let mut refused: Vec<String> = Vec::new();
            for s in requested {
                let expanded = match bundles.expand(s, &policy.allowed_scopes) {
                    Some(members) if members.is_empty() => {
                        refused.push(s.clone());
                        continue;
                    }
                    Some(members) => members,
                    None if policy.allowed_scopes.contains(s) => vec![s.clone()],
                    None => {
                        refused.push(s.clone());
                        continue;
                    }
                };
                for scope in expanded {
                    if !scopes.contains(&scope) {
                        scopes.push(scope);
                    }
                }
            }
            if !refused.is_empty() {
                return Err(PolicyError::ScopeNotAllowed(refused));
            }
            scopes
        }
    };
    let state = match &grant.state {
        StateRequest::NotApplicable => None,
        StateRequest::Default => policy.default_state.clone(),
        StateRequest::Requested(requested) => {
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

    fn bundles() -> ScopeBundles {
        ScopeBundles::new([(
            "assessment:all".to_owned(),
            vec!["assessment:*".to_owned(), "abilityexplorer:read".to_owned()],
        )])
    }

    fn grant() -> Grant {
        let policy = ClientPolicy {
            allowed_scopes: vec!["programs:read".into(), "schools:read".into()],
            default_scopes: vec!["programs:read".into()],
            allowed_states: vec!["IC".into(), "OH".into()],
            default_state: Some("IC".into()),
            max_ttl_minutes: 30,
            algorithm: Algorithm::ES256,
            quota: Default::default(),
        };
        Grant::for_client("test", &ClientId::parse("c1").unwrap(), &policy, 3600)
    }

    #[test]
    fn defaults_apply_when_nothing_is_asked() {
        let settled = settle(&grant(), &bundles()).unwrap();
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
            settle(&g, &bundles()),
            Err(PolicyError::ScopeNotAllowed(vec![
                "admin".into(),
                "x".into()
            ]))
        );
        g.scopes = ScopeRequest::Requested(vec!["schools:read".into(), "schools:read".into()]);
        assert_eq!(settle(&g, &bundles()).unwrap().scopes, ["schools:read"]);
    }

    #[test]
    fn states_are_case_insensitive_and_must_be_allowed() {
        let mut g = grant();
        g.state = StateRequest::Requested("oh".into());
        assert_eq!(settle(&g, &bundles()).unwrap().state.as_deref(), Some("OH"));
        g.state = StateRequest::Requested("TX".into());
        assert_eq!(
            settle(&g, &bundles()),
            Err(PolicyError::StateNotAllowed("TX".into()))
        );
    }

    #[test]
    fn a_state_does_not_apply_to_every_scheme() {
        let mut g = grant();
        g.state = StateRequest::NotApplicable;
        assert_eq!(settle(&g, &bundles()).unwrap().state, None);
    }

    #[test]
    fn a_bundle_expands_to_the_allowed_scopes_it_covers_and_is_refused_when_it_covers_none() {
        let mut g = grant();
        g.policy.allowed_scopes = [
            "programs:read",
            "assessment:interest",
            "abilityexplorer:read",
        ]
        .map(String::from)
        .to_vec();
        g.scopes = ScopeRequest::Requested(vec!["programs:read".into(), "assessment:all".into()]);
        assert_eq!(
            settle(&g, &bundles()).unwrap().scopes,
            [
                "programs:read",
                "assessment:interest",
                "abilityexplorer:read"
            ]
        );
        g.policy.allowed_scopes = vec!["programs:read".into()];
        assert_eq!(
            settle(&g, &bundles()),
            Err(PolicyError::ScopeNotAllowed(vec!["assessment:all".into()]))
        );
    }

    #[test]
    fn an_exact_lifetime_beyond_the_maximum_is_refused() {
        let mut g = grant();
        g.ttl = TtlRequest::Exactly(31 * 60);
        assert_eq!(
            settle(&g, &bundles()),
            Err(PolicyError::TtlOutOfRange { max_minutes: 30 })
        );
        g.ttl = TtlRequest::Exactly(0);
        assert!(settle(&g, &bundles()).is_err());
        g.ttl = TtlRequest::Exactly(60);
        assert_eq!(settle(&g, &bundles()).unwrap().ttl_seconds, 60);
    }
}
