//! Admin routes for administrators (`/admin/admins`) and their bodies, which the CLI prints too.
//! A token is shown once, in the creation response; listings never carry it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::AdminCaller;
use super::{AdminError, AdminJson};
use crate::http::error::ErrorBody;
use crate::http::openapi;
use crate::registry::administrators::{Administrator, Role};
use crate::registry::RegistryError;
use crate::state::AppState;

/// What an administrator may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdminRole {
    /// Everything.
    Admin,
    /// Read only: every state-changing request is 403.
    Viewer,
}

impl From<Role> for AdminRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Viewer => Self::Viewer,
        }
    }
}

/// Registers an administrator.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdministratorRequest {
    /// Unique name, shown as the actor of its changes in the audit trail: 1 to 64 letters,
    /// digits, `.`, `_`, `-` or `@`.
    #[schema(example = "alice")]
    pub name: String,
    /// `admin` or `viewer`.
    #[schema(value_type = AdminRole, example = "viewer")]
    pub role: String,
}

impl CreateAdministratorRequest {
    /// The requested role, checked.
    pub fn role(&self) -> Result<Role, RegistryError> {
        Role::parse(self.role.trim())
            .ok_or_else(|| RegistryError::invalid("role", "must be admin or viewer"))
    }
}

/// An administrator (never its token).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdministratorView {
    /// Its id.
    #[schema(example = "adm_0b6f7c3e8a514e0a9d1e2f3c4b5a6d7e")]
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: AdminRole,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<&Administrator> for AdministratorView {
    fn from(a: &Administrator) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            role: a.role.into(),
            created_at: a.created_at,
        }
    }
}

/// A new administrator with its token, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedAdministratorView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: AdminRole,
    /// Its token (`Authorization: Bearer <token>`); store it now, it is never shown again.
    #[schema(example = "tmadm_3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    pub token: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl CreatedAdministratorView {
    /// The view of a created administrator and its token.
    pub fn new(a: &Administrator, token: &secrecy::SecretString) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            role: a.role.into(),
            token: token.expose_secret().to_owned(),
            created_at: a.created_at,
        }
    }
}

/// Registers an administrator and returns its token, once.
#[utoipa::path(post, path = "/admin/admins", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), request_body = CreateAdministratorRequest,
    responses(
        (status = 201, description = "Created; the token is shown this once", body = CreatedAdministratorView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The caller is a viewer", body = ErrorBody),
        (status = 422, description = "Invalid input, or the name is taken", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_administrator(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    AdminJson(request): AdminJson<CreateAdministratorRequest>,
) -> Result<(StatusCode, Json<CreatedAdministratorView>), AdminError> {
    let role = request.role()?;
    let (administrator, token) = state
        .registry
        .create_administrator(&request.name, role, &caller.actor, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAdministratorView::new(&administrator, &token)),
    ))
}

/// Lists the administrators (the bootstrap one is configured, not listed).
#[utoipa::path(get, path = "/admin/admins", tag = openapi::ADMIN.name,
    security(("admin_token" = [])),
    responses((status = 200, body = Vec<AdministratorView>),
        (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn list_administrators(
    State(state): State<AppState>,
) -> Result<Json<Vec<AdministratorView>>, AdminError> {
    let administrators = state.registry.administrators().await?;
    Ok(Json(
        administrators.iter().map(AdministratorView::from).collect(),
    ))
}

/// Deletes an administrator: its token stops at once, on every instance.
#[utoipa::path(delete, path = "/admin/admins/{id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The caller is a viewer", body = ErrorBody),
        (status = 404, description = "No such administrator", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(administrator_id = %id))]
pub async fn delete_administrator(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminError> {
    state
        .registry
        .delete_administrator(&id, &caller.actor, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// These admin routes (the admin guard is applied by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_administrator, list_administrators))
        .routes(routes!(delete_administrator))
}
