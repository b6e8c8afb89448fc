//! `GET /v1/me`: the protected endpoint that shows a caller its verified token claims.
//!
//! It accepts the token in every form the documents use (`Bearer`, bare, `?jwt=`), and a
//! DPoP-bound token (RFC 9449) only as `Authorization: DPoP <t>` with a proof of its key over
//! this request and this token, so it is the reference for how every protected endpoint
//! authenticates a caller.

use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::dpop::{self, ProofFailure, ProofRefusal, ProofRequest};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::PresentedToken;
use crate::http::openapi;
use crate::state::AppState;

/// Shows the verified claims of the presented access token.
#[utoipa::path(get, path = "/v1/me", tag = openapi::TOKENS.name,
    params(("jwt" = Option<String>, Query,
        description = "The token, for standalone applications loaded by URL")),
    security(("access_token" = []), ("access_token_bare" = []), ("access_token_query" = [])),
    responses(
        (status = 200, description = "The token's verified claims", body = Object,
            example = json!({"iss": "http://127.0.0.1:8080", "sub": "demo", "client_id": "demo",
                "scope": "programs:read", "state": "IC"})),
        (status = 401, description = "Missing, invalid, expired or revoked token, or a DPoP-bound \
            token without a valid proof (`WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 503, description = "Revocation cannot be checked right now", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    token: PresentedToken,
) -> Result<Json<Map<String, Value>>, Response> {
    let claims = crate::http::active::active_claims(&state, &token.0)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let bound_to = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jkt"))
        .and_then(Value::as_str);
    match (bound_to, token.1) {
        (None, false) => {}
        (None, true) => return Err(dpop_refusal("invalid_token", "the token is not DPoP-bound")),
        (Some(_), false) => {
            return Err(dpop_refusal(
                "invalid_token",
                "the token is DPoP-bound: present it as Authorization: DPoP with a DPoP proof",
            ))
        }
        (Some(jkt), true) => {
            let request = ProofRequest {
                method: "GET",
                path: "/v1/me",
                access_token: Some(&token.0),
            };
            match dpop::check(&state, &headers, &request).await {
                Ok(Some(proven)) if proven == jkt => {}
                Ok(Some(_)) => {
                    let refusal = ProofRefusal::WrongKey.to_string();
                    return Err(dpop_refusal("invalid_dpop_proof", &refusal));
                }
                Ok(None) => {
                    let refusal = ProofRefusal::Missing.to_string();
                    return Err(dpop_refusal("invalid_dpop_proof", &refusal));
                }
                Err(ProofFailure::Refused(refusal)) => {
                    return Err(dpop_refusal("invalid_dpop_proof", &refusal.to_string()))
                }
                Err(ProofFailure::Store(e)) => return Err(ApiError::from(e).into_response()),
            }
        }
    }
    Ok(Json(claims))
}

/// 401 with a DPoP challenge naming the error (RFC 9449 §7.1), in the service's own body.
fn dpop_refusal(code: &'static str, message: &str) -> Response {
    let body = ErrorBody {
        error: code.to_owned(),
        message: message.to_owned(),
        field: None,
    };
    let challenge = format!(
        r#"DPoP algs="{}", error="{code}""#,
        dpop::ALGORITHMS.join(" ")
    );
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// The protected resource routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}
