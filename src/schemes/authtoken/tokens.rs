//! `generate(key, secret)` as `POST /auth/authtoken` and `refresh(oldAuthToken)` as
//! `POST /auth/authtoken/refresh`.
//!
//! An AuthToken is an access token from the signing core: `sub` is the credential's key, the
//! scopes are the union of its API groups' scopes, the lifetime `[schemes.authtoken]
//! token_lifetime_minutes` capped by the client's maximum. A refresh accepts a token this
//! scheme issued, unrevoked, until `refresh_window_hours` after its expiry, while its credential
//! and client are active; the registry lets each token be refreshed once, and a second
//! presentation revokes it and every token issued from it.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::request::Fields;
use super::{AuthTokenErrors, NAME};
use crate::http::error::{
    ApiError, ErrorBody, SchemeError, INVALID_CREDENTIALS, TOO_MANY_FAILURES,
};
use crate::http::extract::CallerIp;
use crate::http::guard::{self, Refused};
use crate::http::no_store;
use crate::limits::Identifier;
use crate::registry::{AuthenticatedCredential, RefreshClaim, RegistryError};
use crate::signing::{Grant, IssuedToken, ScopeRequest, StateRequest, TokenError};
use crate::single_use::SingleUse;
use crate::state::AppState;

/// The answer to a token that cannot be refreshed (bad, revoked, past the window, or of a
/// revoked credential or suspended client).
const REFRESH_REFUSED: &str = "the AuthToken cannot be refreshed: it is invalid, revoked or past \
    its refresh window, or its credential is revoked";
/// The answer to a second refresh of the same token.
const ALREADY_REFRESHED: &str = "this AuthToken was already refreshed; as a precaution it and \
    every AuthToken issued from it are now revoked: generate a new one with the key and secret";

type TokenResult = Result<Response, SchemeError<AuthTokenErrors>>;

/// `generate(key, secret)`: the JWT credential's key and secret.
#[derive(ToSchema)]
#[schema(example = json!({"key": "398e54e888da42f8d089e28c298a42b0",
    "secret": "paste the secret shown when the credential was created"}))]
#[allow(dead_code)] // documents the wire format; parsed field by field
pub struct GenerateRequest {
    /// The credential's key.
    key: String,
    /// The credential's secret.
    secret: String,
}

/// `refresh(oldAuthToken)`: the AuthToken to renew.
#[derive(ToSchema)]
#[schema(example = json!({"authToken": "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9..."}))]
#[allow(dead_code, non_snake_case)] // documents the wire format; parsed field by field
pub struct RefreshRequest {
    /// An AuthToken issued by this service, unexpired or expired within the refresh window.
    authToken: String,
}

/// An AuthToken.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthTokenResponse {
    /// The signed JWT; send it as `Authorization: Bearer <authToken>`.
    #[schema(example = "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...")]
    auth_token: String,
    /// Seconds until expiry.
    #[schema(example = 3600)]
    expires_in: i64,
    /// Expiry, RFC 3339.
    #[schema(example = "2026-11-22T13:00:00Z")]
    expires_at: String,
}

/// Generates an AuthToken for a JWT credential's key and secret.
#[utoipa::path(post, path = "/auth/authtoken", tag = super::NAME, request_body = GenerateRequest,
    responses(
        (status = 200, description = "The AuthToken", body = AuthTokenResponse),
        (status = 400, description = "Malformed body; the message names the field", body = ErrorBody,
            example = json!({"error": "invalid_request", "message": "secret is required", "field": "secret"})),
        (status = 401, description = "Unknown key, wrong secret, revoked credential or suspended \
            client: one answer for all", body = ErrorBody,
            example = json!({"error": "invalid_credentials", "message": INVALID_CREDENTIALS})),
        (status = 429, description = "Too many failed attempts with this key or from this address; \
            retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"error": "too_many_requests", "message": TOO_MANY_FAILURES})),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds",
            body = ErrorBody, example = json!({"error": "unavailable",
                "message": "the service is temporarily unavailable, retry later"}))))]
#[tracing::instrument(skip_all, fields(key = tracing::field::Empty))]
pub async fn generate(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    body: Bytes,
) -> TokenResult {
    let mut fields = Fields::parse(&body)?;
    let key = fields.required_string("key")?;
    let secret = fields.required_string("secret")?;
    let attempt = state
        .registry
        .authenticate_jwt_credential(&key, &secret, state.clock.now());
    let credential =
        guard::authenticate(&state, Identifier::JwtCredential(&key), caller_ip, attempt)
            .await
            .map_err(|refusal| match refusal {
                Refused::Limited(limited) => ApiError::from(limited),
                Refused::Credential(err) => refused(err, INVALID_CREDENTIALS),
            })?;
    tracing::Span::current().record("key", credential.credential.key.as_str());
    let issued = issue(&state, &credential, None, caller_ip).await?;
    Ok(respond(&issued))
}

