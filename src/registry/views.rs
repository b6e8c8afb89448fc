//! The JSON bodies of JWT credentials and their portal, shared by the client routes (the
//! `authtoken` scheme's portal), the admin API and the CLI so all three speak the same JSON;
//! kept beside the records they show, below every adapter, so no adapter imports another. Request bodies here document the wire
//! format; the client routes parse them field by field (`request.rs`), the admin API with serde.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AccessRequest, ApiGroup, IssuedJwtCredential, JwtCredential, Notification};

/// `POST /v1/access-requests`: the API groups wanted and why.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"api_groups": ["programs"], "reason": "Our careers site lists programs."}))]
#[allow(dead_code)] // documents the wire format; parsed field by field
pub struct AccessRequestBody {
    /// API group names (see `GET /admin/api-groups`); at least one.
    api_groups: Vec<String>,
    /// Why the access is needed, for the administrator (up to 2000 characters).
    reason: String,
}

/// An access request and its decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessRequestView {
    /// Identifier.
    #[schema(example = "ar_0193a4b2c3d47e8f9a0b1c2d3e4f5a6b")]
    pub id: String,
    /// The requesting client.
    #[schema(example = "demo")]
    pub client_id: String,
    /// `pending`, `approved` or `rejected`.
    #[schema(example = "pending")]
    pub status: String,
    /// The requested API groups.
    #[schema(example = json!(["programs"]))]
    pub api_groups: Vec<String>,
    /// The client's reason.
    #[schema(example = "Our careers site lists programs.")]
    pub reason: String,
    /// The administrator's note with the decision.
    pub decision_note: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<&AccessRequest> for AccessRequestView {
    fn from(r: &AccessRequest) -> Self {
        Self {
            id: r.id.clone(),
            client_id: r.client_id.to_string(),
            status: r.status.as_str().to_owned(),
            api_groups: r.api_groups.clone(),
            reason: r.reason.clone(),
            decision_note: r.decision_note.clone(),
            created_at: r.created_at,
            decided_at: r.decided_at,
        }
    }
}

/// A message to the client about a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Identifier.
    #[schema(example = "ntf_0193a4b2c3d47e8f9a0b1c2d3e4f5a6b")]
    pub id: String,
    /// `access_request_approved` or `access_request_rejected`.
    #[schema(example = "access_request_approved")]
    pub kind: String,
    /// The access request it is about.
    pub access_request_id: Option<String>,
    /// The text.
    #[schema(
        example = "Your access request ar_… for the API groups programs was approved: you \
        can now create JWT credentials for these groups.\nNote from the administrator: Welcome"
    )]
    pub message: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was marked read; `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.id.clone(),
            kind: n.kind.clone(),
            access_request_id: n.access_request_id.clone(),
            message: n.message.clone(),
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// `POST /v1/credentials`: a new JWT credential.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"username": "careers-site", "notes": "production web front end",
    "api_groups": ["programs"]}))]
#[allow(dead_code)] // documents the wire format; parsed field by field
pub struct CredentialBody {
    /// A name for the credential (1 to 100 characters).
    username: String,
    /// Free notes (optional, up to 2000 characters).
    notes: Option<String>,
    /// API groups whose scopes its tokens carry; each must be approved for the client.
    api_groups: Vec<String>,
}

/// A JWT credential (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// The public key, used with the secret to generate AuthTokens.
    #[schema(example = "398e54e888da42f8d089e28c298a42b0")]
    pub key: String,
    /// The credential's username.
    #[schema(example = "careers-site")]
    pub username: String,
    /// Notes.
    pub notes: String,
    /// Its API groups.
    #[schema(example = json!(["programs"]))]
    pub api_groups: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Revocation time; `null` while it works.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last got an AuthToken; `null` if never. Written in batches, so it may lag a use
    /// by a few seconds.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&JwtCredential> for CredentialView {
    fn from(c: &JwtCredential) -> Self {
        Self {
            key: c.key.clone(),
            username: c.username.clone(),
            notes: c.notes.clone(),
            api_groups: c.api_groups.clone(),
            created_at: c.created_at,
            revoked_at: c.revoked_at,
            last_used_at: c.last_used_at,
        }
    }
}

/// A credential just created, with its secret shown this once (in the body; `Debug` redacts it).
#[derive(Serialize, ToSchema)]
pub struct CreatedCredentialView {
    /// The public key.
    #[schema(example = "398e54e888da42f8d089e28c298a42b0")]
    pub key: String,
    /// The secret: store it now, it is never shown again.
    #[schema(example = "07c6e2t1rb92987fnrd705jkk8582p9e07c6e2t1rb9")]
    pub secret: String,
    /// The credential's username.
    #[schema(example = "careers-site")]
    pub username: String,
    /// Notes.
    pub notes: String,
    /// Its API groups.
    #[schema(example = json!(["programs"]))]
    pub api_groups: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for CreatedCredentialView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedCredentialView")
            .field("key", &self.key)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl From<&IssuedJwtCredential> for CreatedCredentialView {
    fn from(issued: &IssuedJwtCredential) -> Self {
        let c = &issued.credential;
        Self {
            key: c.key.clone(),
            secret: issued.secret.expose_secret().to_owned(),
            username: c.username.clone(),
            notes: c.notes.clone(),
            api_groups: c.api_groups.clone(),
            created_at: c.created_at,
        }
    }
}

/// `POST /admin/api-groups`: a named scope bundle.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiGroupBody {
    /// Unique name: letters, digits, `.`, `_`, `-`, `:` (up to 64).
    #[schema(example = "programs")]
    pub name: String,
    /// The scopes it grants (at least one).
    #[schema(example = json!(["programs:read", "schools:read"]))]
    pub scopes: Vec<String>,
}

/// An API group.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiGroupView {
    /// Its name.
    #[schema(example = "programs")]
    pub name: String,
    /// Its scopes.
    #[schema(example = json!(["programs:read", "schools:read"]))]
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<&ApiGroup> for ApiGroupView {
    fn from(g: &ApiGroup) -> Self {
        Self {
            name: g.name.clone(),
            scopes: g.scopes.clone(),
            created_at: g.created_at,
        }
    }
}

/// `POST /admin/access-requests/{id}/approve` or `/reject`: the note sent to the client.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The note (optional to approve, required to reject; up to 2000 characters).
    #[schema(example = "Welcome aboard")]
    pub note: Option<String>,
}
