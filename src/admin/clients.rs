//! Admin routes for clients and their secrets.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;

use super::auth::AdminCaller;
use super::views::{
    AddSecretRequest, ClientView, CreateClientRequest, CreatedClientView, IssuedSecretView,
    SecretView, UpdateClientRequest,
};
use super::{optional_json, AdminError, AdminJson};
use crate::http::error::ErrorBody;
use crate::http::openapi;
use crate::state::AppState;

/// Registers a client and returns its first secret, once.
#[utoipa::path(post, path = "/admin/clients", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    request_body = CreateClientRequest,
    responses(
        (status = 201, description = "Created; the secret is shown this once", body = CreatedClientView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_client(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    AdminJson(request): AdminJson<CreateClientRequest>,
) -> Result<(StatusCode, Json<CreatedClientView>), AdminError> {
    let new = request.into_new_client()?;
    let (client, secret) = state
        .registry
        .create_client(new, &caller.actor, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedClientView::new(&client, &secret)),
    ))
}

/// Lists every client.
#[utoipa::path(get, path = "/admin/clients", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    responses((status = 200, body = Vec<ClientView>),
        (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn list_clients(
    State(state): State<AppState>,
) -> Result<Json<Vec<ClientView>>, AdminError> {
    let clients = state.registry.clients().await?;
    Ok(Json(clients.iter().map(ClientView::from).collect()))
}

/// Shows one client.
#[utoipa::path(get, path = "/admin/clients/{client_id}", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody)))]
pub async fn show_client(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Json<ClientView>, AdminError> {
    Ok(Json((&state.registry.client(&client_id).await?).into()))
}

/// Changes a client's policy, contact data or status (`suspended` stops every credential).
#[utoipa::path(patch, path = "/admin/clients/{client_id}", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    params(("client_id" = String, Path)), request_body = UpdateClientRequest,
    responses((status = 200, body = ClientView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = %client_id))]
pub async fn update_client(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(client_id): Path<String>,
    AdminJson(request): AdminJson<UpdateClientRequest>,
) -> Result<Json<ClientView>, AdminError> {
    let change = request.into_update()?;
    let client = state
        .registry
        .update_client(&client_id, change, &caller.actor, state.clock.now())
        .await?;
    Ok(Json((&client).into()))
}

/// Adds a secret to a client (rotation with overlap: the old ones keep working until revoked
/// or expired). The body is optional.
#[utoipa::path(post, path = "/admin/clients/{client_id}/secrets", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("client_id" = String, Path)),
    request_body(content = Option<AddSecretRequest>),
    responses((status = 201, description = "The secret, shown this once", body = IssuedSecretView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = %client_id))]
pub async fn add_secret(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<IssuedSecretView>), AdminError> {
    let request: AddSecretRequest = optional_json(&body)?;
    let secret = state
        .registry
        .add_secret(
            &client_id,
            request.expires_at,
            &caller.actor,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json((&secret).into())))
}

/// Lists a client's secrets (never their values).
#[utoipa::path(get, path = "/admin/clients/{client_id}/secrets", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("client_id" = String, Path)),
    responses((status = 200, body = Vec<SecretView>),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody)))]
pub async fn list_secrets(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Json<Vec<SecretView>>, AdminError> {
    let secrets = state.registry.secrets(&client_id).await?;
    Ok(Json(secrets.iter().map(SecretView::from).collect()))
}

/// Revokes one secret at once.
#[utoipa::path(delete, path = "/admin/clients/{client_id}/secrets/{secret_id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("client_id" = String, Path), ("secret_id" = String, Path)),
    responses((status = 204, description = "Revoked"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such live secret", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = %client_id, secret_id = %secret_id))]
pub async fn revoke_secret(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path((client_id, secret_id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    state
        .registry
        .revoke_secret(&client_id, &secret_id, &caller.actor, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
