//! JWT credentials: a `key` (public id) and a `secret` a client generates for API groups it was
//! approved for, to get AuthTokens (CONTRACT.md section D). The secret is shown once and stored
//! as an argon2id hash with a locator, like client secrets (see `secret.rs`).

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::api_groups::{self, json_list, to_json};
use super::cache::Lookup;
use super::client::{self, millis_to_time, Client, ClientStatus};
use super::{secret, ClientRegistry, RegistryError};
use crate::changes::{announce, Change};
use crate::domain::ClientId;

/// Longest username, and longest notes.
const MAX_USERNAME_CHARS: usize = 100;
const MAX_NOTES_CHARS: usize = 2000;
/// Longest key or secret looked at; longer input is refused without a lookup.
const MAX_PRESENTED_LEN: usize = 512;

/// A stored JWT credential (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtCredential {
    /// The public key: 32 lowercase hex characters.
    pub key: String,
    /// The owning client.
    pub client_id: ClientId,
    /// The username given at creation.
    pub username: String,
    /// Free notes.
    pub notes: String,
    /// The API groups its tokens carry the scopes of.
    pub api_groups: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last got an AuthToken, if ever (written a few seconds late, in batches).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a client supplies to create a credential.
#[derive(Clone, Debug)]
pub struct NewJwtCredential {
    /// Username (1 to 100 characters).
    pub username: String,
    /// Notes (up to 2000 characters).
    pub notes: String,
    /// API group names, each approved for the client.
    pub api_groups: Vec<String>,
}

/// A credential just created: the only moment its secret exists in clear.
#[derive(Debug)]
pub struct IssuedJwtCredential {
    /// The credential.
    pub credential: JwtCredential,
    /// The secret, shown once.
    pub secret: SecretString,
}

/// An active credential with what a token for it needs.
#[derive(Clone, Debug)]
pub struct AuthenticatedCredential {
    /// The credential.
    pub credential: JwtCredential,
    /// Its client (active).
    pub client: Client,
    /// The union of its API groups' scopes.
    pub scopes: Vec<String>,
}

const SELECT: &str = "select k.key as cred_key, k.username as cred_username, \
     k.notes as cred_notes, k.api_groups as cred_api_groups, k.locator as cred_locator, \
     k.hash as cred_hash, k.created_at as cred_created_at, k.revoked_at as cred_revoked_at, \
     k.last_used_at as cred_last_used_at, ";

impl ClientRegistry {
    /// Creates a credential for API groups approved for `client`; `NotApproved` lists the others.
    #[tracing::instrument(skip_all, fields(client_id = %client))]
    pub async fn create_jwt_credential(
        &self,
        client: &ClientId,
        new: NewJwtCredential,
        now: DateTime<Utc>,
    ) -> Result<IssuedJwtCredential, RegistryError> {
        let username = new.username.trim().to_owned();
        let username_ok = (1..=MAX_USERNAME_CHARS).contains(&username.chars().count())
            && !username.chars().any(char::is_control);
        if !username_ok {
            return Err(RegistryError::invalid(
                "username",
                format!("username must be 1 to {MAX_USERNAME_CHARS} printable characters"),
            ));
        }
        let notes = new.notes.trim().to_owned();
        if notes.chars().count() > MAX_NOTES_CHARS {
            return Err(RegistryError::invalid(
                "notes",
                format!("notes must be at most {MAX_NOTES_CHARS} characters"),
            ));
        }
        let groups = api_groups::parse_names(new.api_groups)?;
        let approved = self.approved_api_groups(client).await?;
        let refused: Vec<String> = groups
            .iter()
            .filter(|g| !approved.contains(g))
            .cloned()
            .collect();
        if !refused.is_empty() {
            return Err(RegistryError::NotApproved(refused));
        }
        let (secret, locator, hash) = self.new_secret().await?;
        let credential = JwtCredential {
            key: uuid::Uuid::new_v4().simple().to_string(),
            client_id: client.clone(),
            username,
            notes,
            api_groups: groups,
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        };
        sqlx::query(
            "insert into jwt_credentials (key, client_id, username, notes, api_groups, locator, \
             hash, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&credential.key)
        .bind(client.as_str())
        .bind(&credential.username)
        .bind(&credential.notes)
        .bind(to_json(&credential.api_groups))
        .bind(&locator)
        .bind(&hash)
        .bind(now.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        tracing::info!(key = %credential.key, "JWT credential created");
        Ok(IssuedJwtCredential { credential, secret })
    }

    /// A client's credentials, newest first, revoked ones included (never their secrets).
    pub async fn jwt_credentials_of(
        &self,
        client: &ClientId,
    ) -> Result<Vec<JwtCredential>, RegistryError> {
        let sql = format!(
            "{SELECT} c.id from jwt_credentials k join clients c on c.id = k.client_id \
             where k.client_id = $1 order by k.created_at desc, k.key desc"
        );
        let rows = sqlx::query(&sql)
            .bind(client.as_str())
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(credential_from_row).collect()
    }

    /// Revokes a live credential of `client` at once; `NotFound` for an unknown key, another
    /// client's key or one already revoked.
    #[tracing::instrument(skip_all, fields(client_id = %client, key = %key))]
    pub async fn revoke_jwt_credential(
        &self,
        client: &ClientId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        let mut tx = self.db.pool().begin().await?;
        let done = sqlx::query(
            "update jwt_credentials set revoked_at = $3 \
             where key = $1 and client_id = $2 and revoked_at is null",
        )
        .bind(key)
        .bind(client.as_str())
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::NotFound("credential"));
        }
        announce(&mut tx, Change::Client(client.as_str())).await?;
        tx.commit().await?;
        self.forget_client(client.as_str());
        tracing::info!("JWT credential revoked");
        Ok(())
    }

