//! Trust policies: which outside tokens (a JWT from an OpenID Connect issuer, such as a GitHub
//! Actions job's or a Kubernetes pod's) may be exchanged for an access token of which client
//! (CONTRACT F, RFC 8693). A policy names the issuer (and optionally where its keys are), the
//! audience the outside token must carry, the subject and claims it must match, the scopes it
//! may get (within its client's) and its longest lifetime.
//!
//! This module stores and checks policies and matches a verified token's claims against them; it
//! never fetches keys or verifies a signature (the scheme does, with `remote_keys`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

mod cache;

pub(crate) use cache::ExchangeCache;

use super::client::millis_to_time;
use super::{ClientRegistry, RegistryError};
use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::domain::ClientId;

/// Longest issuer, audience, subject or pattern.
const MAX_TEXT_LEN: usize = 512;
/// Most claim conditions one policy may hold.
const MAX_CLAIMS: usize = 32;

/// A registered trust policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Public identifier.
    pub id: String,
    /// The client its tokens are issued to.
    pub client_id: ClientId,
    /// The outside issuer, exactly as its tokens' `iss`.
    pub issuer: String,
    /// Where the issuer's keys are; `None`: from its OpenID Connect discovery document.
    pub jwks_uri: Option<String>,
    /// What the outside token's `aud` must contain.
    pub audience: String,
    /// What its `sub` must match (exact, or `*` for any run of characters).
    pub subject: String,
    /// Claims it must carry, each matching its value or pattern.
    pub claims: BTreeMap<String, String>,
    /// Scopes its tokens may carry.
    pub scopes: Vec<String>,
    /// Longest lifetime of its tokens, minutes.
    pub max_ttl_minutes: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What an administrator supplies for a new policy.
#[derive(Clone, Debug)]
pub struct NewTrustPolicy {
    /// The client.
    pub client_id: String,
    /// The issuer.
    pub issuer: String,
    /// Where its keys are.
    pub jwks_uri: Option<String>,
    /// The audience.
    pub audience: String,
    /// The subject pattern.
    pub subject: String,
    /// Claim patterns.
    pub claims: BTreeMap<String, String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Longest lifetime, minutes.
    pub max_ttl_minutes: i64,
}

/// A partial change to a policy; `None` leaves a field as it is. Serialized, it is the audit
/// trail's details: only the fields it changes.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TrustPolicyUpdate {
    /// New issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// New key location (`Some(None)` clears it: discovery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<Option<String>>,
    /// New audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// New subject pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// New claim patterns (replace the old ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<BTreeMap<String, String>>,
    /// New scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// New longest lifetime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ttl_minutes: Option<i64>,
}

impl TrustPolicy {
    /// Whether a verified outside token's claims satisfy the policy: `aud` (a string or an array)
    /// contains its audience, `sub` matches its subject, and every claim condition matches (a
    /// number or boolean claim is compared as its JSON text).
    pub fn admits(&self, claims: &serde_json::Map<String, Value>) -> bool {
        let audience_ok = match claims.get("aud") {
            Some(Value::String(one)) => *one == self.audience,
            Some(Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        };
        let text = |value: &Value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
            _ => None,
        };
        let subject_ok = claims
            .get("sub")
            .and_then(text)
            .is_some_and(|sub| matches_pattern(&self.subject, &sub));
        let conditions_ok = self.claims.iter().all(|(name, pattern)| {
            claims
                .get(name)
                .and_then(text)
                .is_some_and(|value| matches_pattern(pattern, &value))
        });
        audience_ok && subject_ok && conditions_ok
    }
}

