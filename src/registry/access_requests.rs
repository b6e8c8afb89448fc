//! Access requests: a client asks for API groups with a reason; the administrator approves or
//! rejects each once, with a note.
//! Deciding one is `decisions.rs`.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::api_groups::{self, json_list, to_json};
use super::client::millis_to_time;
use super::{ClientRegistry, RegistryError};
use crate::domain::ClientId;

/// Longest reason or decision note.
const MAX_TEXT_CHARS: usize = 2000;

/// Where an access request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessStatus {
    /// Waiting for the administrator.
    Pending,
    /// Granted: the groups' scopes were added to the client's allowed scopes.
    Approved,
    /// Refused.
    Rejected,
}

impl AccessStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored and wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// The administrator's decision on a pending request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Grant the groups.
    Approve,
    /// Refuse them (a note is required).
    Reject,
}

/// A client's request for API groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    /// Identifier (`ar_...`).
    pub id: String,
    /// The requesting client.
    pub client_id: ClientId,
    /// The requested group names.
    pub api_groups: Vec<String>,
    /// Why the client wants them.
    pub reason: String,
    /// Pending, approved or rejected.
    pub status: AccessStatus,
    /// The administrator's note with the decision.
    pub decision_note: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, client_id, api_groups, reason, status, decision_note, created_at, decided_at";

impl ClientRegistry {
    /// Records a pending request of `client` for existing API groups.
    #[tracing::instrument(skip_all, fields(client_id = %client))]
    pub async fn request_access(
        &self,
        client: &ClientId,
        api_groups: Vec<String>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessRequest, RegistryError> {
        let names = api_groups::parse_names(api_groups)?;
        let reason = bounded_text("reason", reason)?
            .ok_or_else(|| RegistryError::invalid("reason", "reason is required"))?;
        let mut conn = self.db.pool().acquire().await?;
        let known = api_groups::find(&mut conn, &names).await?;
        if let Some(unknown) = names.iter().find(|n| !known.iter().any(|g| &g.name == *n)) {
            return Err(RegistryError::invalid(
                "api_groups",
                format!("there is no API group named {unknown:?}"),
            ));
        }
        let request = AccessRequest {
            id: format!("ar_{}", uuid::Uuid::now_v7().simple()),
            client_id: client.clone(),
            api_groups: names,
            reason,
            status: AccessStatus::Pending,
            decision_note: None,
            created_at: now,
            decided_at: None,
        };
        sqlx::query(
            "insert into access_requests (id, client_id, api_groups, reason, status, created_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&request.id)
        .bind(client.as_str())
        .bind(to_json(&request.api_groups))
        .bind(&request.reason)
        .bind(request.status.as_str())
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
        tracing::info!(access_request = %request.id, "access requested");
        Ok(request)
    }

    /// A client's access requests, newest first.
    pub async fn access_requests_of(
        &self,
        client: &ClientId,
    ) -> Result<Vec<AccessRequest>, RegistryError> {
        let sql = format!(
            "select {COLUMNS} from access_requests where client_id = $1 \
             order by created_at desc, id desc"
        );
        let rows = sqlx::query(&sql)
            .bind(client.as_str())
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every access request, or those with one status; oldest first (a work queue).
    pub async fn access_requests(
        &self,
        status: Option<AccessStatus>,
    ) -> Result<Vec<AccessRequest>, RegistryError> {
        let sql = format!(
            "select {COLUMNS} from access_requests where ($1 = '' or status = $1) \
             order by created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(status.map_or("", AccessStatus::as_str))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The group names of a client's approved requests: what its credentials may use.
    pub async fn approved_api_groups(
        &self,
        client: &ClientId,
    ) -> Result<Vec<String>, RegistryError> {
        let rows = sqlx::query(
            "select api_groups from access_requests where client_id = $1 and status = $2 \
             order by decided_at, id",
        )
        .bind(client.as_str())
        .bind(AccessStatus::Approved.as_str())
        .fetch_all(self.db.pool())
        .await?;
        let mut names: Vec<String> = Vec::new();
        for row in &rows {
            for name in json_list(&row.try_get::<String, _>("api_groups")?)? {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }
}

pub(super) async fn find(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<AccessRequest>, RegistryError> {
    let sql = format!("select {COLUMNS} from access_requests where id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

fn from_row(row: &AnyRow) -> Result<AccessRequest, RegistryError> {
    let status: String = row.try_get("status")?;
    Ok(AccessRequest {
        id: row.try_get("id")?,
        client_id: ClientId::parse(&row.try_get::<String, _>("client_id")?)
            .ok_or_else(|| anyhow::anyhow!("stored client id is malformed"))?,
        api_groups: json_list(&row.try_get::<String, _>("api_groups")?)?,
        reason: row.try_get("reason")?,
        status: AccessStatus::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("stored access status {status:?} is unknown"))?,
        decision_note: row.try_get("decision_note")?,
        created_at: millis_to_time(row.try_get("created_at")?),
        decided_at: row
            .try_get::<Option<i64>, _>("decided_at")?
            .map(millis_to_time),
    })
}

/// Free text: trimmed, `None` when empty, at most [`MAX_TEXT_CHARS`] characters.
pub(super) fn bounded_text(
    field: &'static str,
    text: &str,
) -> Result<Option<String>, RegistryError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(RegistryError::invalid(
            field,
            format!("{field} must be at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in [
            AccessStatus::Pending,
            AccessStatus::Approved,
            AccessStatus::Rejected,
        ] {
            assert_eq!(AccessStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(AccessStatus::parse("Pending"), None);
    }

    #[test]
    fn free_text_is_trimmed_and_bounded() {
        assert_eq!(
            bounded_text("note", "  ok ").unwrap().as_deref(),
            Some("ok")
        );
        assert_eq!(bounded_text("note", "   ").unwrap(), None);
        assert!(bounded_text("note", &"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }
}
