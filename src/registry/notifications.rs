//! Notifications: what a client is told of decisions on its access requests. Each is written in
//! the deciding transaction; the client lists them and marks them read.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::access_requests::{AccessRequest, AccessStatus};
use super::client::millis_to_time;
use super::{ClientRegistry, RegistryError};
use crate::domain::ClientId;

/// A message to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Identifier (`ntf_...`).
    pub id: String,
    /// The client it is for.
    pub client_id: ClientId,
    /// `access_request_approved` or `access_request_rejected`.
    pub kind: String,
    /// The access request it is about.
    pub access_request_id: Option<String>,
    /// The text shown to the client.
    pub message: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the client marked it read.
    pub read_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, client_id, kind, access_request_id, message, created_at, read_at";

impl ClientRegistry {
    /// A client's notifications, newest first.
    pub async fn notifications_of(
        &self,
        client: &ClientId,
    ) -> Result<Vec<Notification>, RegistryError> {
        let sql = format!(
            "select {COLUMNS} from notifications where client_id = $1 \
             order by created_at desc, id desc"
        );
        let rows = sqlx::query(&sql)
            .bind(client.as_str())
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Marks a notification of `client` read (the first time counts); `NotFound` for an unknown
    /// id or another client's notification.
    pub async fn mark_notification_read(
        &self,
        client: &ClientId,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Notification, RegistryError> {
        let mut conn = self.db.pool().acquire().await?;
        sqlx::query(
            "update notifications set read_at = $3 \
             where id = $1 and client_id = $2 and read_at is null",
        )
        .bind(id)
        .bind(client.as_str())
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
        let sql = format!("select {COLUMNS} from notifications where id = $1 and client_id = $2");
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(client.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(RegistryError::NotFound("notification"))?;
        from_row(&row)
    }
}

/// The notification of a decided request, written in the deciding transaction.
pub(super) async fn insert(
    conn: &mut AnyConnection,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<Notification, RegistryError> {
    let notification = Notification {
        id: format!("ntf_{}", uuid::Uuid::now_v7().simple()),
        client_id: request.client_id.clone(),
        kind: format!("access_request_{}", request.status.as_str()),
        access_request_id: Some(request.id.clone()),
        message: decision_text(request),
        created_at: now,
        read_at: None,
    };
    sqlx::query(
        "insert into notifications (id, client_id, kind, access_request_id, message, created_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&notification.id)
    .bind(notification.client_id.as_str())
    .bind(&notification.kind)
    .bind(notification.access_request_id.as_deref())
    .bind(&notification.message)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(notification)
}

/// What a client is told of a decision (also the body of the e-mail).
pub fn decision_text(request: &AccessRequest) -> String {
    let verdict = match request.status {
        AccessStatus::Approved => "approved: you can now create JWT credentials for these groups",
        AccessStatus::Rejected => "rejected",
        AccessStatus::Pending => "not decided yet",
    };
    let mut text = format!(
        "Your access request {} for the API groups {} was {verdict}.",
        request.id,
        request.api_groups.join(", ")
    );
    if let Some(note) = &request.decision_note {
        text.push_str(&format!("\nNote from the administrator: {note}"));
    }
    text
}

fn from_row(row: &AnyRow) -> Result<Notification, RegistryError> {
    Ok(Notification {
        id: row.try_get("id")?,
        client_id: ClientId::parse(&row.try_get::<String, _>("client_id")?)
            .ok_or_else(|| anyhow::anyhow!("stored client id is malformed"))?,
        kind: row.try_get("kind")?,
        access_request_id: row.try_get("access_request_id")?,
        message: row.try_get("message")?,
        created_at: millis_to_time(row.try_get("created_at")?),
        read_at: row
            .try_get::<Option<i64>, _>("read_at")?
            .map(millis_to_time),
    })
}
