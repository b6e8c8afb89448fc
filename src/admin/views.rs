//! The admin API's request and response bodies, shared with the CLI so both speak the same JSON.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::domain::{normalize_phone, Algorithm, ClientPolicy, Quota};
use crate::registry::{
    Client, ClientKeys, ClientStatus, ClientUpdate, IssuedSecret, NewClient, RegistryError,
    SecretInfo,
};
use crate::signing::KeyInfo;

/// Default `max_ttl_minutes` of a new client.
pub const DEFAULT_MAX_TTL_MINUTES: i64 = 60;

/// Registers a client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// Display name.
    #[schema(example = "Acme Careers")]
    pub name: String,
    /// Scopes the client may receive.
    #[serde(default)]
    #[schema(example = json!(["programs:read", "schools:read"]))]
    pub allowed_scopes: Vec<String>,
    /// Scopes given when a request names none; default: none.
    #[serde(default)]
    #[schema(example = json!(["programs:read"]))]
    pub default_scopes: Vec<String>,
    /// Two-letter states the client may receive.
    #[serde(default)]
    #[schema(example = json!(["IC", "OH"]))]
    pub allowed_states: Vec<String>,
    /// State given when a request names none.
    #[schema(example = "IC")]
    pub default_state: Option<String>,
    /// Longest token lifetime, minutes (default 60).
    #[schema(example = 60)]
    pub max_ttl_minutes: Option<i64>,
    /// Signing algorithm (default ES256).
    pub algorithm: Option<Algorithm>,
    /// Registered phone numbers (E.164).
    #[serde(default)]
    #[schema(example = json!(["+380501234567"]))]
    pub phones: Vec<String>,
    /// Contact e-mail.
    #[schema(example = "dev@acme.example")]
    pub email: Option<String>,
    /// Its public keys for `private_key_jwt` (a JWK Set: RS256, ES256 or EdDSA keys, public parts
    /// only); not with `jwks_uri`.
    #[schema(value_type = Option<Object>, example = json!({"keys": [{"kty": "EC", "crv": "P-256",
        "kid": "ci-2026", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}))]
    pub jwks: Option<serde_json::Value>,
    /// Where it publishes its JWK Set for `private_key_jwt` (https); not with `jwks`.
    #[schema(example = json!(null))]
    pub jwks_uri: Option<String>,
    /// Refuse it a token without a DPoP proof (RFC 9449); default false.
    #[serde(default)]
    pub require_dpop: bool,
    /// Most tokens per UTC minute and per UTC day over every scheme and instance; absent:
    /// unlimited. Past it, token requests get 429 with `Retry-After`.
    #[schema(example = json!({"per_minute": 600, "per_day": 100000}))]
    pub quota: Option<Quota>,
}

impl CreateClientRequest {
    /// The registry's input, with phones normalized to E.164.
    pub fn into_new_client(self) -> Result<NewClient, RegistryError> {
        Ok(NewClient {
            id: None,
            name: self.name,
            policy: ClientPolicy {
                allowed_scopes: self.allowed_scopes,
                default_scopes: self.default_scopes,
                allowed_states: self.allowed_states,
                default_state: self.default_state,
                max_ttl_minutes: self.max_ttl_minutes.unwrap_or(DEFAULT_MAX_TTL_MINUTES),
                algorithm: self.algorithm.unwrap_or_default(),
                quota: self.quota.unwrap_or_default(),
            },
            phones: normalize_phones(self.phones)?,
            email: self.email,
            keys: ClientKeys {
                jwks: self.jwks,
                jwks_uri: self.jwks_uri,
                require_dpop: self.require_dpop,
            },
        })
    }
}

/// Changes a client; absent fields stay as they are, `null` clears a nullable one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientRequest {
    /// New name.
    pub name: Option<String>,
    /// New allowed scopes.
    pub allowed_scopes: Option<Vec<String>>,
    /// New default scopes.
    pub default_scopes: Option<Vec<String>>,
    /// New allowed states.
    pub allowed_states: Option<Vec<String>>,
    /// New default state; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub default_state: Option<Option<String>>,
    /// New maximum lifetime, minutes.
    pub max_ttl_minutes: Option<i64>,
    /// New signing algorithm.
    pub algorithm: Option<Algorithm>,
    /// `active` or `suspended`; suspension stops every credential at once.
    #[schema(example = "suspended")]
    pub status: Option<String>,
    /// New phones.
    pub phones: Option<Vec<String>>,
    /// New e-mail; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// New JWK Set for `private_key_jwt`; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Option<serde_json::Value>>,
    /// New JWK Set URL; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub jwks_uri: Option<Option<String>>,
    /// Whether a DPoP proof is required from now on.
    pub require_dpop: Option<bool>,
    /// New quota, replacing the old one whole; `null` (or `{}`) removes every limit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Quota>)]
    pub quota: Option<Option<Quota>>,
}