/// Whether `value` matches `pattern`, where `*` matches any run of characters (none included)
/// and everything else matches itself.
pub fn matches_pattern(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

const COLUMNS: &str = "id, client_id, issuer, jwks_uri, audience, subject, claims, scopes, \
     max_ttl_minutes, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<TrustPolicy, RegistryError> {
    let json = |column: &str| -> Result<Value, RegistryError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("column {column} holds bad JSON: {e}").into())
    };
    Ok(TrustPolicy {
        id: row.try_get("id")?,
        client_id: ClientId::parse(&row.try_get::<String, _>("client_id")?)
            .ok_or_else(|| anyhow::anyhow!("stored client id is malformed"))?,
        issuer: row.try_get("issuer")?,
        jwks_uri: row.try_get("jwks_uri")?,
        audience: row.try_get("audience")?,
        subject: row.try_get("subject")?,
        claims: serde_json::from_value(json("claims")?)
            .map_err(|e| anyhow::anyhow!("column claims holds bad JSON: {e}"))?,
        scopes: serde_json::from_value(json("scopes")?)
            .map_err(|e| anyhow::anyhow!("column scopes holds bad JSON: {e}"))?,
        max_ttl_minutes: row.try_get("max_ttl_minutes")?,
        created_at: millis_to_time(row.try_get("created_at")?),
        updated_at: millis_to_time(row.try_get("updated_at")?),
    })
}

