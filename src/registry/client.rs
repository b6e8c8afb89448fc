//! `Client`: a tenant with its token policy, and the SQL that stores it.
//!
//! Phones are kept on the client row (the source of truth, in order) and mirrored in
//! `client_phones`, whose primary key makes a phone belong to one client and serves lookups.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};

use super::RegistryError;
use crate::domain::{Algorithm, ClientId, ClientPolicy, Quota};
use crate::remote_keys::{self, Policy, RemoteKeySettings};

/// Whether a client's credentials work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientStatus {
    /// Credentials work.
    Active,
    /// Every credential is refused.
    Suspended,
}

impl ClientStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Parses the stored and wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// How a client may prove itself without a secret (`private_key_jwt`, RFC 7523 §2.2), and
/// whether its tokens must be bound to a key of its own (DPoP, RFC 9449).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientKeys {
    /// Its registered public keys, a JWK Set (`{"keys": [..]}`), checked when registered.
    pub jwks: Option<serde_json::Value>,
    /// Where it publishes its JWK Set instead (never both).
    pub jwks_uri: Option<String>,
    /// Whether a token is refused to it without a valid DPoP proof.
    pub require_dpop: bool,
}

impl ClientKeys {
    /// Whether the keys can be registered: a JWK Set or a URL, not both (RFC 7591 §2), the set
    /// holding only public keys tokenmint can verify with. Returns the field at fault and why.
    pub fn check(&self, policy: Policy) -> Result<(), (&'static str, String)> {
        if self.jwks.is_some() && self.jwks_uri.is_some() {
            return Err(("jwks", "give jwks or jwks_uri, not both".into()));
        }
        if let Some(jwks) = &self.jwks {
            remote_keys::parse_registered_jwks(jwks, RemoteKeySettings::DEFAULT_MAX_KEYS)
                .map_err(|e| ("jwks", e.to_string()))?;
        }
        if let Some(uri) = &self.jwks_uri {
            remote_keys::check_url(uri, policy).map_err(|e| ("jwks_uri", e.to_string()))?;
        }
        Ok(())
    }
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// Public identifier.
    pub id: ClientId,
    /// Display name.
    pub name: String,
    /// What its tokens must obey.
    pub policy: ClientPolicy,
    /// Active or suspended.
    pub status: ClientStatus,
    /// Registered phone numbers, E.164.
    pub phones: Vec<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Its keys for `private_key_jwt`, and whether it must use DPoP.
    pub keys: ClientKeys,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What an administrator supplies to register a client.
#[derive(Clone, Debug)]
pub struct NewClient {
    /// Fixed id (the sandbox demo client); `None` generates one.
    pub id: Option<ClientId>,
    /// Display name.
    pub name: String,
    /// Token policy.
    pub policy: ClientPolicy,
    /// Phones, already normalized to E.164.
    pub phones: Vec<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Keys for `private_key_jwt`, and whether it must use DPoP.
    pub keys: ClientKeys,
}

/// A partial change to a client; `None` leaves a field as it is. Serialized, it is the audit
/// trail's details: only the fields it changes (none of them secret).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ClientUpdate {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New allowed scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_scopes: Option<Vec<String>>,
    /// New default scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_scopes: Option<Vec<String>>,
    /// New allowed states.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_states: Option<Vec<String>>,
    /// New default state (`Some(None)` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_state: Option<Option<String>>,
    /// New maximum TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ttl_minutes: Option<i64>,
    /// New signing algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    /// New quota (unlimited when both limits are absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// Suspend or reactivate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ClientStatus>,
    /// New phones, normalized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phones: Option<Vec<String>>,
    /// New e-mail (`Some(None)` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    /// New registered JWK Set (`Some(None)` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Option<serde_json::Value>>,
    /// New JWK Set URL (`Some(None)` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<Option<String>>,
    /// Whether DPoP is required from now on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_dpop: Option<bool>,
}

impl ClientUpdate {
    /// Applies the change to a client, returning the changed copy.
    pub fn apply(self, mut client: Client, now: DateTime<Utc>) -> Client {
        let p = &mut client.policy;
        macro_rules! set {
            ($target:expr, $value:expr) => {
                if let Some(v) = $value {
                    $target = v;
                }
            };
        }
        set!(client.name, self.name);
        set!(p.allowed_scopes, self.allowed_scopes);
        set!(p.default_scopes, self.default_scopes);
        set!(p.allowed_states, self.allowed_states);
        set!(p.default_state, self.default_state);
        set!(p.max_ttl_minutes, self.max_ttl_minutes);
        set!(p.algorithm, self.algorithm);
        set!(p.quota, self.quota);
        set!(client.status, self.status);
        set!(client.phones, self.phones);
        set!(client.email, self.email);
        set!(client.keys.jwks, self.jwks);
        set!(client.keys.jwks_uri, self.jwks_uri);
        set!(client.keys.require_dpop, self.require_dpop);
        client.updated_at = now;
        client
    }
}

pub(super) const CLIENT_COLUMNS: &str = "c.id, c.name, c.allowed_scopes, c.default_scopes, \
     c.allowed_states, c.default_state, c.max_ttl_minutes, c.algorithm, c.status, c.phones, \
     c.email, c.jwks, c.jwks_uri, c.require_dpop, c.created_at, c.updated_at, \
     c.quota_per_minute, c.quota_per_day";

