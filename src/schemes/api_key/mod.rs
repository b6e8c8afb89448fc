//! Scheme C (CONTRACT.md section C, after Nova Post's "How to generate a JWT token"):
//! `GET /clients/authorization?apiKey=` trades an API key for a one-hour access token, and the
//! sandbox-only `POST /test-api-keys` hands out a sandbox key for a registered phone.
//!
//! An adapter like every scheme: request (`request`) → rules (`validate`) → registry → `Grant` →
//! signer → response (`response`, which also renders failures as `{"errors": {..}}`). The key
//! travels in the query string, which the request span leaves out; handlers log key and client
//! ids only.

pub mod request;
pub mod response;
pub mod validate;

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Actor;
use crate::config::Mode;
use crate::http::error::{ApiError, ErrorFormat, SchemeError};
use crate::http::extract::CallerIp;
use crate::http::scheme::{ErrorScope, Issues, Scheme, TokenRoute};
use crate::http::{guard, no_store};
use crate::limits::Identifier;
use crate::registry::api_keys::Environment;
use crate::registry::ClientStatus;
use crate::signing::{Grant, IssuedToken};
use crate::state::AppState;
use request::{AuthorizationQuery, TestApiKeyRequest};
use response::{ApiKeyErrors, ErrorsBody, JwtResponse, TestApiKeyResponse};

/// The scheme's name: in the issuance record, and the OpenAPI tag of all its routes.
pub const NAME: &str = "api_key";

/// The scheme, as `schemes::ALL` lists it.
pub const SCHEME: Scheme = Scheme {
    name: NAME,
    routes: &[
        TokenRoute::new("/clients/authorization", &["GET"], "api_key"),
        TokenRoute {
            issues: Issues::ApiKey,
            sandbox_only: true,
            ..TokenRoute::new("/test-api-keys", &["POST"], "registered_phone")
        },
    ],
    grant_types: &[],
    sandbox_only: false,
    description: "GET /clients/authorization: a temporary JWT for \
        an API key; POST /test-api-keys: a sandbox API key for a registered phone",
    router,
    error_formats: &[
        // A key is only ever hashed: one with a NUL is an unknown key, 401 (CONTRACT.md C).
        ErrorScope::refusing_nul_itself("/clients/authorization", ApiKeyErrors::render),
        ErrorScope::new("/test-api-keys", ApiKeyErrors::render),
    ],
};
/// The documented token lifetime ("valid for ~1 hour"), capped by the client's maximum.
pub const TOKEN_TTL_SECONDS: i64 = 3600;

/// Generate a temporary JWT-token
///
/// Issues a temporary JWT-token for making authorized API requests. A valid `apiKey` must be
/// provided as a query parameter.
///
/// How to obtain an apiKey:
/// - In the sandbox, use `POST /test-api-keys` with a phone number registered to your client
///   (the demo client's is `+380501234567`), or the `API_KEY` printed on first start
/// - In production, use the personal apiKey your administrator issued to you
///
/// Usage:
/// - Call `GET /clients/authorization?apiKey={apiKey}`
/// - On success, copy the `jwt` from the response
/// - Open the **Authorize** dialog of this documentation, choose `access_token_bare` and paste it
/// - Try-it-out requests then include `Authorization: {jwt}`
///
/// Notes:
/// - The jwt is valid for 1 hour (less if your client's maximum lifetime is shorter); request a
///   new one after expiry
/// - Do not store the jwt beyond its lifetime
/// - `/test-api-keys` is not available in production
#[utoipa::path(get, path = "/clients/authorization", tag = NAME,
    params(("apiKey" = String, Query,
        description = "Your personal API key (`tmk_sandbox_...` in the sandbox, `tmk_live_...` \
            in production).")),
    responses(
        (status = 200, description = "JWT-token", body = JwtResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "Unknown, revoked or expired API key, a key of the other \
            environment, or a suspended client", body = ErrorsBody,
            example = json!({"errors": {"apiKey": "The API key is invalid, revoked or expired."}})),
        (status = 422, description = "Validation error: `apiKey` missing, empty or repeated",
            body = ErrorsBody,
            example = json!({"errors": {"apiKey": "The apiKey query parameter is required."}})),
        (status = 429, description = "Too many failed attempts with this key or from this \
            address; retry after Retry-After seconds", body = ErrorsBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"errors": {"apiKey": response::TOO_MANY_FAILED_KEYS}})),
        (status = 503, description = "The store did not answer in time; retry later",
            body = ErrorsBody, headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"errors": {"service": "the service is temporarily unavailable, retry later"}}))))]
