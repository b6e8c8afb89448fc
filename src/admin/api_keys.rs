//! Admin routes for API keys of clients (scheme C), and their request and response bodies,
//! which the CLI prints too. A key is shown once, in the creation response; listings never
//! carry it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
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
use crate::registry::api_keys::{ApiKeyInfo, Environment, IssuedApiKey};
use crate::registry::RegistryError;
use crate::state::AppState;

/// Where an API key works: a sandbox-mode service accepts only `sandbox` keys, a
/// production-mode service only `production` keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyEnvironment {
    /// Works only on a sandbox-mode service.
    Sandbox,
    /// Works only on a production-mode service.
    Production,
}

impl From<Environment> for ApiKeyEnvironment {
    fn from(environment: Environment) -> Self {
        match environment {
            Environment::Sandbox => Self::Sandbox,
            Environment::Production => Self::Production,
        }
    }
}

/// Creates an API key.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// `sandbox` or `production`: where the key works.
    #[schema(value_type = ApiKeyEnvironment, required = true, example = "sandbox")]
    pub environment: Option<String>,
    /// When the key stops working (RFC 3339); absent: never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl CreateApiKeyRequest {
    /// The requested environment, checked.
    pub fn environment(&self) -> Result<Environment, RegistryError> {
        let raw = self
            .environment
            .as_deref()
            .ok_or_else(|| RegistryError::invalid("environment", "is required"))?;
        Environment::parse(raw)
            .ok_or_else(|| RegistryError::invalid("environment", "must be sandbox or production"))
    }
}

/// A new API key, shown this once.
#[derive(Serialize, ToSchema)]
pub struct IssuedApiKeyView {
    /// The key's id, for listing and revocation.
    #[schema(example = "key_01936f0e5b7c7d2a9e4f1b3c5d7e9f10")]
    pub api_key_id: String,
    /// The key; store it now, it is never shown again.
    #[schema(example = "tmk_sandbox_3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    pub api_key: String,
    /// The client it belongs to.
    pub client_id: String,
    /// Where it works.
    pub environment: ApiKeyEnvironment,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&IssuedApiKey> for IssuedApiKeyView {
    fn from(k: &IssuedApiKey) -> Self {
        Self {
            api_key_id: k.api_key_id.clone(),
            api_key: k.key.expose_secret().to_owned(),
            client_id: k.client_id.to_string(),
            environment: k.environment.into(),
            created_at: k.created_at,
            expires_at: k.expires_at,
        }
    }
}

/// A stored API key (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// The key's id.
    pub api_key_id: String,
    /// The client it belongs to.
    pub client_id: String,
    /// Where it works.
    pub environment: ApiKeyEnvironment,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request; `null` if never. Written in batches, so it may
    /// lag a use by a few seconds.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&ApiKeyInfo> for ApiKeyView {
    fn from(k: &ApiKeyInfo) -> Self {
        Self {
            api_key_id: k.api_key_id.clone(),
            client_id: k.client_id.clone(),
            environment: k.environment.into(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// Creates an API key for a client and returns it, once.
#[utoipa::path(post, path = "/admin/clients/{client_id}/api-keys", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("client_id" = String, Path)),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The key, shown this once", body = IssuedApiKeyView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = %client_id))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(client_id): Path<String>,
    AdminJson(request): AdminJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<IssuedApiKeyView>), AdminError> {
    let environment = request.environment()?;
    let issued = state
        .registry
        .create_api_key(
            &client_id,
            environment,
            request.expires_at,
            &caller.actor,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json((&issued).into())))
}

/// Lists a client's API keys (never the keys themselves).
#[utoipa::path(get, path = "/admin/clients/{client_id}/api-keys", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("client_id" = String, Path)),
    responses((status = 200, body = Vec<ApiKeyView>),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Json<Vec<ApiKeyView>>, AdminError> {
    let keys = state.registry.api_keys(&client_id).await?;
    Ok(Json(keys.iter().map(ApiKeyView::from).collect()))
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/admin/api-keys/{api_key_id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("api_key_id" = String, Path)),
    responses((status = 204, description = "Revoked"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such live API key", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(api_key_id = %api_key_id))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(api_key_id): Path<String>,
) -> Result<StatusCode, AdminError> {
    state
        .registry
        .revoke_api_key(&api_key_id, &caller.actor, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// These admin routes (the admin guard is applied by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}
