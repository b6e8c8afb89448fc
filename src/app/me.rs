//! `GET /v1/me`: the protected endpoint that shows a caller its verified token claims.
//!
//! It accepts the token in every form the documents use (`Bearer`, bare, `?jwt=`), so it is the
//! reference for how every protected endpoint authenticates a caller.

use axum::extract::State;
use axum::Json;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::PresentedToken;
use crate::state::AppState;

/// Shows the verified claims of the presented access token.
#[utoipa::path(get, path = "/v1/me", tag = "tokens",
    params(("jwt" = Option<String>, Query,
        description = "The token, for standalone applications loaded by URL")),
    security(("bearer" = []), ("jwt" = []), ("jwt_query" = [])),
    responses(
        (status = 200, description = "The token's verified claims", body = Object,
            example = json!({"iss": "http://127.0.0.1:8080", "sub": "demo", "client_id": "demo",
                "scope": "programs:read", "state": "IC"})),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = ErrorBody),
        (status = 503, description = "Revocation cannot be checked right now", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn me(
    State(state): State<AppState>,
    token: PresentedToken,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let claims = state
        .signer
        .verify_active(&token.0, state.clock.now())
        .await?;
    Ok(Json(claims))
}

/// The protected resource routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}
