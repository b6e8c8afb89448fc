//! [`Signer::issue_consuming`]: an issuance that consumes a single-use record the registry claimed
//! (a service-account assertion's `jti`, a refreshed AuthToken).
//!
//! The claim is kept only once the new token's issuance record has committed, and released when
//! no token leaves, here and nowhere else, so no scheme writes compensation of its own. It adds
//! nothing to plain [`Signer::issue`], whose hot path stays as it is; it never imports `registry`
//! (the claim arrives as a ground-floor [`SingleUse`]).

use chrono::{DateTime, Utc};

use super::{Grant, IssuedToken, Signer, SigningError};
use crate::single_use::{IssuedRecord, SingleUse};

impl Signer {
    /// Issues a token for a grant like [`Self::issue`], consuming `single_use` if there is one:
    /// kept with the token once its record has committed, released when no token leaves.
    pub async fn issue_consuming(
        &self,
        grant: &Grant,
        now: DateTime<Utc>,
        single_use: Option<&dyn SingleUse>,
    ) -> Result<IssuedToken, SigningError> {
        let Some(single_use) = single_use else {
            return self.issue(grant, now).await;
        };
        let issued = match self.issue(grant, now).await {
            Ok(issued) => issued,
            Err(failure) => {
                // No token left: give the record back so the caller may retry with it.
                single_use.release().await;
                return Err(failure);
            }
        };
        let record = IssuedRecord {
            jti: &issued.jti,
            issued_at: issued.issued_at,
            expires_at: issued.expires_at,
        };
        if let Err(err) = single_use.keep(&record).await {
            // The token is not handed out, so the claim goes back as after any failed issuance;
            // its issuance record stays (a record too many, never a token too many).
            single_use.release().await;
            return Err(err.into());
        }
        Ok(issued)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;
    use crate::config::SigningSettings;
    use crate::db::Database;
    use crate::domain::{Algorithm, ClientId, ClientPolicy};
    use crate::signing::{MasterKey, MasterKeys, PolicyError, ScopeRequest};
    use crate::single_use::SingleUseError;

    const ISSUER: &str = "https://tokenmint.test";
    const SCHEME: &str = "consuming_test";
    const MAX_TTL_MINUTES: i64 = 60;
    /// 2030-03-17: a fixed "now".
    const NOW_SECONDS: i64 = 1_900_000_000;

    /// What the fake's `keep` answers.
    #[derive(Clone, Copy)]
    enum KeepOutcome {
        Kept,
        Unavailable,
        Failed,
    }

    /// A single-use record that notes every call it receives.
    struct FakeSingleUse {
        outcome: KeepOutcome,
        calls: Mutex<Vec<String>>,
    }

    impl FakeSingleUse {
        fn answering(outcome: KeepOutcome) -> Self {
            Self {
                outcome,
                calls: Mutex::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[async_trait::async_trait]
    impl SingleUse for FakeSingleUse {
        async fn keep(&self, issued: &IssuedRecord<'_>) -> Result<(), SingleUseError> {
            self.calls.lock().unwrap().push(format!(
                "keep {} {} {}",
                issued.jti,
                issued.issued_at.timestamp(),
                issued.expires_at.timestamp()
            ));
            match self.outcome {
                KeepOutcome::Kept => Ok(()),
                KeepOutcome::Unavailable => Err(SingleUseError::Unavailable(Arc::new(
                    sqlx::Error::PoolTimedOut,
                ))),
                KeepOutcome::Failed => Err(anyhow::anyhow!("constraint violated").into()),
            }
        }

        async fn release(&self) {
            self.calls.lock().unwrap().push("release".to_owned());
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW_SECONDS, 0).unwrap()
    }

    /// A signer over a fresh in-memory SQLite database, as `AppState` starts one.
    async fn signer() -> Signer {
        let db = Database::connect_url("sqlite::memory:", 1, Duration::from_secs(5))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let encoded = MasterKey::generate_base64().unwrap();
        let settings = SigningSettings {
            issuer: ISSUER.to_owned(),
            audience: ISSUER.to_owned(),
            max_ttl_cap_minutes: 1440,
            key_reload_seconds: 60,
            verify_leeway_seconds: 5,
            master_key: SecretString::from(encoded.to_string()),
            master_key_previous: SecretString::from(String::new()),
            scope_bundles: HashMap::new(),
            issuance_writers: 1,
            verify_after_expiry_seconds: 0,
        };
        let master = MasterKeys::from_settings(&settings).unwrap();
        Signer::start(&db, master, &settings, now()).await.unwrap()
    }

    fn grant() -> Grant {
        let policy = ClientPolicy {
            allowed_scopes: vec!["programs:read".into()],
            default_scopes: vec!["programs:read".into()],
            allowed_states: vec![],
            default_state: None,
            max_ttl_minutes: MAX_TTL_MINUTES,
            algorithm: Algorithm::ES256,
            quota: Default::default(),
        };
        let client_id = ClientId::parse("consuming-test-client").unwrap();
        Grant::for_client(SCHEME, &client_id, &policy, MAX_TTL_MINUTES * 60)
    }

    #[tokio::test]
    async fn keeps_the_record_with_the_issued_token_and_never_releases_it() {
        let signer = signer().await;
        let single_use = FakeSingleUse::answering(KeepOutcome::Kept);

        let issued = signer
            .issue_consuming(&grant(), now(), Some(&single_use))
            .await
            .unwrap();

        let expected = format!(
            "keep {} {} {}",
            issued.jti,
            NOW_SECONDS,
            NOW_SECONDS + MAX_TTL_MINUTES * 60
        );
        assert_eq!(single_use.calls(), vec![expected]);
    }

    #[tokio::test]
    async fn releases_the_record_without_keeping_it_when_no_token_is_issued() {
        let signer = signer().await;
        let single_use = FakeSingleUse::answering(KeepOutcome::Kept);
        let mut grant = grant();
        grant.scopes = ScopeRequest::Requested(vec!["admin".into()]);

        let failure = signer
            .issue_consuming(&grant, now(), Some(&single_use))
            .await
            .unwrap_err();

        assert!(matches!(
            failure,
            SigningError::Policy(PolicyError::ScopeNotAllowed(_))
        ));
        assert_eq!(single_use.calls(), vec!["release".to_owned()]);
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_kept_fails_the_issuance_and_is_released() {
        let signer = signer().await;
        let unavailable = FakeSingleUse::answering(KeepOutcome::Unavailable);
        let failed = FakeSingleUse::answering(KeepOutcome::Failed);

        let when_unavailable = signer
            .issue_consuming(&grant(), now(), Some(&unavailable))
            .await
            .unwrap_err();
        let when_failed = signer
            .issue_consuming(&grant(), now(), Some(&failed))
            .await
            .unwrap_err();

        assert!(matches!(when_unavailable, SigningError::Unavailable(_)));
        assert!(matches!(when_failed, SigningError::Internal(_)));
        for single_use in [&unavailable, &failed] {
            let calls = single_use.calls();
            assert_eq!(calls.len(), 2);
            assert!(calls[0].starts_with("keep "));
            assert_eq!(calls[1], "release");
        }
    }

    #[tokio::test]
    async fn without_a_record_it_issues_like_issue() {
        let signer = signer().await;

        let issued = signer.issue_consuming(&grant(), now(), None).await.unwrap();

        assert_eq!(issued.scopes, vec!["programs:read".to_owned()]);
        assert_eq!(issued.expires_in(), MAX_TTL_MINUTES * 60);
    }
}
