//! Admin routes for JWT-credential access: API groups (named scope bundles) and the access
//! requests clients make for them, approved or rejected with a note. A decision notifies the
//! client in the registry's transaction and, when SMTP is configured, by e-mail after the commit
//! (in the background: mail never delays or fails the decision).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::AdminCaller;
use super::{optional_json, AdminError, AdminJson};
use crate::http::error::ErrorBody;
use crate::http::openapi;
use crate::mail::decision_email;
use crate::registry::views::{AccessRequestView, ApiGroupBody, ApiGroupView, DecisionBody};
use crate::registry::{AccessStatus, Decision, RegistryError};
use crate::state::AppState;

/// Defines an API group: a name and the scopes it grants.
#[utoipa::path(post, path = "/admin/api-groups", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    request_body = ApiGroupBody,
    responses((status = 201, description = "Created", body = ApiGroupView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Invalid input or a duplicate name", body = ErrorBody,
            example = json!({"error": "invalid_request", "message": "an API group with this name exists",
                "field": "name"}))))]
#[tracing::instrument(skip_all)]
pub async fn create_api_group(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    AdminJson(body): AdminJson<ApiGroupBody>,
) -> Result<(StatusCode, Json<ApiGroupView>), AdminError> {
    let group = state
        .registry
        .create_api_group(&body.name, body.scopes, &caller.actor, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json((&group).into())))
}

/// Lists the API groups.
#[utoipa::path(get, path = "/admin/api-groups", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    responses((status = 200, body = Vec<ApiGroupView>),
        (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn list_api_groups(
    State(state): State<AppState>,
) -> Result<Json<Vec<ApiGroupView>>, AdminError> {
    let groups = state.registry.api_groups().await?;
    Ok(Json(groups.iter().map(ApiGroupView::from).collect()))
}

/// Lists access requests, oldest first; `?status=pending` gives the work queue.
#[utoipa::path(get, path = "/admin/access-requests", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    params(("status" = Option<String>, Query, description = "pending, approved or rejected")),
    responses((status = 200, body = Vec<AccessRequestView>),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Unknown status", body = ErrorBody)))]
pub async fn list_access_requests(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<AccessRequestView>>, AdminError> {
    let status = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "status")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty())
        .map(|value| parse_status(&value))
        .transpose()?;
    let requests = state.registry.access_requests(status).await?;
    Ok(Json(requests.iter().map(AccessRequestView::from).collect()))
}

/// Approves a pending request: its groups' scopes join the client's allowed scopes, the client
/// is notified. The body (`{"note"}`) is optional.
#[utoipa::path(post, path = "/admin/access-requests/{id}/approve", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("id" = String, Path)),
    request_body(content = Option<DecisionBody>),
    responses((status = 200, description = "The decided request", body = AccessRequestView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 422, description = "Already decided, or invalid input", body = ErrorBody,
            example = json!({"error": "invalid_request",
                "message": "the access request was already approved", "field": "status"}))))]
#[tracing::instrument(skip_all, fields(access_request = %id))]
pub async fn approve(
    state: State<AppState>,
    caller: Extension<AdminCaller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<AccessRequestView>, AdminError> {
    decide(state, caller, &id, Decision::Approve, &body).await
}

/// Rejects a pending request with a note (required); the client is notified.
#[utoipa::path(post, path = "/admin/access-requests/{id}/reject", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("id" = String, Path)), request_body = DecisionBody,
    responses((status = 200, description = "The decided request", body = AccessRequestView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 422, description = "Already decided, or no note", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(access_request = %id))]
pub async fn reject(
    state: State<AppState>,
    caller: Extension<AdminCaller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<AccessRequestView>, AdminError> {
    decide(state, caller, &id, Decision::Reject, &body).await
}

async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    id: &str,
    decision: Decision,
    body: &[u8],
) -> Result<Json<AccessRequestView>, AdminError> {
    let body: DecisionBody = optional_json(body)?;
    let (request, client) = state
        .registry
        .decide_access_request(
            id,
            decision,
            body.note.as_deref(),
            &caller.actor,
            state.clock.now(),
        )
        .await?;
    if let Some(email) = decision_email(&request, &client) {
        let mailer = state.mailer.clone();
        tokio::spawn(async move { mailer.send(&email).await });
    }
    Ok(Json((&request).into()))
}

/// Parses an access request status (`status` field).
pub fn parse_status(raw: &str) -> Result<AccessStatus, RegistryError> {
    AccessStatus::parse(raw)
        .ok_or_else(|| RegistryError::invalid("status", "must be pending, approved or rejected"))
}

/// These admin routes (the admin guard is applied by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_group, list_api_groups))
        .routes(routes!(list_access_requests))
        .routes(routes!(approve))
        .routes(routes!(reject))
}
