//! `POST /oauth/token` (CONTRACT.md section F): the standard OAuth 2.0 token endpoint, so that
//! stock client libraries get tokens from the same signing core with no tokenmint-specific code.
//!
//! `grant_type=client_credentials` (RFC 6749 §4.4), and token exchange (RFC 8693, [`exchange`]:
//! an outside JWT for the access token of the client a trust policy names). A client
//! authenticates with `client_secret_basic`, `client_secret_post` or `private_key_jwt`
//! (`super::client_auth`). A client-credentials token: the client's default state, one hour
//! (less if the client's maximum is lower), `sub` = `client_id` = the client, the requested
//! scopes (else its default ones). Answers and
//! errors are RFC 6749 §5.1 and §5.2; `invalid_client` carries a Basic challenge when the client
//! used Basic. A valid `DPoP` proof (RFC 9449) binds the token to the proof's key: `token_type`
//! `DPoP` and the claim `cnf.jkt`; a client registered with `require_dpop` gets no token without
//! one (`invalid_dpop_proof`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) mod exchange;

use super::client_auth::{self, ClientAuth};
use super::form::OAuthForm;
use super::{OAuthErrorBody, OAuthErrors};
use crate::config::Mode;
use crate::http::dpop::{self, ProofFailure, ProofRefusal, ProofRequest};
use crate::http::error::{ApiError, ErrorFormat};
use crate::http::extract::CallerIp;
use crate::http::no_store;
use crate::http::scheme::{ErrorScope, Scheme, TokenRoute};
use crate::signing::{Exchange, Grant, Provenance, ScopeRequest};
use crate::state::AppState;
use exchange::TOKEN_EXCHANGE;

