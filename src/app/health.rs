//! Liveness and readiness probes, and the JWKS document.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::openapi;
use crate::state::AppState;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `unavailable`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = openapi::OPERATIONS.name,
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers: the instance can issue tokens.
#[utoipa::path(get, path = "/readyz", tag = openapi::OPERATIONS.name,
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database does not answer", body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db = &state.db;
    let ready = tokio::time::timeout(Duration::from_secs(2), db.ping())
        .await
        .unwrap_or(false);
    if ready {
        (StatusCode::OK, Json(Health { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
            }),
        )
    }
}

/// The public keys that verify tokenmint's tokens (RFC 7517 JWK Set): the active key of each
/// algorithm, the next keys (published before they sign) and retired keys until their last
/// token expires.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = openapi::TOKENS.name,
    responses((status = 200, description = "JWK Set", body = Object,
        example = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "…", "y": "…",
            "kid": "…", "alg": "ES256", "use": "sig"}]}))))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.signer.jwks().as_ref().clone()),
    )
}

/// Probe and key-publication routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(jwks))
}