/// Decodes a row selected with [`CLIENT_COLUMNS`].
pub(super) fn from_row(row: &AnyRow) -> Result<Client, RegistryError> {
    let json = |column: &str| -> Result<Vec<String>, RegistryError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("column {column} holds bad JSON: {e}").into())
    };
    let algorithm: String = row.try_get("algorithm")?;
    let status: String = row.try_get("status")?;
    Ok(Client {
        id: ClientId::parse(&row.try_get::<String, _>("id")?)
            .ok_or_else(|| anyhow::anyhow!("stored client id is malformed"))?,
        name: row.try_get("name")?,
        policy: ClientPolicy {
            allowed_scopes: json("allowed_scopes")?,
            default_scopes: json("default_scopes")?,
            allowed_states: json("allowed_states")?,
            default_state: row.try_get("default_state")?,
            max_ttl_minutes: row.try_get("max_ttl_minutes")?,
            algorithm: algorithm.parse().map_err(anyhow::Error::msg)?,
            quota: Quota {
                per_minute: row.try_get("quota_per_minute")?,
                per_day: row.try_get("quota_per_day")?,
            },
        },
        status: ClientStatus::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("stored client status {status:?} is unknown"))?,
        phones: json("phones")?,
        email: row.try_get("email")?,
        keys: ClientKeys {
            jwks: row
                .try_get::<Option<String>, _>("jwks")?
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| anyhow::anyhow!("column jwks holds bad JSON: {e}"))?,
            jwks_uri: row.try_get("jwks_uri")?,
            require_dpop: row.try_get::<i64, _>("require_dpop")? != 0,
        },
        created_at: millis_to_time(row.try_get("created_at")?),
        updated_at: millis_to_time(row.try_get("updated_at")?),
    })
}

/// Converts stored epoch milliseconds to a time.
pub(crate) fn millis_to_time(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or_default()
}

fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

/// The client's columns as `$1..$18` (id, name, policy, status, phones, email, times, keys,
/// quota).
fn bind_client<'q>(sql: &'q str, c: &'q Client) -> Query<'q, Any, AnyArguments<'q>> {
    sqlx::query(sql)
        .bind(c.id.as_str())
        .bind(&c.name)
        .bind(to_json(&c.policy.allowed_scopes))
        .bind(to_json(&c.policy.default_scopes))
        .bind(to_json(&c.policy.allowed_states))
        .bind(c.policy.default_state.as_deref())
        .bind(c.policy.max_ttl_minutes)
        .bind(c.policy.algorithm.as_str())
        .bind(c.status.as_str())
        .bind(to_json(&c.phones))
        .bind(c.email.as_deref())
        .bind(c.created_at.timestamp_millis())
        .bind(c.updated_at.timestamp_millis())
        .bind(c.keys.jwks.as_ref().map(serde_json::Value::to_string))
        .bind(c.keys.jwks_uri.as_deref())
        .bind(i64::from(c.keys.require_dpop))
        .bind(c.policy.quota.per_minute)
        .bind(c.policy.quota.per_day)
}

/// Inserts a new client row and its phones.
pub(super) async fn insert(tx: &mut Transaction<'_, Any>, c: &Client) -> Result<(), RegistryError> {
    const SQL: &str = "insert into clients (id, name, allowed_scopes, default_scopes, \
        allowed_states, default_state, max_ttl_minutes, algorithm, status, phones, email, \
        created_at, updated_at, jwks, jwks_uri, require_dpop, quota_per_minute, quota_per_day) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
    bind_client(SQL, c).execute(&mut **tx).await.map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            RegistryError::invalid("client_id", "a client with this id exists")
        } else {
            e.into()
        }
    })?;
    replace_phones(tx, c).await
}

/// Writes every field of an existing client row (`created_at` is bound but not changed).
pub(super) async fn update(tx: &mut Transaction<'_, Any>, c: &Client) -> Result<(), RegistryError> {
    const SQL: &str = "update clients set name = $2, allowed_scopes = $3, default_scopes = $4, \
        allowed_states = $5, default_state = $6, max_ttl_minutes = $7, algorithm = $8, \
        status = $9, phones = $10, email = $11, created_at = $12, updated_at = $13, jwks = $14, \
        jwks_uri = $15, require_dpop = $16, quota_per_minute = $17, quota_per_day = $18 \
        where id = $1";
    bind_client(SQL, c).execute(&mut **tx).await?;
    replace_phones(tx, c).await
}

async fn replace_phones(tx: &mut Transaction<'_, Any>, c: &Client) -> Result<(), RegistryError> {
    sqlx::query("delete from client_phones where client_id = $1")
        .bind(c.id.as_str())
        .execute(&mut **tx)
        .await?;
    for phone in &c.phones {
        sqlx::query("insert into client_phones (phone, client_id) values ($1, $2)")
            .bind(phone)
            .bind(c.id.as_str())
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if crate::db::is_unique_violation(&e) {
                    RegistryError::invalid(
                        "phones",
                        format!("{phone} is registered to another client"),
                    )
                } else {
                    e.into()
                }
            })?;
    }
    Ok(())
}
