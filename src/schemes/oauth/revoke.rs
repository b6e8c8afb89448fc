//! `POST /oauth/revoke` (RFC 7009): an authenticated client revokes one of its tokens.
//!
//! Every token here is an access token, so `token_type_hint` is accepted and ignored (§2.1: the
//! server "MAY ignore this parameter") and `unsupported_token_type` never arises. An invalid,
//! unknown, expired or already revoked token is answered 200 like a revoked one (§2.2).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::client_auth::{self, TokenForm};
use super::{OAuthError, OAuthErrorBody};
use crate::http::error::ApiError;
use crate::http::extract::CallerIp;
use crate::http::openapi;
use crate::signing::TokenError;
use crate::state::AppState;

/// Revokes a token issued to the calling client.
///
/// Client authentication as for introspection (`client_secret_basic`, `client_secret_post` or
/// `private_key_jwt`).
/// 200 with an empty body once the token is revoked, and also for a token that is invalid,
/// unknown, expired or already revoked (RFC 7009 §2.2). A valid token of another client is
/// refused with 400 `unauthorized_client` and stays active (§2.1). Afterwards every protected
/// endpoint refuses the token, introspection reports it inactive and an AuthToken can no longer
/// be refreshed.
#[utoipa::path(post, path = "/oauth/revoke", tag = openapi::OAUTH.name,
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_secret_basic" = []), ()),
    responses(
        (status = 200, description = "Revoked, or not a valid token (empty body)"),
        (status = 400, description = "No `token`, a repeated parameter or another media type \
            (`invalid_request`), or a token of another client (`unauthorized_client`)",
            body = OAuthErrorBody, example = json!({"error": "unauthorized_client",
                "error_description": "the token was not issued to this client"})),
        (status = 401, description = "Client authentication failed (`WWW-Authenticate: Basic`)",
            body = OAuthErrorBody, example = json!({"error": "invalid_client",
                "error_description": "client authentication failed"})),
        (status = 429, description = "Too many failed authentications of this client or from this \
            address; retry after Retry-After seconds", body = OAuthErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Temporarily unavailable: the token may still be valid, \
            retry after Retry-After seconds", body = OAuthErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = tracing::field::Empty))]
pub async fn revoke(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, OAuthError> {
    let body = body.map_err(|_| ApiError::PayloadTooLarge)?;
    let audiences = client_auth::audiences(&state, super::token::PATH, super::REVOKE_PATH);
    let (form, caller) =
        client_auth::authenticated(&state, &headers, &body, &audiences, caller_ip).await?;
    let token = form.require("token")?;
    let now = state.clock.now();
    // An expired AuthToken can still be refreshed within the refresh window, so it is still
    // worth revoking: accept expiry up to that window (other schemes' expired tokens are dead
    // anyway, and revoking them changes nothing).
    let grace_seconds = state
        .settings
        .schemes
        .authtoken
        .refresh_window_hours
        .saturating_mul(3600);
    let claims = match state
        .signer
        .verify_active_allowing_expiry(token, now, grace_seconds)
        .await
    {
        Ok(claims) => claims,
        Err(TokenError::Unavailable) => return Err(ApiError::Unavailable.into()),
        Err(reason) => {
            tracing::info!(reason = %reason, "nothing to revoke");
            return Ok(StatusCode::OK);
        }
    };
    // RFC 7009 §2.1: the server "verifies whether the token was issued to the client making the
    // revocation request. If this validation fails, the request is refused and the client is
    // informed of the error". So a foreign token is refused (the closest RFC 6749 §5.2 code is
    // `unauthorized_client`) rather than silently accepted, and it stays active: one client must
    // not be able to cut off another's tokens. The caller holds the token, so the answer tells
    // it nothing `/v1/me` would not.
    if claims.get("client_id").and_then(Value::as_str) != Some(caller.id.as_str()) {
        tracing::info!("revocation of another client's token refused");
        return Err(ApiError::Forbidden {
            code: "unauthorized_client",
            message: "the token was not issued to this client".into(),
        }
        .into());
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("verified token without jti")))?;
    state.signer.revoke(&[jti.to_owned()], now).await?;
    tracing::info!(jti = %jti, "token revoked by its client");
    Ok(StatusCode::OK)
}
