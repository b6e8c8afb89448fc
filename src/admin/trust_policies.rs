//! Admin routes for trust policies (CONTRACT F, token exchange): which outside issuers' tokens
//! are exchanged for which client's access tokens. Register, list, show, change, delete.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::AdminCaller;
use super::{AdminError, AdminJson};
use crate::http::error::ErrorBody;
use crate::http::openapi;
use crate::registry::trust_policies::{NewTrustPolicy, TrustPolicy, TrustPolicyUpdate};
use crate::state::AppState;

/// Registers a trust policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrustPolicyRequest {
    /// The client its tokens are issued to.
    #[schema(example = "3f2a9c1e8b7d4e6fa0b1c2d3e4f5a6b7")]
    pub client_id: String,
    /// The outside issuer, exactly as its tokens' `iss` (https; loopback http in sandbox mode).
    #[schema(example = "https://token.actions.githubusercontent.com")]
    pub issuer: String,
    /// Where the issuer publishes its keys; default: the `jwks_uri` of its
    /// `/.well-known/openid-configuration`.
    pub jwks_uri: Option<String>,
    /// What the outside token's `aud` must contain.
    #[schema(example = "https://github.com/acme")]
    pub audience: String,
    /// What its `sub` must match: exact, or with `*` matching any run of characters.
    #[schema(example = "repo:acme/app:ref:refs/heads/main")]
    pub subject: String,
    /// Claims it must carry, each `"claim": "value or pattern"`.
    #[serde(default)]
    #[schema(example = json!({"repository_owner": "acme"}))]
    pub claims: BTreeMap<String, String>,
    /// Scopes its tokens may carry (within the client's allowed scopes).
    #[schema(example = json!(["programs:read"]))]
    pub scopes: Vec<String>,
    /// Longest lifetime of its tokens, minutes (never past the outside token's `exp` + 1 hour).
    #[schema(example = 15)]
    pub max_ttl_minutes: i64,
}

impl From<CreateTrustPolicyRequest> for NewTrustPolicy {
    fn from(r: CreateTrustPolicyRequest) -> Self {
        Self {
            client_id: r.client_id,
            issuer: r.issuer,
            jwks_uri: r.jwks_uri,
            audience: r.audience,
            subject: r.subject,
            claims: r.claims,
            scopes: r.scopes,
            max_ttl_minutes: r.max_ttl_minutes,
        }
    }
}

/// Changes a trust policy; absent fields stay as they are, `"jwks_uri": null` returns to
/// discovery.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTrustPolicyRequest {
    /// New issuer.
    pub issuer: Option<String>,
    /// New key location; `null`: discovery.
    #[serde(default, deserialize_with = "super::views::nullable")]
    #[schema(value_type = Option<String>)]
    pub jwks_uri: Option<Option<String>>,
    /// New audience.
    pub audience: Option<String>,
    /// New subject pattern.
    pub subject: Option<String>,
    /// New claim conditions (replace the old ones).
    pub claims: Option<BTreeMap<String, String>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// New longest lifetime, minutes.
    pub max_ttl_minutes: Option<i64>,
}

impl From<UpdateTrustPolicyRequest> for TrustPolicyUpdate {
    fn from(r: UpdateTrustPolicyRequest) -> Self {
        Self {
            issuer: r.issuer,
            jwks_uri: r.jwks_uri,
            audience: r.audience,
            subject: r.subject,
            claims: r.claims,
            scopes: r.scopes,
            max_ttl_minutes: r.max_ttl_minutes,
        }
    }
}

/// A trust policy as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustPolicyView {
    /// Identifier.
    #[schema(example = "8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f")]
    pub id: String,
    /// The client its tokens are issued to.
    pub client_id: String,
    /// The outside issuer.
    pub issuer: String,
    /// Where its keys are (`null`: discovery).
    pub jwks_uri: Option<String>,
    /// The audience the outside token must carry.
    pub audience: String,
    /// The subject pattern.
    pub subject: String,
    /// Claim conditions.
    pub claims: BTreeMap<String, String>,
    /// Scopes its tokens may carry.
    pub scopes: Vec<String>,
    /// Longest lifetime, minutes.
    pub max_ttl_minutes: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&TrustPolicy> for TrustPolicyView {
    fn from(p: &TrustPolicy) -> Self {
        Self {
            id: p.id.clone(),
            client_id: p.client_id.to_string(),
            issuer: p.issuer.clone(),
            jwks_uri: p.jwks_uri.clone(),
            audience: p.audience.clone(),
            subject: p.subject.clone(),
            claims: p.claims.clone(),
            scopes: p.scopes.clone(),
            max_ttl_minutes: p.max_ttl_minutes,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Registers a trust policy.
#[utoipa::path(post, path = "/admin/trust-policies", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    request_body = CreateTrustPolicyRequest,
    responses(
        (status = 201, description = "Created", body = TrustPolicyView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Invalid input; `field` names it", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_trust_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    AdminJson(request): AdminJson<CreateTrustPolicyRequest>,
) -> Result<(StatusCode, Json<TrustPolicyView>), AdminError> {
    let policy = state
        .registry
        .create_trust_policy(request.into(), &caller.actor, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json((&policy).into())))
}

/// Lists every trust policy.
#[utoipa::path(get, path = "/admin/trust-policies", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    responses((status = 200, body = Vec<TrustPolicyView>),
        (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn list_trust_policies(
    State(state): State<AppState>,
) -> Result<Json<Vec<TrustPolicyView>>, AdminError> {
    let policies = state.registry.trust_policies().await?;
    Ok(Json(policies.iter().map(TrustPolicyView::from).collect()))
}

/// Shows one trust policy.
#[utoipa::path(get, path = "/admin/trust-policies/{id}", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = TrustPolicyView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such trust policy", body = ErrorBody)))]
pub async fn show_trust_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TrustPolicyView>, AdminError> {
    Ok(Json((&state.registry.trust_policy(&id).await?).into()))
}

/// Changes a trust policy.
#[utoipa::path(patch, path = "/admin/trust-policies/{id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("id" = String, Path)),
    request_body = UpdateTrustPolicyRequest,
    responses((status = 200, body = TrustPolicyView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such trust policy", body = ErrorBody),
        (status = 422, description = "Invalid input; `field` names it", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(trust_policy_id = %id))]
pub async fn update_trust_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(id): Path<String>,
    AdminJson(request): AdminJson<UpdateTrustPolicyRequest>,
) -> Result<Json<TrustPolicyView>, AdminError> {
    let policy = state
        .registry
        .update_trust_policy(&id, request.into(), &caller.actor, state.clock.now())
        .await?;
    Ok(Json((&policy).into()))
}

/// Deletes a trust policy: no token is exchanged under it from now on.
#[utoipa::path(delete, path = "/admin/trust-policies/{id}", tag = openapi::ADMIN.name,
    security(("admin_token" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such trust policy", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(trust_policy_id = %id))]
pub async fn delete_trust_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<AdminCaller>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminError> {
    state
        .registry
        .delete_trust_policy(&id, &caller.actor, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// These admin routes (the admin guard is applied by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_trust_policy, list_trust_policies))
        .routes(routes!(
            show_trust_policy,
            update_trust_policy,
            delete_trust_policy
        ))
}
