//! The admin API's service-account bodies, shared with the CLI. Certificates are shown by
//! fingerprint, subject and validity, never re-echoed as PEM.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::registry::service_accounts::{
    Certificate, NewServiceAccount, ServiceAccount, ServiceAccountUpdate,
};

/// Default `access_token_duration` of a new service account, seconds.
pub const DEFAULT_ACCESS_TOKEN_DURATION: i64 = 300;

/// Registers a service account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccountRequest {
    /// The owning client, whose policy bounds the config.
    #[schema(example = "demo")]
    pub client_id: String,
    /// A chosen id; absent: 32 lowercase hex characters are generated.
    #[schema(example = "01b8ebaac5215f84640ade756b645f28")]
    pub service_account_id: Option<String>,
    /// What it is for.
    #[serde(default)]
    #[schema(example = "Nightly enrollment sync")]
    pub description: String,
    /// Scopes its assertions may ask for, within the client's allowed scopes.
    #[serde(default)]
    #[schema(example = json!(["programs:read"]))]
    pub scopes: Vec<String>,
    /// The `aud` of its access tokens.
    #[schema(example = "http://localhost:4000")]
    pub access_token_audience: String,
    /// Lifetime of its access tokens, seconds: 300 (default) or 1800.
    #[schema(example = 300)]
    pub access_token_duration: Option<i64>,
    /// User attributes its assertions may carry: `icn`, `type`, `credential_id`, `participant_id`.
    #[serde(default)]
    #[schema(example = json!(["icn"]))]
    pub access_token_user_attributes: Vec<String>,
    /// PEM-encoded X.509 certificates with RSA keys, currently valid.
    #[serde(default)]
    #[schema(example = json!(["-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----"]))]
    pub certificates: Vec<String>,
}

impl From<CreateServiceAccountRequest> for NewServiceAccount {
    fn from(r: CreateServiceAccountRequest) -> Self {
        Self {
            id: r.service_account_id,
            client_id: r.client_id,
            description: r.description,
            scopes: r.scopes,
            access_token_audience: r.access_token_audience,
            access_token_duration_seconds: r
                .access_token_duration
                .unwrap_or(DEFAULT_ACCESS_TOKEN_DURATION),
            access_token_user_attributes: r.access_token_user_attributes,
            certificates: r.certificates,
        }
    }
}

/// Changes a service account; absent fields stay as they are. `certificates` replaces the list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceAccountRequest {
    /// New description.
    pub description: Option<String>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// New token audience.
    pub access_token_audience: Option<String>,
    /// New token lifetime, seconds: 300 or 1800.
    pub access_token_duration: Option<i64>,
    /// New allowed user attributes.
    pub access_token_user_attributes: Option<Vec<String>>,
    /// The whole new certificate list (PEM), e.g. to drop a rotated-out certificate.
    pub certificates: Option<Vec<String>>,
}

impl From<UpdateServiceAccountRequest> for ServiceAccountUpdate {
    fn from(r: UpdateServiceAccountRequest) -> Self {
        Self {
            description: r.description,
            scopes: r.scopes,
            access_token_audience: r.access_token_audience,
            access_token_duration_seconds: r.access_token_duration,
            access_token_user_attributes: r.access_token_user_attributes,
            certificates: r.certificates,
        }
    }
}

/// Adds a certificate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCertificateRequest {
    /// A PEM-encoded X.509 certificate with an RSA key, currently valid.
    pub pem: String,
}

/// A registered certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// The certificate's id.
    pub certificate_id: String,
    /// SHA-256 of the DER encoding, lowercase hex.
    pub fingerprint: String,
    /// The subject's distinguished name.
    pub subject: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity; after it the certificate verifies nothing.
    pub not_after: DateTime<Utc>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl From<&Certificate> for CertificateView {
    fn from(c: &Certificate) -> Self {
        Self {
            certificate_id: c.id.clone(),
            fingerprint: c.fingerprint.clone(),
            subject: c.subject.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            created_at: c.created_at,
        }
    }
}

/// A service account as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceAccountView {
    /// Public identifier, named by assertions.
    #[schema(example = "01b8ebaac5215f84640ade756b645f28")]
    pub service_account_id: String,
    /// The owning client.
    pub client_id: String,
    /// What it is for.
    pub description: String,
    /// Scopes its assertions may ask for.
    pub scopes: Vec<String>,
    /// The `aud` of its access tokens.
    pub access_token_audience: String,
    /// Lifetime of its access tokens, seconds.
    pub access_token_duration: i64,
    /// User attributes its assertions may carry.
    pub access_token_user_attributes: Vec<String>,
    /// Its certificates, oldest first.
    pub certificates: Vec<CertificateView>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When an assertion of it last got a token; `null` if never. Written in batches, so it may
    /// lag a use by a few seconds.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&ServiceAccount> for ServiceAccountView {
    fn from(a: &ServiceAccount) -> Self {
        Self {
            service_account_id: a.id.clone(),
            client_id: a.client_id.to_string(),
            description: a.description.clone(),
            scopes: a.scopes.clone(),
            access_token_audience: a.access_token_audience.clone(),
            access_token_duration: a.access_token_duration_seconds,
            access_token_user_attributes: a.access_token_user_attributes.clone(),
            certificates: a.certificates.iter().map(CertificateView::from).collect(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            last_used_at: a.last_used_at,
        }
    }
}
