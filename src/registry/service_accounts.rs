//! Service-account configs: a credential kind of a client (scheme E, `POST /v0/sign_in/token`).
//!
//! A config names what tokens its assertions may get (scopes, audience, a lifetime of exactly 5 or
//! 30 minutes, the user attributes an assertion may carry) and holds the X.509 certificates whose
//! RSA keys sign those assertions, several at once for rotation. Registration checks everything
//! against the owning client's policy and refuses certificates that are unparsable, expired or not
//! yet valid. The used-assertion (`jti`) record lives in `used_assertions`. This module never
//! verifies an assertion: that is the scheme's work, with the keys found here.

mod certificate;
mod registration;
mod storage;
mod used_assertions;

use chrono::{DateTime, Utc};

pub use certificate::{Certificate, CertificateKey};
pub(crate) use used_assertions::{start as start_assertion_uses, AssertionUses};
pub use used_assertions::{AssertionClaim, ClaimedAssertion};

use super::cache::Lookup;
use super::{Client, ClientRegistry, RegistryError};
use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::domain::ClientId;
use registration::{check, prepare_certificates};

/// The user attributes an assertion may carry, when its config allows them.
pub const USER_ATTRIBUTES: [&str; 4] = ["icn", "type", "credential_id", "participant_id"];
/// The access-token lifetimes a config may have, seconds (5 or 30 minutes).
pub const ACCESS_TOKEN_DURATIONS_SECONDS: [i64; 2] = [300, 1800];
/// Most certificates one config may hold.
pub const MAX_CERTIFICATES: usize = 20;
/// Longest service-account id.
pub const MAX_ID_LEN: usize = 128;

/// A registered service-account config with its certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    /// Public identifier, named by assertions (`service_account_id` or `iss`).
    pub id: String,
    /// The client whose policy its tokens obey.
    pub client_id: ClientId,
    /// What it is for.
    pub description: String,
    /// Scopes its assertions may ask for.
    pub scopes: Vec<String>,
    /// The `aud` of its access tokens.
    pub access_token_audience: String,
    /// Lifetime of its access tokens, seconds: 300 or 1800.
    pub access_token_duration_seconds: i64,
    /// User attributes its assertions may carry.
    pub access_token_user_attributes: Vec<String>,
    /// Certificates whose keys may sign its assertions, oldest first.
    pub certificates: Vec<Certificate>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When an assertion of it last got a token, if ever (written a few seconds late, in
    /// batches; never written by a change to the config).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What an administrator supplies to register a service account.
#[derive(Clone, Debug, Default)]
pub struct NewServiceAccount {
    /// A chosen id; `None` generates 32 lowercase hex characters.
    pub id: Option<String>,
    /// The owning client.
    pub client_id: String,
    /// What it is for.
    pub description: String,
    /// Scopes, within the client's allowed scopes.
    pub scopes: Vec<String>,
    /// The `aud` of its access tokens.
    pub access_token_audience: String,
    /// 300 or 1800, within the client's maximum lifetime.
    pub access_token_duration_seconds: i64,
    /// Allowed user attributes, within [`USER_ATTRIBUTES`].
    pub access_token_user_attributes: Vec<String>,
    /// PEM-encoded X.509 certificates with RSA keys.
    pub certificates: Vec<String>,
}

/// A partial change to a config; `None` leaves a field as it is. `certificates` replaces the
/// whole list (to drop a rotated-out certificate). Serialized, it is the audit trail's details:
/// the fields it changes, certificates by count.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ServiceAccountUpdate {
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// New token audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_audience: Option<String>,
    /// New token lifetime, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_duration_seconds: Option<i64>,
    /// New allowed user attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_user_attributes: Option<Vec<String>>,
    /// A new certificate list, PEM.
    #[serde(rename = "certificates", serialize_with = "count_of")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<String>>,
}

/// A replaced certificate list in the audit trail: how many there are now.
fn count_of<S: serde::Serializer>(pems: &Option<Vec<String>>, to: S) -> Result<S::Ok, S::Error> {
    match pems {
        Some(pems) => to.serialize_some(&pems.len()),
        None => to.serialize_none(),
    }
}