/// Renews an AuthToken, once, until the refresh window after its expiry has passed.
#[utoipa::path(post, path = "/auth/authtoken/refresh", tag = super::NAME,
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A fresh AuthToken", body = AuthTokenResponse),
        (status = 400, description = "Malformed body", body = ErrorBody,
            example = json!({"error": "invalid_request", "message": "authToken is required",
                "field": "authToken"})),
        (status = 401, description = "Not refreshable (invalid, revoked, past the window, credential \
            revoked or client suspended), or already refreshed (which revokes the tokens issued \
            from it)", body = ErrorBody,
            example = json!({"error": "invalid_credentials", "message": ALREADY_REFRESHED})),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds",
            body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(jti = tracing::field::Empty))]
pub async fn refresh(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    body: Bytes,
) -> TokenResult {
    let mut fields = Fields::parse(&body)?;
    let token = fields.required_string("authToken")?;
    let now = state.clock.now();
    let window = state.settings.schemes.authtoken.refresh_window_hours;
    let claims = state
        .signer
        .verify_active_allowing_expiry(&token, now, window.saturating_mul(3600))
        .await
        .map_err(|e| match e {
            TokenError::Unavailable => ApiError::Unavailable,
            other => {
                tracing::info!(reason = %other, "refresh refused");
                ApiError::InvalidCredentials(REFRESH_REFUSED)
            }
        })?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    tracing::Span::current().record("jti", jti);
    let lineage = AuthTokenLineage::of(&claims).ok_or_else(|| {
        tracing::info!("refresh refused: not an AuthToken");
        ApiError::InvalidCredentials(REFRESH_REFUSED)
    })?;
    let claim = state
        .registry
        .claim_authtoken_refresh(
            jti,
            lineage.credential_key,
            lineage.issued_at,
            lineage.expires_at,
            now,
        )
        .await;
    match claim.map_err(|e| refused(e, REFRESH_REFUSED))? {
        RefreshClaim::Claimed(credential, claimed) => {
            let issued = issue(&state, &credential, Some(&claimed), caller_ip).await?;
            Ok(respond(&issued))
        }
        RefreshClaim::Reused(descendants) => {
            let family: Vec<String> = std::iter::once(jti.to_owned()).chain(descendants).collect();
            state.signer.revoke(&family, now).await?;
            crate::http::observe::note_refusal("replayed");
            Err(ApiError::InvalidCredentials(ALREADY_REFRESHED).into())
        }
    }
}

/// Issues an AuthToken for an active credential; a refresh hands its claim on the refreshed
/// token, which the signing core keeps (recording the successor in the lineage) before the token
/// is returned, or releases if none is.
async fn issue(
    state: &AppState,
    authenticated: &AuthenticatedCredential,
    refreshed: Option<&dyn SingleUse>,
    caller_ip: Option<IpAddr>,
) -> Result<IssuedToken, ApiError> {
    let now = state.clock.now();
    let credential = &authenticated.credential;
    let client = &authenticated.client;
    let lifetime = state.settings.schemes.authtoken.token_lifetime_minutes;
    let mut grant = Grant::for_client(
        NAME,
        &client.id,
        &client.policy,
        lifetime.saturating_mul(60),
    );
    grant.subject = credential.key.clone();
    grant.scopes = ScopeRequest::Requested(authenticated.scopes.clone());
    grant.state = StateRequest::NotApplicable;
    grant.caller_ip = caller_ip;
    // Revoking a credential revokes its live AuthTokens (credentials.rs).
    grant.revocable_by_subject = true;
    let extra = &mut grant.extra_claims;
    extra.insert("credential_key".into(), credential.key.clone().into());
    extra.insert("username".into(), credential.username.clone().into());
    extra.insert("api_groups".into(), credential.api_groups.clone().into());
    Ok(state.signer.issue_consuming(&grant, now, refreshed).await?)
}

/// What a refresh needs from a verified AuthToken: its credential and lifetime.
struct AuthTokenLineage<'c> {
    credential_key: &'c str,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl<'c> AuthTokenLineage<'c> {
    /// `None` for a token that is not an AuthToken (no `credential_key` claim).
    fn of(claims: &'c Map<String, Value>) -> Option<Self> {
        let time = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_i64)
                .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        };
        Some(Self {
            credential_key: claims.get("credential_key")?.as_str()?,
            issued_at: time("iat")?,
            expires_at: time("exp")?,
        })
    }
}

/// One answer for every refused credential; the reason goes to the log only.
fn refused(err: RegistryError, message: &'static str) -> ApiError {
    match err {
        RegistryError::UnknownCredential
        | RegistryError::WrongSecret
        | RegistryError::CredentialRevoked
        | RegistryError::Suspended
        | RegistryError::UnknownClient => {
            tracing::info!(reason = %err, "credential refused");
            ApiError::InvalidCredentials(message)
        }
        other => other.into(),
    }
}

fn respond(issued: &IssuedToken) -> Response {
    no_store(Json(AuthTokenResponse {
        auth_token: issued.token.expose().to_owned(),
        expires_in: issued.expires_in(),
        expires_at: rfc3339(issued.expires_at),
    }))
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Generate and refresh.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate))
        .routes(routes!(refresh))
}
