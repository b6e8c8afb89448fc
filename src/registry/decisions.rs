//! Deciding an access request: approve or reject, once, with a note.
//!
//! A decision is one transaction: the request's status and note, on approval the groups' scopes
//! added to the client's `allowed_scopes` (so the signing core's rule "requested scopes within
//! the client's allowed scopes" admits tokens of credentials in those groups), and the client's
//! notification. Sending an e-mail is the caller's business, after the commit.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::access_requests::{bounded_text, find, AccessRequest, AccessStatus, Decision};
use super::client::{self, Client};
use super::{api_groups, notifications, ClientRegistry, RegistryError};
use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::domain::ClientId;

impl ClientRegistry {
    /// Decides a pending request once, in one transaction with its effects (see the module
    /// docs). Returns the decided request and its client (for the e-mail). A request decided
    /// before is refused as invalid (`status`), an unknown one is `NotFound`.
    #[tracing::instrument(skip_all, fields(access_request = %id))]
    pub async fn decide_access_request(
        &self,
        id: &str,
        decision: Decision,
        note: Option<&str>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(AccessRequest, Client), RegistryError> {
        let note = bounded_text("note", note.unwrap_or_default())?;
        if decision == Decision::Reject && note.is_none() {
            return Err(RegistryError::invalid(
                "note",
                "a rejection needs a note explaining it",
            ));
        }
        let status = match decision {
            Decision::Approve => AccessStatus::Approved,
            Decision::Reject => AccessStatus::Rejected,
        };
        let mut tx = self.db.pool().begin().await?;
        let decided = sqlx::query(
            "update access_requests set status = $2, decision_note = $3, decided_at = $4 \
             where id = $1 and status = 'pending'",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(note.as_deref())
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let request = find(&mut tx, id)
            .await?
            .ok_or(RegistryError::NotFound("access request"))?;
        if decided == 0 {
            return Err(RegistryError::invalid(
                "status",
                format!("the access request was already {}", request.status.as_str()),
            ));
        }
        let mut client = locked_client(&mut tx, &request.client_id).await?;
        if decision == Decision::Approve {
            let groups = api_groups::find(&mut tx, &request.api_groups).await?;
            let scopes = &mut client.policy.allowed_scopes;
            for scope in api_groups::union_of_scopes(&groups) {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
            client.updated_at = now;
            client::update(&mut tx, &client).await?;
        }
        notifications::insert(&mut tx, &request, now).await?;
        announce(&mut tx, Change::Client(client.id.as_str())).await?;
        let action = match decision {
            Decision::Approve => "access_request.approve",
            Decision::Reject => "access_request.reject",
        };
        let event = Event::new(action, id).with(serde_json::json!({
            "client_id": client.id.as_str(),
            "api_groups": request.api_groups,
            "note": note,
        }));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        self.forget_client(client.id.as_str());
        tracing::info!(client_id = %client.id, status = status.as_str(), "access request decided");
        Ok((request, client))
    }
}

/// The client of a request, read inside the deciding transaction.
async fn locked_client(conn: &mut AnyConnection, id: &ClientId) -> Result<Client, RegistryError> {
    let sql = format!(
        "select {} from clients c where c.id = $1",
        client::CLIENT_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(RegistryError::NotFound("client"))?;
    client::from_row(&row)
}