/// Whether `id` can be a service-account id: 1 to 128 ASCII letters, digits, `-`, `_` or `.`,
/// so it fits in a URL path segment as it is.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ClientRegistry {
    /// Registers a service account for an existing client.
    #[tracing::instrument(skip_all, fields(client_id = %new.client_id))]
    pub async fn create_service_account(
        &self,
        new: NewServiceAccount,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ServiceAccount, RegistryError> {
        let client = self.client(&new.client_id).await.map_err(|e| match e {
            RegistryError::NotFound(_) => RegistryError::invalid("client_id", "no such client"),
            other => other,
        })?;
        let id = match new.id {
            Some(id) if is_valid_id(&id) => id,
            Some(_) => {
                return Err(RegistryError::invalid(
                    "service_account_id",
                    "must be 1 to 128 ASCII letters, digits, '-', '_' or '.'",
                ))
            }
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        let certificates = prepare_certificates(&new.certificates, "certificates", now)?;
        let mut account = ServiceAccount {
            id,
            client_id: client.id.clone(),
            description: new.description,
            scopes: new.scopes,
            access_token_audience: new.access_token_audience,
            access_token_duration_seconds: new.access_token_duration_seconds,
            access_token_user_attributes: new.access_token_user_attributes,
            certificates: certificates.iter().map(|c| c.certificate.clone()).collect(),
            created_at: now,
            updated_at: now,
            last_used_at: None,
        };
        check(&mut account, &client)?;
        let mut tx = self.db.pool().begin().await?;
        storage::insert(&mut tx, &account).await?;
        for c in &certificates {
            storage::insert_certificate(&mut tx, &account.id, c, "certificates").await?;
        }
        let event = Event::new("service_account.create", &account.id).with(serde_json::json!({
            "client_id": account.client_id.as_str(),
            "scopes": account.scopes,
            "access_token_audience": account.access_token_audience,
            "certificates": account.certificates.len(),
        }));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        tracing::info!(service_account_id = %account.id, "service account created");
        Ok(account)
    }

    /// One service account by id.
    pub async fn service_account(&self, id: &str) -> Result<ServiceAccount, RegistryError> {
        if !is_valid_id(id) {
            return Err(RegistryError::NotFound("service account"));
        }
        storage::find(self.db.pool(), id)
            .await?
            .ok_or(RegistryError::NotFound("service account"))
    }

    /// A service account and its client, as an assertion names it: what scheme E verifies with.
    pub async fn service_account_with_client(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(ServiceAccount, Client), RegistryError> {
        // A lookup by id, no secret involved: the key is the id's alone.
        let cache_key = self.service_account_lookups.key(id, "");
        let fill = match self.service_account_lookups.lookup(&cache_key, now).await {
            Lookup::Hit(found) => return Ok(found),
            Lookup::Miss(fill) => fill,
        };
        let account = self.service_account(id).await?;
        let client = self.client(account.client_id.as_str()).await?;
        let found = (account, client);
        let client_id = found.1.id.to_string();
        self.service_account_lookups
            .insert(cache_key, &client_id, fill, None, found.clone());
        Ok(found)
    }

    /// Every service account, oldest first.
    pub async fn service_accounts(&self) -> Result<Vec<ServiceAccount>, RegistryError> {
        storage::list(self.db.pool()).await
    }

    /// Changes a service account; every rule of registration applies to the result.
    #[tracing::instrument(skip_all, fields(service_account_id = %id))]
    pub async fn update_service_account(
        &self,
        id: &str,
        change: ServiceAccountUpdate,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ServiceAccount, RegistryError> {
        let details = serde_json::to_value(&change).map_err(anyhow::Error::from)?;
        let mut account = self.service_account(id).await?;
        let client = self.client(account.client_id.as_str()).await?;
        let replacement = match &change.certificates {
            Some(pems) => Some(prepare_certificates(pems, "certificates", now)?),
            None => None,
        };
        macro_rules! set {
            ($field:ident) => {
                if let Some(value) = change.$field {
                    account.$field = value;
                }
            };
        }
        set!(description);
        set!(scopes);
        set!(access_token_audience);
        set!(access_token_duration_seconds);
        set!(access_token_user_attributes);
        if let Some(new) = &replacement {
            account.certificates = new.iter().map(|c| c.certificate.clone()).collect();
        }
        account.updated_at = now;
        check(&mut account, &client)?;
        let mut tx = self.db.pool().begin().await?;
        storage::update(&mut tx, &account).await?;
        if let Some(new) = &replacement {
            storage::delete_certificates(&mut tx, &account.id).await?;
            for c in new {
                storage::insert_certificate(&mut tx, &account.id, c, "certificates").await?;
            }
        }
        announce(&mut tx, Change::Client(account.client_id.as_str())).await?;
        let event = Event::new("service_account.update", &account.id).with(details);
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        self.forget_client(account.client_id.as_str());
        tracing::info!("service account updated");
        Ok(account)
    }

    /// Deletes a service account with its certificates; its assertions stop working at once.
    #[tracing::instrument(skip_all, fields(service_account_id = %id))]
    pub async fn delete_service_account(
        &self,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        if !is_valid_id(id) {
            return Err(RegistryError::NotFound("service account"));
        }
        let mut tx = self.db.pool().begin().await?;
        if !storage::delete(&mut tx, id).await? {
            return Err(RegistryError::NotFound("service account"));
        }
        announce(&mut tx, Change::All).await?;
        audit::record(
            &mut tx,
            actor,
            Event::new("service_account.delete", id),
            now,
        )
        .await?;
        tx.commit().await?;
        // The account's client is not at hand here; deletions are rare, so forget everything.
        self.forget_all();
        tracing::info!("service account deleted");
        Ok(())
    }

    /// Adds a certificate to a service account (rotation: the others keep working).
    #[tracing::instrument(skip_all, fields(service_account_id = %id))]
    pub async fn add_service_account_certificate(
        &self,
        id: &str,
        pem: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Certificate, RegistryError> {
        let account = self.service_account(id).await?;
        let mut prepared = prepare_certificates(&[pem.to_owned()], "pem", now)?;
        let new = prepared
            .pop()
            .ok_or_else(|| anyhow::anyhow!("a prepared certificate went missing"))?;
        let mut tx = self.db.pool().begin().await?;
        let count = storage::count_certificates(&mut tx, &account.id).await?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_CERTIFICATES {
            return Err(RegistryError::invalid(
                "pem",
                format!("a service account holds at most {MAX_CERTIFICATES} certificates"),
            ));
        }
        storage::insert_certificate(&mut tx, &account.id, &new, "pem").await?;
        announce(&mut tx, Change::Client(account.client_id.as_str())).await?;
        let event = Event::new("service_account.add_certificate", &account.id)
            .with(serde_json::json!({"fingerprint": new.certificate.fingerprint}));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        self.forget_client(account.client_id.as_str());
        tracing::info!(fingerprint = %new.certificate.fingerprint, "certificate added");
        Ok(new.certificate)
    }
}
