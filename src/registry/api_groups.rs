//! API groups: named scope bundles that the administrator defines and clients request access to
//! (CONTRACT.md section D). A group is referred to by its name, which never changes.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::client::millis_to_time;
use super::{ClientRegistry, RegistryError};
use crate::audit::{self, Actor, Event};
use crate::domain::is_scope_token;

/// Longest API group name.
const MAX_NAME_CHARS: usize = 64;
/// Most scopes in one group, and most groups named in one request or credential.
pub(super) const MAX_LIST_LEN: usize = 64;

/// A named bundle of scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiGroup {
    /// Unique name, e.g. `programs`.
    pub name: String,
    /// The scopes it grants.
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl ClientRegistry {
    /// Defines an API group: a name (letters, digits, `.`, `_`, `-`, `:`) and its scopes.
    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_api_group(
        &self,
        name: &str,
        scopes: Vec<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ApiGroup, RegistryError> {
        let name = name.trim();
        let name_ok = (1..=MAX_NAME_CHARS).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c));
        if !name_ok {
            return Err(RegistryError::invalid(
                "name",
                format!("name must be 1 to {MAX_NAME_CHARS} letters, digits, '.', '_', '-' or ':'"),
            ));
        }
        let scopes = distinct(scopes);
        if scopes.is_empty() || scopes.len() > MAX_LIST_LEN {
            return Err(RegistryError::invalid(
                "scopes",
                format!("scopes must list 1 to {MAX_LIST_LEN} scopes"),
            ));
        }
        if let Some(bad) = scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(RegistryError::invalid(
                "scopes",
                format!("{bad:?} is not a valid scope"),
            ));
        }
        let group = ApiGroup {
            name: name.to_owned(),
            scopes,
            created_at: now,
        };
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("insert into api_groups (name, scopes, created_at) values ($1, $2, $3)")
            .bind(&group.name)
            .bind(to_json(&group.scopes))
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                // The only unique constraint of the table: api_groups_pkey (the name).
                if crate::db::is_unique_violation(&e) {
                    RegistryError::invalid("name", "an API group with this name exists")
                } else {
                    e.into()
                }
            })?;
        let event = Event::new("api_group.create", &group.name)
            .with(serde_json::json!({"scopes": group.scopes}));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        tracing::info!(name = %group.name, "API group created");
        Ok(group)
    }

    /// Every API group, by name.
    pub async fn api_groups(&self) -> Result<Vec<ApiGroup>, RegistryError> {
        let rows = sqlx::query("select name, scopes, created_at from api_groups order by name")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }
}

/// The named groups that exist, in the order asked; unknown names are left out.
pub(super) async fn find(
    conn: &mut AnyConnection,
    names: &[String],
) -> Result<Vec<ApiGroup>, RegistryError> {
    let mut groups = Vec::with_capacity(names.len());
    for name in names {
        let row = sqlx::query("select name, scopes, created_at from api_groups where name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            groups.push(from_row(&row)?);
        }
    }
    Ok(groups)
}

/// The scopes of some groups, in order, without duplicates.
pub(super) fn union_of_scopes(groups: &[ApiGroup]) -> Vec<String> {
    distinct(groups.iter().flat_map(|g| g.scopes.iter().cloned()))
}

/// Checks a list of group names from a request: 1 to [`MAX_LIST_LEN`] names, duplicates dropped.
pub(super) fn parse_names(names: Vec<String>) -> Result<Vec<String>, RegistryError> {
    let names = distinct(names.into_iter().map(|n| n.trim().to_owned()));
    if names.is_empty() || names.len() > MAX_LIST_LEN || names.iter().any(String::is_empty) {
        return Err(RegistryError::invalid(
            "api_groups",
            format!("api_groups must list 1 to {MAX_LIST_LEN} API group names"),
        ));
    }
    Ok(names)
}

fn from_row(row: &AnyRow) -> Result<ApiGroup, RegistryError> {
    Ok(ApiGroup {
        name: row.try_get("name")?,
        scopes: json_list(&row.try_get::<String, _>("scopes")?)?,
        created_at: millis_to_time(row.try_get("created_at")?),
    })
}

/// A list of strings as stored (a JSON array in a TEXT column).
pub(super) fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

/// A stored JSON array of strings.
pub(super) fn json_list(text: &str) -> Result<Vec<String>, RegistryError> {
    serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("a stored list holds bad JSON: {e}").into())
}

fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_lists_are_trimmed_deduplicated_and_bounded() {
        let names = parse_names(vec![" a ".into(), "b".into(), "a".into()]).unwrap();
        assert_eq!(names, ["a", "b"]);
        assert!(parse_names(vec![]).is_err());
        assert!(parse_names(vec![" ".into()]).is_err());
        assert!(parse_names((0..=MAX_LIST_LEN).map(|i| i.to_string()).collect()).is_err());
    }

    #[test]
    fn the_union_of_scopes_keeps_the_first_occurrence() {
        let group = |name: &str, scopes: &[&str]| ApiGroup {
            name: name.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            created_at: DateTime::default(),
        };
        let groups = [group("a", &["x", "y"]), group("b", &["y", "z"])];
        assert_eq!(union_of_scopes(&groups), ["x", "y", "z"]);
    }
}
