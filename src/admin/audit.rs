//! Admin route for the audit trail: `GET /admin/audit-events`, filtered by actor, action, target
//! and time, newest first, in pages linked by an opaque cursor (as `GET /admin/issuances`).

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::{self, present, Window};
use super::AdminError;
use crate::audit::{self, AuditFilter, RecordedEvent};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi;
use crate::state::AppState;

/// The query parameters of `GET /admin/audit-events` (empty values count as absent).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only events by this actor: an administrator's name, `bootstrap`, `cli:<os user>`,
    /// `client:<id>` or `service:<what>`.
    pub actor: Option<String>,
    /// Only events of this action, e.g. `client.update`.
    pub action: Option<String>,
    /// Only events about this target (an id).
    pub target: Option<String>,
    /// Only events at or after this time (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Most events per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

impl AuditParams {
    /// The parameters of a raw query string (the first of repeated names counts).
    pub fn from_query(query: &str) -> Self {
        let mut params = Self::default();
        paging::fill(
            query,
            &mut [
                ("actor", &mut params.actor),
                ("action", &mut params.action),
                ("target", &mut params.target),
                ("since", &mut params.since),
                ("until", &mut params.until),
                ("cursor", &mut params.cursor),
                ("limit", &mut params.limit),
            ],
        );
        params
    }

    /// The trail filter, or an invalid-request error naming the parameter at fault.
    pub fn into_filter(self) -> Result<AuditFilter, ApiError> {
        let window = Window::parse(
            self.since,
            self.until,
            self.cursor,
            self.limit,
            "this trail",
        )?;
        Ok(AuditFilter {
            actor: present(self.actor),
            action: present(self.action),
            target: present(self.target),
            since: window.since,
            until: window.until,
            after: window.after,
            limit: window.limit,
        })
    }
}

/// One recorded change (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Its id.
    pub id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    #[schema(example = "alice")]
    pub actor: String,
    /// What was done.
    #[schema(example = "client.update")]
    pub action: String,
    /// To what (an id).
    pub target: String,
    /// The new values of what changed.
    #[schema(value_type = Object, example = json!({"status": "suspended"}))]
    pub details: Value,
}

impl From<RecordedEvent> for AuditEventView {
    fn from(e: RecordedEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            details: e.details,
        }
    }
}

/// One page of the trail, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageView {
    /// The events.
    pub events: Vec<AuditEventView>,
    /// Pass it back as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Reads one page of the audit trail.
pub async fn audit_page(state: &AppState, params: AuditParams) -> Result<AuditPageView, ApiError> {
    let filter = params.into_filter()?;
    let page = audit::list(state.db.pool(), &filter)
        .await
        .map_err(crate::registry::RegistryError::from)?;
    Ok(AuditPageView {
        events: page.events.into_iter().map(AuditEventView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.encode()),
    })
}

/// Lists recorded changes, newest first, filtered by actor, action, target and time, in pages:
/// pass `next_cursor` back as `cursor` until it is `null`.
#[utoipa::path(get, path = "/admin/audit-events", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(AuditParams),
    responses((status = 200, description = "One page, newest first", body = AuditPageView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Invalid parameter, named by `field`", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list_audit_events(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPageView>, AdminError> {
    let params = AuditParams::from_query(query.as_deref().unwrap_or_default());
    Ok(Json(audit_page(&state, params).await?))
}

/// These admin routes (the admin guard is applied by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}
