//! `POST /oauth/introspect` (RFC 7662): an authenticated client learns whether a token is active
//! and, if it may see it, its claims.
//!
//! A client sees its own tokens (the `client_id` claim); a client holding the configured
//! introspection scope (`[schemes.oauth] introspection_scope`, `tokenmint:introspect` by default)
//! among its allowed scopes sees every client's, as a resource server would. Every other case is
//! `{"active": false}` and nothing else (§2.2), so nothing is learnt about foreign tokens.
//! "Active" is what every protected endpoint decides (`Signer::verify_active`, including its
//! leeway and the revocation check), so introspection and `/v1/me` never disagree.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::client_auth::{self, TokenForm};
use super::{OAuthError, OAuthErrorBody};
use crate::http::error::ApiError;
use crate::http::extract::CallerIp;
use crate::http::no_store;
use crate::http::openapi;
use crate::registry::Client;
use crate::signing::TokenError;
use crate::state::AppState;

/// `aud`: one audience, or several.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

/// The introspection response (RFC 7662 §2.2); an inactive token has `active` only.
#[derive(Serialize, ToSchema, Default)]
pub struct Introspection {
    /// Whether the token is currently active (issued here, unexpired, unrevoked).
    #[schema(example = true)]
    active: bool,
    /// Scopes, space separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "programs:read schools:read")]
    scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// The JWT credential's user name (AuthTokens only).
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// `Bearer`, or `DPoP` for a token bound to a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    token_type: Option<&'static str>,
    /// The key a DPoP-bound token is bound to: `{"jkt": "<RFC 7638 thumbprint>"}` (RFC 9449 §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}))]
    cnf: Option<Value>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Issue time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// Not-before time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

impl Introspection {
    /// The answer for a token that is not active, or that the caller may not see.
    fn inactive() -> Self {
        Self::default()
    }

    /// The answer for an active token: the RFC 7662 members its claims carry.
    fn active(claims: &Map<String, Value>) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let seconds = |name: &str| claims.get(name).and_then(Value::as_i64);
        let aud = match claims.get("aud") {
            Some(Value::String(one)) => Some(Audience::One(one.clone())),
            Some(Value::Array(many)) => Some(Audience::Many(
                many.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            )),
            _ => None,
        };
        Self {
            active: true,
            scope: text("scope"),
            client_id: text("client_id"),
            username: text("username"),
            token_type: Some(if claims.contains_key("cnf") {
                "DPoP"
            } else {
                "Bearer"
            }),
            cnf: claims.get("cnf").cloned(),
            exp: seconds("exp"),
            iat: seconds("iat"),
            nbf: seconds("nbf"),
            sub: text("sub"),
            aud,
            iss: text("iss"),
            jti: text("jti"),
        }
    }
}

/// Whether `caller` may learn about a token with these claims: its own, or any with the right.
fn may_see(caller: &Client, claims: &Map<String, Value>, introspection_scope: &str) -> bool {
    let own = claims.get("client_id").and_then(Value::as_str) == Some(caller.id.as_str());
    let right = !introspection_scope.is_empty()
        && caller
            .policy
            .allowed_scopes
            .iter()
            .any(|scope| scope == introspection_scope);
    own || right
}

/// Tells an authenticated client whether a token is active, and its claims if it may see them.
///
/// The caller authenticates with HTTP Basic (`client_secret_basic`: id and secret form-urlencoded,
/// then base64), with `client_id` and `client_secret` in the form (`client_secret_post`) or with
/// a signed `client_assertion` (`private_key_jwt`), one of them. It sees its own tokens; a client with the `tokenmint:introspect` scope (configurable:
/// `[schemes.oauth] introspection_scope`) among its allowed scopes sees every client's. Unknown,
/// malformed, expired, revoked and other clients' tokens are `{"active": false}`.
#[utoipa::path(post, path = "/oauth/introspect", tag = openapi::OAUTH.name,
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_secret_basic" = []), ()),
    responses(
        (status = 200, description = "The token's state (`Cache-Control: no-store`)",
            body = Introspection, example = json!({"active": true,
                "scope": "programs:read", "client_id": "demo", "token_type": "Bearer",
                "exp": 1_795_000_000, "iat": 1_794_996_400, "nbf": 1_794_996_400, "sub": "demo",
                "aud": "http://127.0.0.1:8080", "iss": "http://127.0.0.1:8080",
                "jti": "0b8f1a52-6f36-4a53-9b0e-5f0e0c3c1f11"})),
        (status = 400, description = "No `token`, a repeated parameter or another media type",
            body = OAuthErrorBody, example = json!({"error": "invalid_request",
                "error_description": "the token parameter is required"})),
        (status = 401, description = "Client authentication failed (`WWW-Authenticate: Basic`)",
            body = OAuthErrorBody, example = json!({"error": "invalid_client",
                "error_description": "client authentication failed"})),
        (status = 429, description = "Too many failed authentications of this client or from this \
            address; retry after Retry-After seconds", body = OAuthErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds",
            body = OAuthErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = tracing::field::Empty))]
pub async fn introspect(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let body = body.map_err(|_| ApiError::PayloadTooLarge)?;
    let audiences = client_auth::audiences(&state, super::token::PATH, super::INTROSPECT_PATH);
    let (form, caller) =
        client_auth::authenticated(&state, &headers, &body, &audiences, caller_ip).await?;
    let token = form.require("token")?;
    let scope = &state.settings.schemes.oauth.introspection_scope;
    let answer = match crate::http::active::active_claims(&state, token).await {
        Ok(claims) if may_see(&caller, &claims, scope) => Introspection::active(&claims),
        Ok(_) => {
            tracing::info!("token of another client introspected without the right");
            Introspection::inactive()
        }
        Err(TokenError::Unavailable) => return Err(ApiError::Unavailable.into()),
        Err(reason) => {
            tracing::info!(reason = %reason, "introspected token is not active");
            Introspection::inactive()
        }
    };
    Ok(no_store(Json(answer)))
}
