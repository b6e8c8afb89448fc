//! Administrators beside the bootstrap one (CONTRACT "Admin API"): a name, a role and a token
//! shown once and stored only as its keyed digest. The admin guard looks every presented token up
//! here (no cache), so deleting an administrator stops its token at once on every instance.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::Row;

use super::client::millis_to_time;
use super::{ClientRegistry, RegistryError};
use crate::audit::{self, Actor, Event};

/// Longest administrator name.
const MAX_NAME_CHARS: usize = 64;
/// The prefix of administrator tokens, so a leaked one is recognisable (and never a client
/// secret or an API key).
pub const TOKEN_PREFIX: &str = "tmadm_";

/// What an administrator may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// Read only: every state-changing request is refused.
    Viewer,
}

impl Role {
    /// The role's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }

    /// Reads a role name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "admin" => Some(Self::Admin),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// A registered administrator (never its token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Administrator {
    /// Its id, `adm_` and 32 hex characters.
    pub id: String,
    /// Its unique name: what the audit trail shows as the actor.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Administrator {
    /// The actor its changes are recorded under.
    pub fn actor(&self) -> Actor {
        Actor::Administrator(self.name.clone())
    }
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Administrator, RegistryError> {
    let role: String = row.try_get("role")?;
    Ok(Administrator {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| anyhow::anyhow!("administrator with unknown role {role:?}"))?,
        created_at: millis_to_time(row.try_get("created_at")?),
    })
}

/// A name the trail cannot confuse with another kind of actor: 1 to 64 letters, digits, `.`,
/// `_`, `-` or `@`, and not `bootstrap`.
fn check_name(name: &str) -> Result<(), RegistryError> {
    let well_formed = (1..=MAX_NAME_CHARS).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if !well_formed || name == "bootstrap" {
        return Err(RegistryError::invalid(
            "name",
            format!(
                "name must be 1 to {MAX_NAME_CHARS} letters, digits, '.', '_', '-' or '@', \
                 and not \"bootstrap\""
            ),
        ));
    }
    Ok(())
}

impl ClientRegistry {
    /// Registers an administrator and returns its token, once.
    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_administrator(
        &self,
        name: &str,
        role: Role,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Administrator, SecretString), RegistryError> {
        let name = name.trim();
        check_name(name)?;
        let token = SecretString::from(format!(
            "{TOKEN_PREFIX}{}",
            super::secret::generate_secret().expose_secret()
        ));
        let administrator = Administrator {
            id: format!("adm_{}", uuid::Uuid::new_v4().simple()),
            name: name.to_owned(),
            role,
            created_at: now,
        };
        let mut tx = self.db.pool().begin().await?;
        let inserted = sqlx::query(
            "insert into administrators (id, name, role, token_digest, created_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(&administrator.id)
        .bind(&administrator.name)
        .bind(role.as_str())
        .bind(self.keyed_digest(token.expose_secret()))
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await;
        if let Err(err) = inserted {
            return Err(if crate::db::is_unique_violation(&err) {
                RegistryError::invalid("name", "an administrator with this name exists")
            } else {
                err.into()
            });
        }
        let event = Event::new("administrator.create", &administrator.id)
            .with(json!({"name": administrator.name, "role": role.as_str()}));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        tracing::info!(administrator_id = %administrator.id, "administrator created");
        Ok((administrator, token))
    }

    /// Every administrator, oldest first.
    pub async fn administrators(&self) -> Result<Vec<Administrator>, RegistryError> {
        let rows = sqlx::query(
            "select id, name, role, created_at from administrators order by created_at, id",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The administrator a presented token belongs to; `NotFound` for any other token.
    pub async fn administrator_by_token(
        &self,
        token: &str,
    ) -> Result<Administrator, RegistryError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(RegistryError::NotFound("administrator"));
        }
        let row = sqlx::query(
            "select id, name, role, created_at from administrators where token_digest = $1",
        )
        .bind(self.keyed_digest(token))
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(RegistryError::NotFound("administrator"))?;
        from_row(&row)
    }

    /// One administrator by id.
    pub async fn administrator(&self, id: &str) -> Result<Administrator, RegistryError> {
        let row =
            sqlx::query("select id, name, role, created_at from administrators where id = $1")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?
                .ok_or(RegistryError::NotFound("administrator"))?;
        from_row(&row)
    }

    /// Deletes an administrator: its token stops at once, everywhere.
    #[tracing::instrument(skip_all, fields(administrator_id = %id))]
    pub async fn delete_administrator(
        &self,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        let mut tx = self.db.pool().begin().await?;
        let deleted = sqlx::query("delete from administrators where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(RegistryError::NotFound("administrator"));
        }
        audit::record(&mut tx, actor, Event::new("administrator.delete", id), now).await?;
        tx.commit().await?;
        tracing::info!("administrator deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_pass_for_another_kind_of_actor() {
        for good in ["alice", "ops.bob", "carol@example.com", "x"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "bootstrap",
            "cli:root",
            "service:sandbox",
            "two words",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_read_back() {
        for role in [Role::Admin, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
