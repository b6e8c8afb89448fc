//! The bodies of `GET /admin/issuances` (printed by the CLI too), and the schema of the scheme
//! names the issuance record stores.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::signing::report::{IssuancePage, RecordedIssuance};

/// A scheme's name as the issuance record stores it. Admin knows no scheme: the app fills in
/// the OpenAPI enumeration from the scheme list (`app::openapi`), and the filters check a name
/// against the list the app hands the admin router ([`super::super::KnownSchemes`]).
pub struct SchemeName;

impl SchemeName {
    /// The schema's description.
    pub const DESCRIPTION: &'static str =
        "The scheme names the issuance record stores, one per token route.";
}

impl PartialSchema for SchemeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(Self::DESCRIPTION))
            .into()
    }
}

impl ToSchema for SchemeName {}

/// One issued token as recorded (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuanceView {
    /// The token's `jti`.
    #[schema(example = "0b6f7c3e-8a51-4e0a-9d1e-2f3c4b5a6d7e")]
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The scheme that issued it.
    #[schema(value_type = SchemeName)]
    pub scheme: String,
    /// Its `sub`.
    pub subject: String,
    /// Its scopes.
    #[schema(example = json!(["programs:read"]))]
    pub scopes: Vec<String>,
    /// Its state, if any.
    pub state: Option<String>,
    /// The caller's network address.
    pub caller_ip: Option<String>,
    /// The address the caller declared (`ipaddress` of `POST /auth/token/create`), as given.
    pub ip_address: Option<String>,
    /// Issue time (`iat`).
    pub issued_at: DateTime<Utc>,
    /// Expiry (`exp`).
    pub expires_at: DateTime<Utc>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// For a token exchanged at `/oauth/token` (RFC 8693) only: the trust policy that allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy_id: Option<String>,
    /// For an exchanged token only: the outside token's `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://token.actions.githubusercontent.com")]
    pub external_issuer: Option<String>,
    /// For an exchanged token only: the outside token's `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "repo:acme/app:ref:refs/heads/main")]
    pub external_subject: Option<String>,
}

impl From<RecordedIssuance> for IssuanceView {
    fn from(r: RecordedIssuance) -> Self {
        Self {
            jti: r.jti,
            client_id: r.client_id,
            scheme: r.scheme,
            subject: r.subject,
            scopes: r.scopes,
            state: r.state,
            caller_ip: r.caller_ip,
            ip_address: r.declared_ip,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            trust_policy_id: r.provenance.as_ref().map(|p| p.trust_policy_id.clone()),
            external_issuer: r.provenance.as_ref().map(|p| p.issuer.clone()),
            external_subject: r.provenance.map(|p| p.subject),
        }
    }
}

/// One page of the issuance record, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuancePageView {
    /// The issuances, by issue time descending (then `jti`).
    pub items: Vec<IssuanceView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<IssuancePage> for IssuancePageView {
    fn from(page: IssuancePage) -> Self {
        Self {
            items: page.items.into_iter().map(IssuanceView::from).collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}
