//! The signing core: turns a validated [`Grant`] into a signed, recorded access token.
//!
//! Order of work in [`Signer::issue`]: settle the grant against the client's policy (pure),
//! build the claims (pure), queue the issuance record for the next group commit, sign with the
//! active key of the client's algorithm (in memory) while the record's batch is written, and hand
//! the token back only once the record has committed. [`Signer::issue_consuming`] (in
//! `consuming`) does the same for an issuance that consumes a single-use record the registry
//! claimed, keeping it with the token or releasing it. It owns keys (storage, rotation,
//! JWKS) and verification of its own tokens. It never speaks HTTP and never imports `registry`.

mod consuming;
pub mod error;
pub mod grant;
mod issuance;
mod key_management;
pub mod key_revocation;
pub mod keys;
pub mod keystore;
pub mod master_key;
pub mod master_keys;
pub mod policy;
pub mod quota;
pub mod record;
pub mod report;
pub mod reseal;
pub mod sealed_secrets;
pub mod token;
pub mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sqlx::AnyPool;

pub use error::{PolicyError, SigningError, TokenError};
pub use grant::{Exchange, Grant, Provenance, ScopeRequest, StateRequest, TtlRequest};
pub use keystore::{KeyInfo, MasterKey};
pub use master_keys::MasterKeys;
pub use quota::OverQuota;

use crate::config::SigningSettings;
use keys::KeySet;
use record::{Issuance, IssuanceLog};

/// A signed access token. Its `Debug` output is redacted, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// The compact JWS, for the one response that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

/// The outcome of a successful issuance.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The token.
    pub token: AccessToken,
    /// Its `jti`.
    pub jti: String,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// The scopes it carries.
    pub scopes: Vec<String>,
    /// The state it carries.
    pub state: Option<String>,
}

impl IssuedToken {
    /// Seconds from issue to expiry.
    pub fn expires_in(&self) -> i64 {
        (self.expires_at - self.issued_at).num_seconds()
    }
}

/// Named scope bundles a request may name instead of scopes (`assessment:all`): each expands to
/// the client's allowed scopes matching one of its patterns (exact, or a prefix ending in `*`).
#[derive(Clone, Debug, Default)]
pub struct ScopeBundles(HashMap<String, Vec<String>>);

impl ScopeBundles {
    /// Bundles from `(name, patterns)` pairs.
    pub fn new(bundles: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        Self(bundles.into_iter().collect())
    }

    /// The allowed scopes a bundle covers, in the client's order; `None` if `name` is no bundle.
    pub fn expand(&self, name: &str, allowed: &[String]) -> Option<Vec<String>> {
        let patterns = self.0.get(name)?;
        let covered = |scope: &str| {
            patterns.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => scope.starts_with(prefix) && scope != name,
                None => scope == p,
            })
        };
        Some(allowed.iter().filter(|s| covered(s)).cloned().collect())
    }
}

/// Told of every token the signer issues, once its record has committed (the service's metrics
/// implement it; the signing core knows nothing of how it is counted).
pub trait IssuanceObserver: Send + Sync {
    /// One token of `scheme` was issued to `client_id`.
    fn issued(&self, scheme: &'static str, client_id: &str);
}

/// Issues and verifies access tokens; holds this instance's view of the key set.
pub struct Signer {
    pool: AnyPool,
    master: MasterKeys,
    keys: ArcSwap<KeySet>,
    log: IssuanceLog,
    issuer: String,
    audience: String,
    max_ttl_cap_minutes: i64,
    leeway_seconds: i64,
    verify_after_expiry_seconds: i64,
    bundles: ScopeBundles,
    observer: Option<Arc<dyn IssuanceObserver>>,
    /// Serializes reloads; holds the `now` of the latest one.
    reloading: tokio::sync::Mutex<DateTime<Utc>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Checks that this instance holds every master key that sealed a stored value, makes sure
    /// every algorithm has keys, then loads them.
    pub async fn start(
        db: &crate::db::Database,
        master: MasterKeys,
        settings: &SigningSettings,
        now: DateTime<Utc>,
    ) -> Result<Self, SigningError> {
        let pool = db.pool().clone();
        reseal::check_held(&pool, &master).await?;
        keystore::ensure_keys(&pool, &master, now).await?;
        let keys = keystore::load(&pool, &master, now, None).await?;
        Ok(Self {
            log: IssuanceLog::new(pool.clone(), db.backend(), settings.issuance_writers),
            pool,
            master,
            keys: ArcSwap::from_pointee(keys),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            max_ttl_cap_minutes: settings.max_ttl_cap_minutes,
            leeway_seconds: settings.verify_leeway_seconds,
            verify_after_expiry_seconds: settings.verify_after_expiry_seconds.max(0),
            bundles: ScopeBundles::new(settings.scope_bundles.clone()),
            observer: None,
            reloading: tokio::sync::Mutex::new(now),
        })
    }

    /// Issuance records waiting for their batch to be written (metrics).
    pub fn queued_records(&self) -> usize {
        self.log.queued()
    }