#[tracing::instrument(skip_all)]
pub async fn authorize(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    RawQuery(query): RawQuery,
) -> Result<impl IntoResponse, SchemeError<ApiKeyErrors>> {
    let api_key = validate::api_key(AuthorizationQuery::parse(query.as_deref()))?;
    let issued = in_time(&state, issue_for_key(&state, &api_key, caller_ip)).await?;
    Ok(no_store(Json(JwtResponse {
        jwt: issued.token.expose().to_owned(),
    })))
}

/// Authenticates a key for the service's environment and issues the client's default token.
async fn issue_for_key(
    state: &AppState,
    api_key: &SecretString,
    caller_ip: Option<IpAddr>,
) -> Result<IssuedToken, ApiError> {
    let environment = validate::environment(state.settings.mode);
    let now = state.clock.now();
    let identifier = Identifier::ApiKey(api_key.expose_secret());
    let attempt = state
        .registry
        .authenticate_api_key(api_key.expose_secret(), environment, now);
    let key = guard::authenticate(state, identifier, caller_ip, attempt).await?;
    let client = &key.client;
    let mut grant = Grant::for_client(NAME, &client.id, &client.policy, TOKEN_TTL_SECONDS);
    grant.caller_ip = caller_ip;
    let issued = state.signer.issue(&grant, now).await?;
    tracing::info!(api_key_id = %key.api_key_id, client_id = %client.id, jti = %issued.jti,
        "token issued for an api key");
    Ok(issued)
}

/// Create a sandbox API key for a registered phone
///
/// Sandbox only (absent in production). Returns a new sandbox API key of the active client the
/// phone number is registered to; it works with `GET /clients/authorization` until `expiresAt`.
/// The demo client's phone is `+380501234567`.
#[utoipa::path(post, path = "/test-api-keys", tag = NAME,
    request_body(content = TestApiKeyRequest, example = json!({"phone": "+380501234567"})),
    responses(
        (status = 201, description = "A new sandbox API key", body = TestApiKeyResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 404, description = "No active client has this phone registered",
            body = ErrorsBody, example = json!({"errors": {"phone":
                "No active client has this phone number registered."}})),
        (status = 422, description = "Validation error: malformed phone or body",
            body = ErrorsBody, example = json!({"errors": {"phone":
                "The phone must be an international number in E.164 format, e.g. +380501234567."}})),
        (status = 503, description = "The store did not answer in time; retry later",
            body = ErrorsBody, headers(("Retry-After" = u64, description = "Seconds to wait")))))]
#[tracing::instrument(skip_all)]
pub async fn create_test_api_key(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, SchemeError<ApiKeyErrors>> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::invalid("phone", "The body could not be read."),
    })?;
    let phone = validate::phone(&TestApiKeyRequest::parse(&body)?.phone)?;
    let created = in_time(&state, create_for_phone(&state, &phone)).await?;
    Ok(no_store((StatusCode::CREATED, Json(created))))
}

/// Creates a sandbox key, expiring after the configured minutes, for the active client a phone
/// (E.164) is registered to.
async fn create_for_phone(state: &AppState, phone: &str) -> Result<TestApiKeyResponse, ApiError> {
    let client = state.registry.client_by_phone(phone).await?;
    if client.status != ClientStatus::Active {
        tracing::info!(client_id = %client.id, "test api key refused: client suspended");
        return Err(ApiError::NotFound("phone"));
    }
    let now = state.clock.now();
    let ttl_minutes = state.settings.schemes.api_key.test_key_ttl_minutes;
    let expires_at = validate::test_key_expiry(now, ttl_minutes);
    let issued = state
        .registry
        .create_api_key(
            client.id.as_str(),
            Environment::Sandbox,
            Some(expires_at),
            &Actor::Client(client.id.to_string()),
            now,
        )
        .await?;
    Ok(TestApiKeyResponse::new(&issued, expires_at))
}

/// Runs store-bound work within the pool's acquire timeout (and inside the request timeout), so
/// a store that stops answering is a 503 in this scheme's format, not the outer timeout's.
async fn in_time<T>(
    state: &AppState,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let settings = &state.settings;
    let request = Duration::from_secs(settings.http.request_timeout_seconds)
        .saturating_sub(Duration::from_millis(500));
    let budget = Duration::from_millis(settings.database.acquire_timeout_ms)
        .min(request)
        .max(Duration::from_millis(100));
    tokio::time::timeout(budget, work)
        .await
        .unwrap_or_else(|_| {
            tracing::warn!(
                budget_ms = budget.as_millis(),
                "the store did not answer in time"
            );
            Err(ApiError::Unavailable)
        })
}

/// This scheme's routes; `/test-api-keys` only in sandbox mode, so a production service answers
/// it 404 and leaves it out of its OpenAPI document.
pub fn router(mode: Mode) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new().routes(routes!(authorize));
    match mode {
        Mode::Sandbox => router.routes(routes!(create_test_api_key)),
        Mode::Production => router,
    }
}
