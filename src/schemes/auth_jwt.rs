//! `GET` and `POST /auth/jwt` (CONTRACT.md section B; reference/001): client credentials in the
//! `client-id` and `client-secret` request headers, the token in the `Authorization: Bearer`
//! response header (exposed to browsers by the CORS layer).
//!
//! As documented: a missing header is 400 and invalid credentials are 403 (not 401); a database
//! outage is 503, while 500 is kept for genuine internal faults.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Mode;
use crate::http::error::{ApiError, ErrorBody, ErrorFormat, SchemeError};
use crate::http::extract::CallerIp;
use crate::http::scheme::{ErrorScope, Scheme, TokenRoute};
use crate::http::{guard, no_store};
use crate::limits::Identifier;
use crate::signing::Grant;
use crate::state::AppState;

/// The scheme's name: in the issuance record, and the OpenAPI tag of all its routes.
pub const NAME: &str = "auth_jwt";

/// The scheme, as `schemes::ALL` lists it.
pub const SCHEME: Scheme = Scheme {
    name: NAME,
    routes: &[TokenRoute::new(
        "/auth/jwt",
        &["GET", "POST"],
        "client_secret_headers",
    )],
    grant_types: &[],
    sandbox_only: false,
    description: "GET/POST /auth/jwt: a token for client-id and \
        client-secret headers, returned in the Authorization response header",
    router,
    error_formats: &[ErrorScope::new("/auth/jwt", AuthJwtErrors::render)],
};
/// The documented token lifetime: one hour (less if the client's maximum is lower).
pub const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// This scheme's error statuses: invalid credentials are 403, as the document says.
pub struct AuthJwtErrors;

impl ErrorFormat for AuthJwtErrors {
    fn render(error: ApiError) -> Response {
        let status = match &error {
            ApiError::InvalidClient | ApiError::ClientSuspended => StatusCode::FORBIDDEN,
            other => other.status(),
        };
        error.respond_with(status, Json(error.body()))
    }
}

/// What accompanies the token (which itself travels only in the `Authorization` header).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthJwtResponse {
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until expiry.
    #[schema(example = 3600)]
    expires_in: i64,
    /// Expiry, RFC 3339.
    #[schema(example = "2026-11-22T13:00:00Z")]
    expires_at: String,
}

/// Issues a JWT for the `client-id` and `client-secret` headers.
#[utoipa::path(get, path = "/auth/jwt", tag = NAME,
    params(
        ("client-id" = String, Header, description = "The unique identifier for the client.", example = "demo"),
        ("client-secret" = String, Header, description = "The secret key associated with the client-id.")),
    responses(
        (status = 200, description = "OK: the JWT is in the `Authorization` response header, \
            prefixed with `Bearer`", body = AuthJwtResponse,
            headers(("Authorization" = String, description = "The token: `Bearer <JWT>`"))),
        (status = 400, description = "Missing or empty client-id or client-secret header", body = ErrorBody,
            example = json!({"error": "invalid_request", "message": "the client-id header is required"})),
        (status = 403, description = "The client-id or client-secret is invalid", body = ErrorBody,
            example = json!({"error": "invalid_client", "message": "client authentication failed"})),
        (status = 429, description = "Too many failed authentications for this client-id or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "Internal server error", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds", body = ErrorBody)))]
pub async fn get_jwt(
    state: State<AppState>,
    caller: CallerIp,
    headers: HeaderMap,
) -> Result<Response, SchemeError<AuthJwtErrors>> {
    issue(state, caller, headers).await
}

/// Issues a JWT for the `client-id` and `client-secret` headers (the document's curl example
/// uses POST; both methods behave the same).
#[utoipa::path(post, path = "/auth/jwt", tag = NAME,
    params(
        ("client-id" = String, Header, description = "The unique identifier for the client.", example = "demo"),
        ("client-secret" = String, Header, description = "The secret key associated with the client-id.")),
    responses(
        (status = 200, description = "OK: the JWT is in the `Authorization` response header, \
            prefixed with `Bearer`", body = AuthJwtResponse,
            headers(("Authorization" = String, description = "The token: `Bearer <JWT>`"))),
        (status = 400, description = "Missing or empty client-id or client-secret header", body = ErrorBody),
        (status = 403, description = "The client-id or client-secret is invalid", body = ErrorBody),
        (status = 429, description = "Too many failed authentications for this client-id or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "Internal server error", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds", body = ErrorBody)))]
pub async fn post_jwt(
    state: State<AppState>,
    caller: CallerIp,
    headers: HeaderMap,
) -> Result<Response, SchemeError<AuthJwtErrors>> {
    issue(state, caller, headers).await
}

#[tracing::instrument(skip_all, fields(client_id = tracing::field::Empty))]
async fn issue(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    headers: HeaderMap,
) -> Result<Response, SchemeError<AuthJwtErrors>> {
    let client_id = header(&headers, "client-id")?;
    let client_secret = header(&headers, "client-secret")?;
    let now = state.clock.now();
    let attempt = state.registry.authenticate(client_id, client_secret, now);
    let client = guard::authenticate(&state, Identifier::Client(client_id), caller_ip, attempt)
        .await
        .map_err(ApiError::from)?
        .client;
    let mut grant = Grant::for_client(NAME, &client.id, &client.policy, TOKEN_LIFETIME_SECONDS);
    grant.caller_ip = caller_ip;
    let issued = state.signer.issue(&grant, now).await?;
    let bearer = HeaderValue::try_from(format!("Bearer {}", issued.token.expose()))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("token is not a header value: {e}")))?;
    let body = AuthJwtResponse {
        token_type: "Bearer",
        expires_in: issued.expires_in(),
        expires_at: issued.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let mut response = no_store(Json(body));
    response.headers_mut().insert(AUTHORIZATION, bearer);
    Ok(response)
}

/// A required credential header: present, non-empty, visible ASCII.
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, ApiError> {
    let value = headers
        .get(name)
        .map(|v| v.to_str().map(str::trim))
        .transpose()
        .map_err(|_| {
            ApiError::invalid(
                name,
                format!("the {name} header must be visible ASCII text"),
            )
        })?
        .unwrap_or_default();
    if value.is_empty() {
        return Err(ApiError::invalid(
            name,
            format!("the {name} header is required"),
        ));
    }
    Ok(value)
}

/// This scheme's routes.
pub fn router(_mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_jwt, post_jwt))
}