impl ClientRegistry {
    /// Registers a trust policy, checked against its client's policy.
    #[tracing::instrument(skip_all, fields(client_id = %new.client_id))]
    pub async fn create_trust_policy(
        &self,
        new: NewTrustPolicy,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TrustPolicy, RegistryError> {
        let client = self.client(&new.client_id).await.map_err(|e| match e {
            RegistryError::NotFound(_) => {
                RegistryError::invalid("client_id", "no client with this id")
            }
            other => other,
        })?;
        let policy = TrustPolicy {
            id: ClientId::generate().to_string(),
            client_id: client.id.clone(),
            issuer: new.issuer,
            jwks_uri: new.jwks_uri,
            audience: new.audience,
            subject: new.subject,
            claims: new.claims,
            scopes: new.scopes,
            max_ttl_minutes: new.max_ttl_minutes,
            created_at: now,
            updated_at: now,
        };
        self.check_trust_policy(&policy, &client.policy.allowed_scopes)?;
        let event = Event::new("trust_policy.create", &policy.id).with(serde_json::json!({
            "client_id": policy.client_id.as_str(),
            "issuer": policy.issuer,
            "audience": policy.audience,
            "subject": policy.subject,
            "scopes": policy.scopes,
        }));
        self.write_trust_policy(&policy, true, actor, event, now)
            .await?;
        tracing::info!(trust_policy_id = %policy.id, "trust policy created");
        Ok(policy)
    }

    /// Every trust policy, oldest first.
    pub async fn trust_policies(&self) -> Result<Vec<TrustPolicy>, RegistryError> {
        let sql = format!("select {COLUMNS} from trust_policies order by created_at, id");
        let rows = sqlx::query(&sql).fetch_all(self.db.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    /// One trust policy.
    pub async fn trust_policy(&self, id: &str) -> Result<TrustPolicy, RegistryError> {
        let sql = format!("select {COLUMNS} from trust_policies where id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(RegistryError::NotFound("trust policy"))?;
        from_row(&row)
    }

    /// Changes a trust policy.
    #[tracing::instrument(skip_all, fields(trust_policy_id = %id))]
    pub async fn update_trust_policy(
        &self,
        id: &str,
        change: TrustPolicyUpdate,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TrustPolicy, RegistryError> {
        let details = serde_json::to_value(&change).map_err(anyhow::Error::from)?;
        let mut policy = self.trust_policy(id).await?;
        macro_rules! set {
            ($field:ident) => {
                if let Some(value) = change.$field {
                    policy.$field = value;
                }
            };
        }
        set!(issuer);
        set!(jwks_uri);
        set!(audience);
        set!(subject);
        set!(claims);
        set!(scopes);
        set!(max_ttl_minutes);
        policy.updated_at = now;
        let client = self.client(policy.client_id.as_str()).await?;
        self.check_trust_policy(&policy, &client.policy.allowed_scopes)?;
        let event = Event::new("trust_policy.update", &policy.id).with(details);
        self.write_trust_policy(&policy, false, actor, event, now)
            .await?;
        tracing::info!("trust policy updated");
        Ok(policy)
    }

    /// Deletes a trust policy: its tokens live on until they expire, no new one is issued.
    #[tracing::instrument(skip_all, fields(trust_policy_id = %id))]
    pub async fn delete_trust_policy(
        &self,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        let mut tx = self.db.pool().begin().await?;
        let deleted: Option<(String,)> =
            sqlx::query_as("delete from trust_policies where id = $1 returning client_id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((client_id,)) = deleted else {
            return Err(RegistryError::NotFound("trust policy"));
        };
        announce(&mut tx, Change::Client(&client_id)).await?;
        audit::record(&mut tx, actor, Event::new("trust_policy.delete", id), now).await?;
        tx.commit().await?;
        self.forget_client(&client_id);
        tracing::info!("trust policy deleted");
        Ok(())
    }

    /// The checks of every field, against the client's allowed scopes and the URL rules.
    fn check_trust_policy(
        &self,
        policy: &TrustPolicy,
        allowed_scopes: &[String],
    ) -> Result<(), RegistryError> {
        self.check_remote_url("issuer", &policy.issuer)?;
        if let Some(uri) = &policy.jwks_uri {
            self.check_remote_url("jwks_uri", uri)?;
        }
        for (field, text) in [("audience", &policy.audience), ("subject", &policy.subject)] {
            if text.trim().is_empty() || text.len() > MAX_TEXT_LEN {
                return Err(RegistryError::invalid(
                    field,
                    format!("must be 1 to {MAX_TEXT_LEN} characters"),
                ));
            }
        }
        if policy.claims.len() > MAX_CLAIMS
            || policy.claims.iter().any(|(name, value)| {
                name.is_empty() || name.len() > 100 || value.len() > MAX_TEXT_LEN
            })
        {
            return Err(RegistryError::invalid(
                "claims",
                format!("at most {MAX_CLAIMS} claims, each a name and a value or pattern"),
            ));
        }
        if policy.scopes.is_empty() {
            return Err(RegistryError::invalid("scopes", "name at least one scope"));
        }
        if let Some(outside) = policy.scopes.iter().find(|s| !allowed_scopes.contains(s)) {
            return Err(RegistryError::invalid(
                "scopes",
                format!("{outside:?} is not among the client's allowed scopes"),
            ));
        }
        if !(1..=self.max_ttl_cap_minutes).contains(&policy.max_ttl_minutes) {
            return Err(RegistryError::invalid(
                "max_ttl_minutes",
                format!("must be between 1 and {}", self.max_ttl_cap_minutes),
            ));
        }
        Ok(())
    }

    async fn write_trust_policy(
        &self,
        policy: &TrustPolicy,
        new: bool,
        actor: &Actor,
        event: Event,
        now: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        let sql = if new {
            format!(
                "insert into trust_policies ({COLUMNS}) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            )
        } else {
            "update trust_policies set client_id = $2, issuer = $3, jwks_uri = $4, \
             audience = $5, subject = $6, claims = $7, scopes = $8, max_ttl_minutes = $9, \
             created_at = $10, updated_at = $11 where id = $1"
                .to_owned()
        };
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(&sql)
            .bind(&policy.id)
            .bind(policy.client_id.as_str())
            .bind(&policy.issuer)
            .bind(policy.jwks_uri.as_deref())
            .bind(&policy.audience)
            .bind(&policy.subject)
            .bind(serde_json::to_string(&policy.claims).map_err(anyhow::Error::from)?)
            .bind(serde_json::to_string(&policy.scopes).map_err(anyhow::Error::from)?)
            .bind(policy.max_ttl_minutes)
            .bind(policy.created_at.timestamp_millis())
            .bind(policy.updated_at.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        // Instances that cached this issuer's policies read them again (see `ExchangeCache`).
        announce(&mut tx, Change::Client(policy.client_id.as_str())).await?;
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        self.forget_client(policy.client_id.as_str());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
