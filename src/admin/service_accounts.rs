//! Admin routes for service-account configs (scheme E) and their certificates: register, list,
//! show, change, delete, and add a certificate for rotation. Nothing secret is ever shown: the
//! configs hold public certificates only, listed by fingerprint and validity.

pub mod views;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::AdminCaller;
use super::{AdminError, AdminJson};
use crate::http::error::ErrorBody;
use crate::http::openapi;
use crate::state::AppState;
use views::{
    AddCertificateRequest, CertificateView, CreateServiceAccountRequest, ServiceAccountView,
    UpdateServiceAccountRequest,
};

/// Registers a service account for a client, with the certificates that verify its assertions.
#[utoipa::path(post, path = "/admin/service-accounts", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    request_body = CreateServiceAccountRequest,
    responses(
        (status = 201, description = "Created", body = ServiceAccountView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Invalid input; `field` names it", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_service_account(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    AdminJson(request): AdminJson<CreateServiceAccountRequest>,
) -> Result<(StatusCode, Json<ServiceAccountView>), AdminError> {
    let account = state
        .registry
        .create_service_account(request.into(), &caller.actor, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json((&account).into())))
}

/// Lists every service account.
#[utoipa::path(get, path = "/admin/service-accounts", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    responses((status = 200, body = Vec<ServiceAccountView>),
        (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn list_service_accounts(
    State(state): State<AppState>,
) -> Result<Json<Vec<ServiceAccountView>>, AdminError> {
    let accounts = state.registry.service_accounts().await?;
    Ok(Json(
        accounts.iter().map(ServiceAccountView::from).collect(),
    ))
}

/// Shows one service account.
#[utoipa::path(get, path = "/admin/service-accounts/{service_account_id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("service_account_id" = String, Path)),
    responses((status = 200, body = ServiceAccountView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such service account", body = ErrorBody)))]
pub async fn show_service_account(
    State(state): State<AppState>,
    Path(service_account_id): Path<String>,
) -> Result<Json<ServiceAccountView>, AdminError> {
    let account = state.registry.service_account(&service_account_id).await?;
    Ok(Json((&account).into()))
}

/// Changes a service account; `certificates`, when given, replaces the whole list.
#[utoipa::path(patch, path = "/admin/service-accounts/{service_account_id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("service_account_id" = String, Path)),
    request_body = UpdateServiceAccountRequest,
    responses((status = 200, body = ServiceAccountView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such service account", body = ErrorBody),
        (status = 422, description = "Invalid input; `field` names it", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(service_account_id = %service_account_id))]
pub async fn update_service_account(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(service_account_id): Path<String>,
    AdminJson(request): AdminJson<UpdateServiceAccountRequest>,
) -> Result<Json<ServiceAccountView>, AdminError> {
    let account = state
        .registry
        .update_service_account(
            &service_account_id,
            request.into(),
            &caller.actor,
            state.clock.now(),
        )
        .await?;
    Ok(Json((&account).into()))
}

/// Deletes a service account; its assertions are refused at once.
#[utoipa::path(delete, path = "/admin/service-accounts/{service_account_id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("service_account_id" = String, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such service account", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(service_account_id = %service_account_id))]
pub async fn delete_service_account(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(service_account_id): Path<String>,
) -> Result<StatusCode, AdminError> {
    state
        .registry
        .delete_service_account(&service_account_id, &caller.actor, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a certificate to a service account (rotation: the others keep verifying).
#[utoipa::path(post, path = "/admin/service-accounts/{service_account_id}/certificates",
    tag = openapi::ADMIN.name, security(("admin_token" = [])), params(("service_account_id" = String, Path)),
    request_body = AddCertificateRequest,
    responses((status = 201, description = "Added", body = CertificateView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such service account", body = ErrorBody),
        (status = 422, description = "Invalid certificate (`field`: `pem`)", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(service_account_id = %service_account_id))]
pub async fn add_certificate(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(service_account_id): Path<String>,
    AdminJson(request): AdminJson<AddCertificateRequest>,
) -> Result<(StatusCode, Json<CertificateView>), AdminError> {
    let certificate = state
        .registry
        .add_service_account_certificate(
            &service_account_id,
            &request.pem,
            &caller.actor,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json((&certificate).into())))
}

/// These admin routes (the admin guard is applied by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_service_account, list_service_accounts))
        .routes(routes!(
            show_service_account,
            update_service_account,
            delete_service_account
        ))
        .routes(routes!(add_certificate))
}
