//! Admin routes for signing keys.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;

use super::auth::AdminCaller;
use super::views::{KeyView, RotateKeysRequest, RotatedKey};
use super::{optional_json, AdminError};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi;
use crate::state::AppState;

/// Lists the signing keys: active, next (published before it signs) and retired.
#[utoipa::path(get, path = "/admin/keys", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    responses((status = 200, body = Vec<KeyView>),
        (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn list_keys(State(state): State<AppState>) -> Result<Json<Vec<KeyView>>, AdminError> {
    let keys = state.signer.keys().await?;
    Ok(Json(keys.iter().map(KeyView::from).collect()))
}

/// Rotates signing keys: each algorithm's pre-published next key starts signing, the old one is
/// retired (published until its last token expires) and a new next key is published. The body
/// is optional; without an algorithm every algorithm rotates.
#[utoipa::path(post, path = "/admin/keys/rotate", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    request_body(content = Option<RotateKeysRequest>),
    responses((status = 200, description = "The keys that now sign", body = Vec<RotatedKey>),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn rotate_keys(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    body: Bytes,
) -> Result<Json<Vec<RotatedKey>>, AdminError> {
    let request: RotateKeysRequest = optional_json(&body)?;
    let rotated = state
        .signer
        .rotate_some(request.algorithm, &caller.actor, state.clock.now())
        .await?;
    Ok(Json(rotated.into_iter().map(RotatedKey::from).collect()))
}

/// Revokes a signing key at once, for a key that may have leaked: it leaves the JWKS and its
/// tokens stop verifying (introspection inactive, `/v1/me` 401) on every instance within a
/// second. Revoking the active key makes the pre-published next key sign at once; revoking the
/// next key replaces it. Revoking a revoked key changes nothing.
#[utoipa::path(post, path = "/admin/keys/{kid}/revoke", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("kid" = String, Path)),
    responses((status = 204, description = "Revoked"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(kid = %kid))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(kid): Path<String>,
) -> Result<StatusCode, AdminError> {
    match state
        .signer
        .revoke_key(&kid, &caller.actor, state.clock.now())
        .await?
    {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(AdminError(ApiError::NotFound("signing key"))),
    }
}
