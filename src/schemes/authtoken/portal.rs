//! The client's side of access: `POST`/`GET /v1/access-requests`, `GET /v1/notifications` and
//! `POST /v1/notifications/{id}/read`, each authenticated with HTTP Basic client credentials.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::basic::{PortalClient, PortalErrors};
use super::request::Fields;
use crate::http::error::{ErrorBody, SchemeError};
use crate::registry::views::{AccessRequestBody, AccessRequestView, NotificationView};
use crate::state::AppState;

type PortalResult<T> = Result<T, SchemeError<PortalErrors>>;

/// Requests access to API groups; the administrator approves or rejects it.
#[utoipa::path(post, path = "/v1/access-requests", tag = super::NAME, security(("client_secret_basic" = [])),
    request_body = AccessRequestBody,
    responses(
        (status = 201, description = "Recorded, pending a decision", body = AccessRequestView,
            example = json!({"id": "ar_0193a4b2c3d47e8f9a0b1c2d3e4f5a6b", "client_id": "demo",
                "status": "pending", "api_groups": ["programs"],
                "reason": "Our careers site lists programs.", "decision_note": null,
                "created_at": "2026-11-22T12:00:00Z", "decided_at": null})),
        (status = 400, description = "Invalid input; the message names the field", body = ErrorBody,
            example = json!({"error": "invalid_request",
                "message": "there is no API group named \"nope\"", "field": "api_groups"})),
        (status = 401, description = "Missing or invalid HTTP Basic client credentials",
            body = ErrorBody, headers(("WWW-Authenticate" = String, description = "Basic realm=\"tokenmint\"")),
            example = json!({"error": "invalid_client", "message": "client authentication failed"})),
        (status = 429, description = "Too many failed authentications of this client or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = %client.id))]
pub async fn request_access(
    State(state): State<AppState>,
    PortalClient(client): PortalClient,
    body: Bytes,
) -> PortalResult<(StatusCode, Json<AccessRequestView>)> {
    let mut fields = Fields::parse(&body)?;
    let api_groups = fields.string_list("api_groups")?;
    let reason = fields.required_string("reason")?;
    let request = state
        .registry
        .request_access(&client.id, api_groups, &reason, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json((&request).into())))
}

/// Lists the client's access requests and their decisions, newest first.
#[utoipa::path(get, path = "/v1/access-requests", tag = super::NAME, security(("client_secret_basic" = [])),
    responses(
        (status = 200, description = "The client's requests", body = Vec<AccessRequestView>),
        (status = 401, description = "Missing or invalid HTTP Basic client credentials", body = ErrorBody),
        (status = 429, description = "Too many failed authentications of this client or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn list_access_requests(
    State(state): State<AppState>,
    PortalClient(client): PortalClient,
) -> PortalResult<Json<Vec<AccessRequestView>>> {
    let requests = state.registry.access_requests_of(&client.id).await?;
    Ok(Json(requests.iter().map(AccessRequestView::from).collect()))
}

/// Lists the client's notifications (decisions on its access requests), newest first.
#[utoipa::path(get, path = "/v1/notifications", tag = super::NAME, security(("client_secret_basic" = [])),
    responses(
        (status = 200, description = "The client's notifications", body = Vec<NotificationView>),
        (status = 401, description = "Missing or invalid HTTP Basic client credentials", body = ErrorBody),
        (status = 429, description = "Too many failed authentications of this client or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn list_notifications(
    State(state): State<AppState>,
    PortalClient(client): PortalClient,
) -> PortalResult<Json<Vec<NotificationView>>> {
    let notifications = state.registry.notifications_of(&client.id).await?;
    Ok(Json(
        notifications.iter().map(NotificationView::from).collect(),
    ))
}

/// Marks a notification read (again: no change); returns it.
#[utoipa::path(post, path = "/v1/notifications/{id}/read", tag = super::NAME,
    security(("client_secret_basic" = [])), params(("id" = String, Path, description = "The notification's id")),
    responses(
        (status = 200, description = "The notification, with `read_at` set", body = NotificationView),
        (status = 401, description = "Missing or invalid HTTP Basic client credentials", body = ErrorBody),
        (status = 429, description = "Too many failed authentications of this client or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 404, description = "No such notification of this client", body = ErrorBody,
            example = json!({"error": "not_found", "message": "notification not found"}))))]
#[tracing::instrument(skip_all, fields(client_id = %client.id, notification = %id))]
pub async fn mark_read(
    State(state): State<AppState>,
    PortalClient(client): PortalClient,
    Path(id): Path<String>,
) -> PortalResult<Json<NotificationView>> {
    let notification = state
        .registry
        .mark_notification_read(&client.id, &id, state.clock.now())
        .await?;
    Ok(Json((&notification).into()))
}

/// The access-request and notification routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_access, list_access_requests))
        .routes(routes!(list_notifications))
        .routes(routes!(mark_read))
}
