//! `POST /auth/token/create` (CONTRACT.md section A; reference/000): client credentials in a JSON
//! body, with the state, lifetime in minutes, scopes and user the token should carry.
//!
//! The body is read field by field ([`request`], with each field's rule in [`validate`]) so every
//! refusal names the field and its rule; it is parsed as JSON whatever its declared content type
//! (curl scripts often omit it). Policy (scopes, `assessment:all`, state, lifetime) is the signing
//! core's.

pub mod request;
pub mod validate;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Mode;
use crate::http::error::{render_default, ApiError, ErrorBody, TOO_MANY_FAILURES};
use crate::http::extract::CallerIp;
use crate::http::scheme::{ErrorScope, Scheme, TokenRoute};
use crate::http::{guard, no_store};
use crate::limits::Identifier;
use crate::signing::{Grant, PolicyError, ScopeRequest, SigningError, StateRequest, TtlRequest};
use crate::state::AppState;
pub use request::ParsedRequest;
use request::TokenCreateRequest;

/// The scheme's name: in the issuance record, and the OpenAPI tag of all its routes.
pub const NAME: &str = "token_create";

/// The scheme, as `schemes::ALL` lists it.
pub const SCHEME: Scheme = Scheme {
    name: NAME,
    routes: &[TokenRoute::new(
        "/auth/token/create",
        &["POST"],
        "client_secret_json",
    )],
    grant_types: &[],
    sandbox_only: false,
    description: "POST /auth/token/create: a token for client credentials \
        in a JSON body, with scopes, state, lifetime and user",
    router,
    error_formats: &[ErrorScope::new("/auth/token/create", render_default)],
};
/// `tokenTime` when the request names none, minutes (capped by the client's maximum).
pub const DEFAULT_TOKEN_TIME_MINUTES: i64 = 60;

/// The issued token (no `Debug`: it holds the token).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreateResponse {
    /// The signed JWT.
    #[schema(example = "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...")]
    jwt: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until expiry.
    #[schema(example = 1800)]
    expires_in: i64,
    /// Expiry, RFC 3339.
    #[schema(example = "2026-11-22T12:30:00Z")]
    expires_at: String,
    /// The scopes the token carries (`assessment:all` expanded).
    #[schema(example = json!(["programs:read", "schools:read"]))]
    scope: Vec<String>,
    /// The state the token carries.
    #[schema(example = "IC")]
    state_abbr: Option<String>,
}

/// Issues a JWT for client credentials.
#[utoipa::path(post, path = "/auth/token/create", tag = NAME,
    request_body = TokenCreateRequest,
    responses(
        (status = 200, description = "The token", body = TokenCreateResponse),
        (status = 400, description = "Malformed request; the message names the field and the rule",
            body = ErrorBody, example = json!({"error": "invalid_request",
                "message": "tokenTime must be an integer between 1 and 60"})),
        (status = 401, description = "Unknown client or wrong secret", body = ErrorBody,
            example = json!({"error": "invalid_client", "message": "client authentication failed"})),
        (status = 403, description = "A scope or the state is not allowed for the client",
            body = ErrorBody, example = json!({"error": "invalid_scope",
                "message": "scopes not allowed for this client: industry:write"})),
        (status = 429, description = "Too many failed authentications for this client_id or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"error": "too_many_requests", "message": TOO_MANY_FAILURES})),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds",
            body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = tracing::field::Empty))]
pub async fn create_token(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = ParsedRequest::parse(&body)?;
    let now = state.clock.now();
    let identifier = Identifier::Client(&request.client_id);
    let attempt = state
        .registry
        .authenticate(&request.client_id, &request.client_secret, now);
    let client = guard::authenticate(&state, identifier, caller_ip, attempt)
        .await?
        .client;
    let mut grant = Grant::for_client(
        NAME,
        &client.id,
        &client.policy,
        60 * DEFAULT_TOKEN_TIME_MINUTES,
    );
    if let Some(minutes) = request.token_time {
        grant.ttl = TtlRequest::Exactly(minutes.saturating_mul(60));
    }
    if let Some(scopes) = request.scope {
        grant.scopes = ScopeRequest::Requested(scopes);
    }
    if let Some(state_abbr) = request.state_abbr {
        grant.state = StateRequest::Requested(state_abbr);
    }
    if let Some(user) = request.user {
        grant
            .extra_claims
            .insert("user".into(), Value::Object(user));
    }
    grant.caller_ip = caller_ip;
    grant.declared_ip = request.ipaddress;
    let issued = state
        .signer
        .issue(&grant, now)
        .await
        .map_err(token_time_message)?;
    let response = TokenCreateResponse {
        jwt: issued.token.expose().to_owned(),
        token_type: "Bearer",
        expires_in: issued.expires_in(),
        expires_at: rfc3339(issued.expires_at),
        scope: issued.scopes,
        state_abbr: issued.state,
    };
    Ok(no_store(Json(response)))
}

/// Names `tokenTime` and the client's limit when the lifetime is refused.
fn token_time_message(err: SigningError) -> ApiError {
    match err {
        SigningError::Policy(PolicyError::TtlOutOfRange { max_minutes }) => ApiError::invalid(
            "tokenTime",
            format!("tokenTime must be an integer between 1 and {max_minutes}"),
        ),
        other => other.into(),
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// This scheme's routes.
pub fn router(_mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token))
}