    /// Tells `observer` of every token issued from now on.
    pub fn observed_by(mut self, observer: Arc<dyn IssuanceObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Issues a token for a grant: policy, claims, then the signature while the record is written;
    /// the token is returned only once its record has committed.
    #[tracing::instrument(skip_all, fields(scheme = grant.scheme, client_id = %grant.client_id))]
    pub async fn issue(
        &self,
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, SigningError> {
        let settled = policy::settle(grant, &self.bundles)?;
        let key = self
            .keys
            .load()
            .signing_key(grant.policy.algorithm)
            .ok_or_else(|| anyhow::anyhow!("no active {} key", grant.policy.algorithm))?;
        let issued_at = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let expires_at = issued_at + Duration::seconds(settled.ttl_seconds);
        let jti = uuid::Uuid::now_v7().to_string();
        let audience = match &grant.audience {
            None => Value::from(self.audience.as_str()),
            Some(list) if list.len() == 1 => Value::from(list[0].as_str()),
            Some(list) => Value::from(list.clone()),
        };
        let claims = token::AccessClaims {
            iss: &self.issuer,
            sub: &grant.subject,
            aud: audience,
            client_id: grant.client_id.as_str(),
            iat: issued_at.timestamp(),
            nbf: issued_at.timestamp(),
            exp: expires_at.timestamp(),
            jti: &jti,
            scope: (!settled.scopes.is_empty()).then(|| settled.scopes.join(" ")),
            state: settled.state.as_deref(),
            extra: &grant.extra_claims,
        };
        // The record is queued first and the token signed while its batch is written; it leaves
        // only once the row has committed. (Should signing fail, the row of a token that never
        // left is written anyway: a record too many, never a token too many.)
        let committed = self
            .log
            .enqueue(Issuance {
                jti: jti.clone(),
                client_id: grant.client_id.to_string(),
                scheme: grant.scheme,
                subject: grant.subject.clone(),
                scopes: settled.scopes.join(" "),
                state: settled.state.clone(),
                caller_ip: grant.caller_ip,
                declared_ip: grant.declared_ip.clone(),
                kid: key.kid().to_owned(),
                issued_at,
                expires_at,
                revocable_by_subject: grant.revocable_by_subject,
                provenance: grant.provenance.clone(),
                quota: grant.policy.quota,
            })
            .await?;
        // Let the writer take the record (it may be waiting on this task's worker) before the
        // signature keeps this worker busy.
        tokio::task::yield_now().await;
        let token = token::encode(&key, &claims);
        committed.await?;
        let token = token?;
        tracing::info!(jti = %jti, kid = key.kid(), "token issued");
        if let Some(observer) = &self.observer {
            observer.issued(grant.scheme, grant.client_id.as_str());
        }
        Ok(IssuedToken {
            token: AccessToken(token),
            jti,
            issued_at,
            expires_at,
            scopes: settled.scopes,
            state: settled.state,
        })
    }

    /// Verifies one of this service's access tokens and returns its claims.
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Map<String, Value>, TokenError> {
        verify::verify(
            &self.keys.load(),
            &self.issuer,
            token,
            now,
            self.leeway_seconds,
        )
    }

    /// Verifies a token and checks it has not been revoked: what every protected endpoint uses.
    /// Fails closed when revocation cannot be checked.
    pub async fn verify_active(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Map<String, Value>, TokenError> {
        let claims = self.verify(token, now)?;
        self.unless_revoked(claims).await
    }

    /// Verifies a token like [`Self::verify_active`], except that its `exp` may have passed up
    /// to `grace_seconds` ago: for a refresh route, which renews expired tokens within a window.
    pub async fn verify_active_allowing_expiry(
        &self,
        token: &str,
        now: DateTime<Utc>,
        grace_seconds: i64,
    ) -> Result<Map<String, Value>, TokenError> {
        let claims = verify::verify_allowing_expiry(
            &self.keys.load(),
            &self.issuer,
            token,
            now,
            self.leeway_seconds,
            grace_seconds,
        )?;
        self.unless_revoked(claims).await
    }

    /// The claims, unless their `jti` was revoked; fails closed when that cannot be checked.
    async fn unless_revoked(
        &self,
        claims: Map<String, Value>,
    ) -> Result<Map<String, Value>, TokenError> {
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::Invalid("jti is missing".into()))?;
        // A verified token's `exp` names the one partition of the record that can hold it.
        let expiry = claims.get("exp").and_then(Value::as_i64);
        match self.log.is_revoked(jti, expiry).await {
            Ok(false) => Ok(claims),
            Ok(true) => Err(TokenError::Revoked),
            Err(err) => {
                tracing::warn!(error = %err, "cannot check token revocation");
                Err(TokenError::Unavailable)
            }
        }
    }

    /// Adds the tokens this instance issued since the last flush to the hourly figures (see
    /// [`IssuanceLog::flush_hours`]); returns how many figures it wrote.
    pub async fn flush_hours(&self) -> Result<usize, SigningError> {
        self.log.flush_hours().await
    }

    /// Tokens per hour and scheme, for the console's chart (see [`IssuanceLog::hourly_counts`]).
    pub async fn hourly_counts(
        &self,
        filter: &report::IssuanceFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<report::HourlyCount>, SigningError> {
        self.log.hourly_counts(filter, since, until).await
    }

    /// Tokens a client with a quota has taken in the current minute and the current day, over
    /// every instance (see [`quota`]).
    pub async fn quota_used(
        &self,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(i64, i64), SigningError> {
        Ok(quota::used(&self.pool, client_id, now).await?)
    }

    /// Revokes tokens by `jti`; every protected endpoint refuses them from now on. Returns how
    /// many were newly revoked.
    pub async fn revoke(&self, jtis: &[String], now: DateTime<Utc>) -> Result<u64, SigningError> {
        let revoked = self.log.revoke(jtis, now).await?;
        tracing::info!(count = revoked, "tokens revoked");
        Ok(revoked)
    }

    /// Revokes every live token a scheme issued to one subject with a grant marked
    /// `revocable_by_subject` (e.g. all AuthTokens of a revoked credential); returns how many were
    /// newly revoked.
    pub async fn revoke_subject(
        &self,
        scheme: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, SigningError> {
        let live = self.log.live_tokens(scheme, subject, now).await?;
        self.revoke(&live, now).await
    }

    /// The JWKS document of every published key.
    pub fn jwks(&self) -> Arc<Value> {
        self.keys.load().jwks()
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}