    /// Authenticates a credential by key and secret.
    ///
    /// Exactly one argon2 verification runs whatever the outcome: an unknown key is verified
    /// against the decoy hash, so it costs the same as a wrong secret. A revoked credential or a
    /// suspended client is reported only to a caller who presented the right secret.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate_jwt_credential(
        &self,
        key: &str,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<AuthenticatedCredential, RegistryError> {
        let cache_key = self.verified_jwt_credentials.key(key, presented);
        let fill = match self.verified_jwt_credentials.lookup(&cache_key, now).await {
            Lookup::Hit(hit) => return Ok(hit),
            Lookup::Miss(fill) => fill,
        };
        let found = if key.len() <= MAX_PRESENTED_LEN && presented.len() <= MAX_PRESENTED_LEN {
            self.load_credential(key).await?
        } else {
            None
        };
        let locator = secret::locator(presented);
        let hash = found
            .as_ref()
            .and_then(|(_, _, candidate)| secret::select_candidate(&locator, candidate))
            .map_or_else(|| self.decoy_hash.to_string(), String::clone);
        let matches = self.verify_secret(presented, hash).await?;
        match found {
            None => Err(RegistryError::UnknownCredential),
            Some(_) if !matches => Err(RegistryError::WrongSecret),
            Some((credential, client, _)) => {
                let authenticated = self.ensure_active(credential, client).await?;
                let client_id = authenticated.client.id.to_string();
                self.verified_jwt_credentials.insert(
                    cache_key,
                    &client_id,
                    fill,
                    None,
                    authenticated.clone(),
                );
                Ok(authenticated)
            }
        }
    }

    /// The credential `key` if it and its client are active (no secret: for a refresh, whose
    /// caller proved itself with a token issued for this credential).
    pub async fn active_jwt_credential(
        &self,
        key: &str,
    ) -> Result<AuthenticatedCredential, RegistryError> {
        let (credential, client, _) = self
            .load_credential(key)
            .await?
            .ok_or(RegistryError::UnknownCredential)?;
        self.ensure_active(credential, client).await
    }

    async fn ensure_active(
        &self,
        credential: JwtCredential,
        client: Client,
    ) -> Result<AuthenticatedCredential, RegistryError> {
        if credential.revoked_at.is_some() {
            return Err(RegistryError::CredentialRevoked);
        }
        if client.status == ClientStatus::Suspended {
            return Err(RegistryError::Suspended);
        }
        let mut conn = self.db.pool().acquire().await?;
        let groups = api_groups::find(&mut conn, &credential.api_groups).await?;
        Ok(AuthenticatedCredential {
            scopes: api_groups::union_of_scopes(&groups),
            credential,
            client,
        })
    }

    /// A credential with its client and its (locator, hash) pair, in one query.
    async fn load_credential(
        &self,
        key: &str,
    ) -> Result<Option<(JwtCredential, Client, [(String, String); 1])>, RegistryError> {
        let sql = format!(
            "{SELECT} {} from jwt_credentials k join clients c on c.id = k.client_id \
             where k.key = $1",
            client::CLIENT_COLUMNS
        );
        let Some(row) = sqlx::query(&sql)
            .bind(key)
            .fetch_optional(self.db.pool())
            .await?
        else {
            return Ok(None);
        };
        let candidate = [(row.try_get("cred_locator")?, row.try_get("cred_hash")?)];
        Ok(Some((
            credential_from_row(&row)?,
            client::from_row(&row)?,
            candidate,
        )))
    }
}

fn credential_from_row(row: &AnyRow) -> Result<JwtCredential, RegistryError> {
    Ok(JwtCredential {
        key: row.try_get("cred_key")?,
        client_id: ClientId::parse(&row.try_get::<String, _>("id")?)
            .ok_or_else(|| anyhow::anyhow!("stored client id is malformed"))?,
        username: row.try_get("cred_username")?,
        notes: row.try_get("cred_notes")?,
        api_groups: json_list(&row.try_get::<String, _>("cred_api_groups")?)?,
        created_at: millis_to_time(row.try_get("cred_created_at")?),
        revoked_at: row
            .try_get::<Option<i64>, _>("cred_revoked_at")?
            .map(millis_to_time),
        last_used_at: row
            .try_get::<Option<i64>, _>("cred_last_used_at")?
            .map(millis_to_time),
    })
}
