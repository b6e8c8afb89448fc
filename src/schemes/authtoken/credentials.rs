//! The client's JWT credentials: `POST`/`GET /v1/credentials` and `DELETE /v1/credentials/{key}`,
//! each authenticated with HTTP Basic client credentials. The secret is shown once, at creation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::basic::{PortalClient, PortalErrors};
use super::request::Fields;
use crate::domain::ClientId;
use crate::http::error::{ErrorBody, SchemeError};
use crate::registry::views::{CreatedCredentialView, CredentialBody, CredentialView};
use crate::registry::{NewJwtCredential, RegistryError};
use crate::state::AppState;

type PortalResult<T> = Result<T, SchemeError<PortalErrors>>;

/// Creates a JWT credential for approved API groups; the secret is shown this once.
#[utoipa::path(post, path = "/v1/credentials", tag = super::NAME, security(("client_secret_basic" = [])),
    request_body = CredentialBody,
    responses(
        (status = 201, description = "Created; copy the key and the secret now",
            body = CreatedCredentialView),
        (status = 400, description = "Invalid input; the message names the field", body = ErrorBody,
            example = json!({"error": "invalid_request", "message": "username is required",
                "field": "username"})),
        (status = 401, description = "Missing or invalid HTTP Basic client credentials", body = ErrorBody),
        (status = 429, description = "Too many failed authentications of this client or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 403, description = "An API group is not approved for the client", body = ErrorBody,
            example = json!({"error": "group_not_approved",
                "message": "API groups not approved for this client: reports"})),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = %client.id))]
pub async fn create_credential(
    State(state): State<AppState>,
    PortalClient(client): PortalClient,
    body: Bytes,
) -> PortalResult<(StatusCode, Json<CreatedCredentialView>)> {
    let mut fields = Fields::parse(&body)?;
    let new = NewJwtCredential {
        username: fields.required_string("username")?,
        notes: fields.optional_string("notes")?.unwrap_or_default(),
        api_groups: fields.string_list("api_groups")?,
    };
    let issued = state
        .registry
        .create_jwt_credential(&client.id, new, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json((&issued).into())))
}

/// Lists the client's JWT credentials, revoked ones included; never their secrets.
#[utoipa::path(get, path = "/v1/credentials", tag = super::NAME, security(("client_secret_basic" = [])),
    responses(
        (status = 200, description = "The client's credentials", body = Vec<CredentialView>),
        (status = 401, description = "Missing or invalid HTTP Basic client credentials", body = ErrorBody),
        (status = 429, description = "Too many failed authentications of this client or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn list_credentials(
    State(state): State<AppState>,
    PortalClient(client): PortalClient,
) -> PortalResult<Json<Vec<CredentialView>>> {
    let credentials = state.registry.jwt_credentials_of(&client.id).await?;
    Ok(Json(credentials.iter().map(CredentialView::from).collect()))
}

/// Revokes a JWT credential: generate and refresh refuse it at once, and its AuthTokens that
/// have not expired are revoked too.
#[utoipa::path(delete, path = "/v1/credentials/{key}", tag = super::NAME, security(("client_secret_basic" = [])),
    params(("key" = String, Path, description = "The credential's key")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing or invalid HTTP Basic client credentials", body = ErrorBody),
        (status = 429, description = "Too many failed authentications of this client or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 404, description = "No live credential of this client has that key", body = ErrorBody,
            example = json!({"error": "not_found", "message": "credential not found"}))))]
#[tracing::instrument(skip_all, fields(client_id = %client.id, key = %key))]
pub async fn revoke_credential(
    State(state): State<AppState>,
    PortalClient(client): PortalClient,
    Path(key): Path<String>,
) -> PortalResult<StatusCode> {
    revoke(&state, &client.id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a client's live JWT credential and, best effort, its AuthTokens that have not expired:
/// what `DELETE /v1/credentials/{key}` and the portal's "Revoke" both do.
pub async fn revoke(state: &AppState, client: &ClientId, key: &str) -> Result<(), RegistryError> {
    let now = state.clock.now();
    state
        .registry
        .revoke_jwt_credential(client, key, now)
        .await?;
    // Best effort: the credential is revoked (what the caller asked); its tokens expire anyway.
    let revoked = state.signer.revoke_subject(super::NAME, key, now).await;
    if let Err(error) = revoked {
        tracing::warn!(%error, "could not revoke the AuthTokens of a revoked credential");
    }
    Ok(())
}

/// The credential routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_credential, list_credentials))
        .routes(routes!(revoke_credential))
}