/// The scheme's name: in the issuance record, and the OpenAPI tag of all its routes.
pub const NAME: &str = "oauth_token";
/// The route.
pub const PATH: &str = "/oauth/token";
/// RFC 6749 §4.4.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
/// The token lifetime: one hour (less if the client's maximum is lower).
pub const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// The scheme, as `schemes::ALL` lists it.
pub const SCHEME: Scheme = Scheme {
    name: NAME,
    routes: &[TokenRoute::new(PATH, &["POST"], CLIENT_CREDENTIALS)],
    grant_types: &[CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
    sandbox_only: false,
    description: "POST /oauth/token: the standard OAuth 2.0 token endpoint \
        (client_credentials) for stock client libraries, with client_secret_basic, \
        client_secret_post or private_key_jwt",
    router,
    // Introspection and revocation (`schemes::oauth`) answer in the same RFC 6749 format.
    error_formats: &[ErrorScope::new("/oauth/", OAuthErrors::render)],
};

/// The form body (`application/x-www-form-urlencoded`; each parameter at most once).
#[derive(ToSchema)]
#[allow(dead_code)] // documents the wire format; parsed field by field
pub struct TokenRequestForm {
    /// `client_credentials`, or `urn:ietf:params:oauth:grant-type:token-exchange`.
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// Token exchange: the outside JWT (a GitHub Actions or Kubernetes token, any OpenID Connect
    /// issuer's) a trust policy accepts.
    #[schema(example = "")]
    subject_token: Option<String>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:jwt` or
    /// `urn:ietf:params:oauth:token-type:id_token`.
    #[schema(example = "")]
    subject_token_type: Option<String>,
    /// Scopes asked for, separated by spaces; default: the client's default scopes.
    #[schema(example = "programs:read")]
    scope: Option<String>,
    /// `client_secret_post`: the client's id (with HTTP Basic, leave both empty).
    #[schema(example = "demo")]
    client_id: Option<String>,
    /// `client_secret_post`: the client's secret (sandbox: `CLIENT_SECRET` in `data/demo.env`).
    #[schema(example = "")]
    client_secret: Option<String>,
    /// `private_key_jwt`: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[schema(example = "")]
    client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT the client signed with a registered key (RS256, ES256 or
    /// EdDSA; `iss` = `sub` = its id, `aud` this endpoint's URL or the issuer, `exp` at most an
    /// hour away, a single-use `jti`). Parameters left empty are not sent.
    #[schema(example = "")]
    client_assertion: Option<String>,
}

// No `Debug`: it holds the access token.
/// A token (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The access token (a JWT: verify it with the JWKS).
    #[schema(example = "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...")]
    access_token: String,
    /// Token exchange only: `urn:ietf:params:oauth:token-type:access_token` (RFC 8693 §2.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'static str>,
    /// `Bearer`, or `DPoP` when a DPoP proof bound it to the proof's key (its `cnf.jkt`).
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until it expires.
    #[schema(example = 3600)]
    expires_in: i64,
    /// The scopes it carries, separated by spaces.
    #[schema(example = "programs:read")]
    scope: String,
}

/// Issues an access token: to an authenticated client (`client_credentials`), or for an outside
/// JWT a trust policy accepts (token exchange, RFC 8693; no client secret needed).
///
/// Authenticate with HTTP Basic (`client_secret_basic`: id and secret form-urlencoded, then
/// base64; Swagger UI's Authorize dialog, "basic"), with `client_id` and `client_secret` in the
/// form (`client_secret_post`), or with a signed `client_assertion` (`private_key_jwt`): one of
/// them. A token exchange needs none; a client that authenticates there is limited to its own
/// trust policies.
#[utoipa::path(post, path = "/oauth/token", tag = NAME,
    request_body(content = TokenRequestForm, content_type = "application/x-www-form-urlencoded"),
    params(("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449): binds the \
        token to the proof's key")),
    security(("client_secret_basic" = []), ()),
    responses(
        (status = 200, description = "The token (`Cache-Control: no-store`)", body = TokenResponse),
        (status = 400, description = "`invalid_request` (a missing or repeated parameter, another \
            media type), `unsupported_grant_type`, `invalid_scope`, `invalid_grant` (a subject \
            token no trust policy accepts) or `invalid_dpop_proof`",
            body = OAuthErrorBody,
            example = json!({"error": "invalid_scope",
                "error_description": "scopes not allowed for this client: admin:all"})),
        (status = 401, description = "`invalid_client`: client authentication failed (with \
            `WWW-Authenticate: Basic` when Basic was used)", body = OAuthErrorBody,
            example = json!({"error": "invalid_client",
                "error_description": "client authentication failed"})),
        (status = 413, description = "The body is too large", body = OAuthErrorBody,
            example = json!({"error": "invalid_request",
                "error_description": "the request body is too large"})),
        (status = 429, description = "Too many failed authentications of this client or from this \
            address; retry after Retry-After seconds", body = OAuthErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"error": "temporarily_unavailable",
                "error_description": "too many failed authentication attempts; retry after the \
                    number of seconds in Retry-After"})),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds",
            body = OAuthErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"error": "temporarily_unavailable",
                "error_description": "the service is temporarily unavailable, retry later"}))))]
#[tracing::instrument(skip_all, fields(client_id = tracing::field::Empty))]
pub async fn token(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut used_basic = false;
    match issue(&state, caller_ip, &headers, body, &mut used_basic).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = super::render(error);
            if used_basic && response.status() == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, super::basic_challenge());
            }
            response
        }
    }
}

/// Reads the request, authenticates the client and issues its token.
async fn issue(
    state: &AppState,
    caller_ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    used_basic: &mut bool,
) -> Result<Response, ApiError> {
    let body = body.map_err(|_| ApiError::PayloadTooLarge)?;
    let form = OAuthForm::parse(headers, &body)?;
    let auth = ClientAuth::read(headers, &form)?;
    *used_basic = auth.used_basic();
    let grant_type = form.require("grant_type")?;
    if grant_type != CLIENT_CREDENTIALS && grant_type != TOKEN_EXCHANGE {
        return Err(ApiError::Forbidden {
            code: "unsupported_grant_type",
            message: format!("grant_type {grant_type:?} is not supported here"),
        });
    }
    let audiences = client_auth::audiences(state, PATH, PATH);
    let now = state.clock.now();
    let (mut grant, client, exchanged) = if grant_type == CLIENT_CREDENTIALS {
        let client = auth.authenticate(state, &audiences, caller_ip).await?;
        let mut grant = Grant::for_client(NAME, &client.id, &client.policy, TOKEN_LIFETIME_SECONDS);
        grant.scopes = requested_scopes(&form);
        (grant, client, false)
    } else {
        // The client is optional here: a trust policy names it; one that authenticates limits
        // the exchange to its own policies.
        let authenticated = match auth.is_present() {
            true => Some(auth.authenticate(state, &audiences, caller_ip).await?),
            false => None,
        };
        let exchanged = exchange::verify(state, &form, authenticated.as_deref(), now).await?;
        let grant = exchanged_grant(&form, &exchanged, now)?;
        (grant, exchanged.client, true)
    };
    let bound_to = proof_key(state, headers, client.keys.require_dpop).await?;
    grant.caller_ip = caller_ip;
    if let Some(jkt) = &bound_to {
        grant
            .extra_claims
            .insert("cnf".into(), json!({ "jkt": jkt }));
    }
    let issued = state.signer.issue(&grant, now).await?;
    let answer = TokenResponse {
        access_token: issued.token.expose().to_owned(),
        issued_token_type: exchanged.then_some(exchange::ACCESS_TOKEN_TYPE),
        token_type: if bound_to.is_some() { "DPoP" } else { "Bearer" },
        expires_in: issued.expires_in(),
        scope: issued.scopes.join(" "),
    };
    Ok(no_store(Json(answer)).into_response())
}

/// The key a `DPoP` proof binds the token to (RFC 9449 §5), checked against this request; a
/// client that must use DPoP and sent no proof is refused. Any refusal is `invalid_dpop_proof`.
async fn proof_key(
    state: &AppState,
    headers: &HeaderMap,
    required: bool,
) -> Result<Option<String>, ApiError> {
    let request = ProofRequest {
        method: "POST",
        path: PATH,
        access_token: None,
    };
    let refused = |refusal: ProofRefusal| ApiError::Forbidden {
        code: "invalid_dpop_proof",
        message: refusal.to_string(),
    };
    match dpop::check(state, headers, &request).await {
        Ok(None) if required => Err(refused(ProofRefusal::Missing)),
        Ok(key) => Ok(key),
        Err(ProofFailure::Refused(refusal)) => Err(refused(refusal)),
        Err(ProofFailure::Store(e)) => Err(e.into()),
    }
}

/// The grant of an exchanged token: the signing core applies the trust policy's scopes and
/// lifetime ([`Grant::exchanged`]); the record keeps where it came from.
fn exchanged_grant(
    form: &OAuthForm,
    exchanged: &exchange::Exchanged,
    now: DateTime<Utc>,
) -> Result<Grant, ApiError> {
    let policy = &exchanged.policy;
    let client = &exchanged.client;
    let limits = Exchange {
        allowed_scopes: &policy.scopes,
        max_ttl_seconds: policy.max_ttl_minutes * 60,
        outside_expires: exchanged.expires,
        provenance: Provenance {
            trust_policy_id: policy.id.clone(),
            issuer: exchanged.issuer.clone(),
            subject: exchanged.subject.clone(),
        },
    };
    let scopes = requested_scopes(form);
    let grant = Grant::exchanged(
        NAME,
        &client.id,
        &client.policy,
        &exchanged.subject,
        scopes,
        limits,
        now.timestamp(),
    )
    .map_err(crate::signing::SigningError::from)?;
    Ok(grant)
}

/// `scope`: the scopes named, separated by spaces (RFC 6749 §3.3), else the client's defaults.
fn requested_scopes(form: &OAuthForm) -> ScopeRequest {
    match form.get("scope") {
        Some(scope) => ScopeRequest::Requested(scope.split(' ').map(str::to_owned).collect()),
        None => ScopeRequest::Default,
    }
}

/// This scheme's route.
pub fn router(_mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}