impl UpdateClientRequest {
    /// The registry's input.
    pub fn into_update(self) -> Result<ClientUpdate, RegistryError> {
        let status = self
            .status
            .map(|s| {
                ClientStatus::parse(&s)
                    .ok_or_else(|| RegistryError::invalid("status", "must be active or suspended"))
            })
            .transpose()?;
        Ok(ClientUpdate {
            name: self.name,
            allowed_scopes: self.allowed_scopes,
            default_scopes: self.default_scopes,
            allowed_states: self.allowed_states,
            default_state: self.default_state,
            max_ttl_minutes: self.max_ttl_minutes,
            algorithm: self.algorithm,
            status,
            phones: self.phones.map(normalize_phones).transpose()?,
            email: self.email,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            require_dpop: self.require_dpop,
            quota: self.quota.map(Option::unwrap_or_default),
        })
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn normalize_phones(phones: Vec<String>) -> Result<Vec<String>, RegistryError> {
    phones
        .iter()
        .map(|p| {
            normalize_phone(p).ok_or_else(|| {
                RegistryError::invalid("phones", format!("{p:?} is not an E.164 phone number"))
            })
        })
        .collect()
}

/// A client as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    /// Public identifier.
    #[schema(example = "3f2a9c1e8b7d4e6fa0b1c2d3e4f5a6b7")]
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Scopes the client may receive.
    pub allowed_scopes: Vec<String>,
    /// Scopes given by default.
    pub default_scopes: Vec<String>,
    /// States the client may receive.
    pub allowed_states: Vec<String>,
    /// State given by default.
    pub default_state: Option<String>,
    /// Longest token lifetime, minutes.
    pub max_ttl_minutes: i64,
    /// Signing algorithm.
    pub algorithm: Algorithm,
    /// `active` or `suspended`.
    pub status: String,
    /// Registered phones.
    pub phones: Vec<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Its registered JWK Set for `private_key_jwt` (public keys).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where it publishes its JWK Set.
    pub jwks_uri: Option<String>,
    /// Whether its tokens require a DPoP proof.
    pub require_dpop: bool,
    /// Its token quota; `null`: unlimited.
    pub quota: Option<Quota>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            allowed_scopes: c.policy.allowed_scopes.clone(),
            default_scopes: c.policy.default_scopes.clone(),
            allowed_states: c.policy.allowed_states.clone(),
            default_state: c.policy.default_state.clone(),
            max_ttl_minutes: c.policy.max_ttl_minutes,
            algorithm: c.policy.algorithm,
            status: c.status.as_str().to_owned(),
            phones: c.phones.clone(),
            email: c.email.clone(),
            jwks: c.keys.jwks.clone(),
            jwks_uri: c.keys.jwks_uri.clone(),
            require_dpop: c.keys.require_dpop,
            quota: (!c.policy.quota.is_unlimited()).then_some(c.policy.quota),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A new client with its first secret, shown this once (no `Debug`: it holds the secret).
#[derive(Serialize, ToSchema)]
pub struct CreatedClientView {
    /// The client.
    #[serde(flatten)]
    pub client: ClientView,
    /// The first secret; store it now, it is never shown again.
    pub client_secret: String,
    /// The secret's id, for revocation.
    pub secret_id: String,
}

impl CreatedClientView {
    /// The view of a just-created client and secret.
    pub fn new(client: &Client, secret: &IssuedSecret) -> Self {
        Self {
            client: client.into(),
            client_secret: secret.secret.expose_secret().to_owned(),
            secret_id: secret.secret_id.clone(),
        }
    }
}

/// Adds a secret.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSecretRequest {
    /// When the secret stops working (RFC 3339); absent: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new secret, shown this once (no `Debug`: it holds the secret).
#[derive(Serialize, ToSchema)]
pub struct IssuedSecretView {
    /// The secret's id.
    pub secret_id: String,
    /// The secret; store it now, it is never shown again.
    pub client_secret: String,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&IssuedSecret> for IssuedSecretView {
    fn from(s: &IssuedSecret) -> Self {
        Self {
            secret_id: s.secret_id.clone(),
            client_secret: s.secret.expose_secret().to_owned(),
            expires_at: s.expires_at,
        }
    }
}

/// A stored secret (never its value).
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    /// The secret's id.
    pub secret_id: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request; `null` if never. Written in batches, so it may
    /// lag a use by a few seconds.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&SecretInfo> for SecretView {
    fn from(s: &SecretInfo) -> Self {
        Self {
            secret_id: s.secret_id.clone(),
            created_at: s.created_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// A signing key (never its private part).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// `next` (published, not yet signing), `active` or `retired`.
    pub status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it started signing.
    pub activated_at: Option<DateTime<Utc>>,
    /// When it stopped signing.
    pub retired_at: Option<DateTime<Utc>>,
    /// Until when a retired key stays published.
    pub publish_until: Option<DateTime<Utc>>,
    /// When it was revoked (`POST /admin/keys/{kid}/revoke`): unpublished at once, its tokens
    /// refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&KeyInfo> for KeyView {
    fn from(k: &KeyInfo) -> Self {
        Self {
            kid: k.kid.clone(),
            algorithm: k.algorithm,
            status: k.status.clone(),
            created_at: k.created_at,
            activated_at: k.activated_at,
            retired_at: k.retired_at,
            publish_until: k.publish_until,
            revoked_at: k.revoked_at,
        }
    }
}

/// Rotates signing keys.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKeysRequest {
    /// The algorithm to rotate; absent: every algorithm.
    pub algorithm: Option<Algorithm>,
}

/// The keys that now sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    /// Algorithm.
    pub algorithm: Algorithm,
    /// The newly active key.
    pub kid: String,
}

impl From<(Algorithm, String)> for RotatedKey {
    fn from((algorithm, kid): (Algorithm, String)) -> Self {
        Self { algorithm, kid }
    }
}
