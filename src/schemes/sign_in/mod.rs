//! `POST /v0/sign_in/token`: the RFC 7523 jwt-bearer grant for service accounts, compatible with
//! the VA.gov Sign-in Service (CONTRACT.md section E).
//!
//! A service account signs an assertion with the private key of a certificate registered in its
//! config; this adapter reads the grant ([`request`]), runs the numbered checks ([`validate`])
//! against the config the registry finds, claims the assertion's `jti` so it cannot be replayed,
//! and asks the signing core for the token, handing it the claim: the signing core keeps the
//! `jti` used once the token's record has committed, or releases it for a retry when no token
//! leaves (this adapter compensates for nothing itself). Every refusal is 400
//! `{"errors": "<message>"}`; only a store that does not answer is 503, in the same shape.

pub mod request;
pub mod response;
#[cfg(test)]
mod tests;
pub mod validate;

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Mode;
use crate::domain::Algorithm;
use crate::http::error::{ApiError, ErrorFormat};
use crate::http::extract::CallerIp;
use crate::http::grant_types::JWT_BEARER;
use crate::http::guard::{self, Authenticated, Refusal, Refused};
use crate::http::no_store;
use crate::http::scheme::{ErrorScope, Scheme, TokenRoute};
use crate::limits::Identifier;
use crate::registry::service_accounts::{AssertionClaim, ServiceAccount};
use crate::registry::{Client, ClientStatus, CredentialKind, RegistryError};
use crate::signing::{
    Grant, IssuedToken, PolicyError, ScopeRequest, SigningError, StateRequest, TtlRequest,
};
use crate::single_use::SingleUse;
use crate::state::AppState;
use request::{SignInTokenRequest, TokenParams};
pub use response::{
    SignInError, SignInErrorBody, SignInFormat, SignInTokenData, SignInTokenResponse,
    TOO_MANY_FAILURES,
};
use validate::{Accepted, Rejection};

/// This route's path; its public URL is the audience assertions must name.
pub const TOKEN_PATH: &str = "/v0/sign_in/token";
/// The scheme's name: in the issuance record, and the OpenAPI tag of all its routes.
pub const NAME: &str = "sign_in";

/// The scheme, as `schemes::ALL` lists it: its route is an RFC 6749 token endpoint for the
/// jwt-bearer grant.
pub const SCHEME: Scheme = Scheme {
    name: NAME,
    routes: &[TokenRoute::new(TOKEN_PATH, &["POST"], JWT_BEARER)],
    grant_types: &[JWT_BEARER],
    sandbox_only: false,
    description: "POST /v0/sign_in/token: a service-account access token \
        for a signed JWT assertion (RFC 7523 jwt-bearer grant)",
    router,
    // The numbered checks decide every refusal (CONTRACT.md E): a NUL fails check 1 or 3 (it is
    // in no grant type and no base64url), and the account id is checked before any lookup.
    error_formats: &[ErrorScope::refusing_nul_itself(
        TOKEN_PATH,
        SignInFormat::render,
    )],
};

/// Issues a service-account access token for a signed JWT assertion (RFC 7523 jwt-bearer).
///
/// `grant_type` and `assertion` may come in the query string (as the Sign-in Service documents),
/// a form body or a JSON body; the query string wins on a clash. The assertion is an RS256 JWT
/// signed with the key of a certificate registered for the service account.
#[utoipa::path(post, path = "/v0/sign_in/token", tag = NAME,
    params(SignInTokenRequest),
    request_body(description = "The same parameters in a form or JSON body",
        content((ref("#/components/schemas/SignInTokenRequest") = "application/x-www-form-urlencoded"),
            (ref("#/components/schemas/SignInTokenRequest") = "application/json"))),
    responses(
        (status = 200, description = "The access token (`Cache-Control: no-store`)",
            body = SignInTokenResponse),
        (status = 400, description = "The grant was refused; the first failing check decides",
            body = SignInErrorBody, examples(
                ("grant_type" = (value = json!({"errors": "Grant type is not valid"}))),
                ("blank" = (value = json!({"errors": "Assertion can't be blank"}))),
                ("malformed" = (value = json!({"errors": "Assertion is malformed"}))),
                ("unknown" = (value = json!({"errors": "Service account config not found"}))),
                ("signature" = (value = json!(
                    {"errors": "Assertion body does not match signature"}))),
                ("expired" = (value = json!({"errors": "Assertion has expired"}))),
                ("audience" = (value = json!({"errors": "Invalid audience. Expected \
                    [\"http://127.0.0.1:8080/v0/sign_in/token\"], received <none>"}))),
                ("missing" = (value = json!({"errors": "Missing required claim sub"}))),
                ("scopes" = (value = json!({"errors": "Invalid scopes"}))),
                ("replay" = (value = json!({"errors": "Assertion has already been used"}))))),
        (status = 429, description = "Too many unknown-config or bad-signature assertions for this \
            service account or from this address; retry after `Retry-After` seconds",
            body = SignInErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"errors": TOO_MANY_FAILURES})),
        (status = 503, description = "The store did not answer; retry after `Retry-After`",
            body = SignInErrorBody)))]
#[tracing::instrument(skip_all, fields(service_account_id = tracing::field::Empty))]
pub async fn issue_token(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, SignInError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = TokenParams::read(uri.query(), content_type, &body.unwrap_or_default());
    let now = state.clock.now();
    let max_bytes = state.settings.schemes.sign_in.max_assertion_bytes;
    let assertion = validate::grant(&params, max_bytes).map_err(refuse)?;
    let account_id = validate::account_id(&assertion).map_err(refuse)?;
    let identifier = Identifier::ServiceAccount(account_id);
    let attempt = verify(&state, &assertion, account_id, now);
    let Verified {
        account,
        client,
        accepted,
    } = guard::authenticate(&state, identifier, caller_ip, attempt)
        .await
        .map_err(|refusal| match refusal {
            Refused::Limited(limited) => SignInError::from(ApiError::from(limited)),
            Refused::Credential(AssertionFailure::Rejected(rejection)) => refuse(rejection),
            Refused::Credential(AssertionFailure::Store(err)) => err.into(),
        })?;
    let issued = issue(&state, &account, &client, accepted, caller_ip, now).await?;
    let body = SignInTokenResponse {
        data: SignInTokenData {
            access_token: issued.token.expose().to_owned(),
        },
    };
    Ok(no_store(Json(body)))
}

/// Logs why a grant was refused (never the assertion) and turns it into this route's error.
fn refuse(rejection: Rejection) -> SignInError {
    tracing::info!(reason = %rejection, "service-account assertion refused");
    crate::http::observe::note_refusal(rejection.reason());
    rejection.into()
}

/// An assertion that verified: the config it names, the config's client and what it asserts.
struct Verified {
    account: ServiceAccount,
    client: Client,
    accepted: Accepted,
}

impl Authenticated for Verified {
    fn client_id(&self) -> Option<&str> {
        Some(self.client.id.as_str())
    }

    fn credential(&self) -> Option<(CredentialKind, &str)> {
        Some((CredentialKind::ServiceAccount, &self.account.id))
    }
}

/// Why an assertion did not verify: a refused check, or a store that failed.
enum AssertionFailure {
    Rejected(Rejection),
    Store(RegistryError),
}

impl Refusal for AssertionFailure {
    /// An unknown config or a bad signature is a failed authentication of that id and address;
    /// the other refusals concern a caller who holds the key, and a store failure is no guess.
    fn is_guess(&self) -> bool {
        matches!(
            self,
            Self::Rejected(Rejection::ConfigNotFound | Rejection::BadSignature)
        )
    }
}

/// Check 4, second half, and checks 5 to 13: the config the assertion names, with its client,
/// then the assertion's signature and claims against that config and this route's audience.
async fn verify(
    state: &AppState,
    assertion: &validate::Assertion,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Verified, AssertionFailure> {
    if crate::registry::service_accounts::is_valid_id(id) {
        tracing::Span::current().record("service_account_id", id);
    }
    let (account, client) = match state.registry.service_account_with_client(id, now).await {
        Ok(found) => found,
        Err(RegistryError::NotFound(_)) => {
            return Err(AssertionFailure::Rejected(Rejection::ConfigNotFound))
        }
        Err(other) => return Err(AssertionFailure::Store(other)),
    };
    // The log line names the config's client even when its assertion is refused below.
    crate::http::observe::note_client(client.id.as_str());
    let audience = state.settings.public_url_for(TOKEN_PATH);
    let accepted =
        validate::check(assertion, &account, now, &audience).map_err(AssertionFailure::Rejected)?;
    // Checked last, so the numbered checks decide first; a suspended client's assertion is no
    // use of its service account (`last_used_at`), as a suspended client's secret is none.
    if client.status != ClientStatus::Active {
        return Err(AssertionFailure::Rejected(Rejection::Disabled));
    }
    Ok(Verified {
        account,
        client,
        accepted,
    })
}

/// Check 14 and issuance: the `jti` is claimed first, so of two racing requests only one gets
/// a token; the signing core consumes the claim, releasing it for a retry if no token leaves.
async fn issue(
    state: &AppState,
    account: &ServiceAccount,
    client: &Client,
    accepted: Accepted,
    caller_ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, SignInError> {
    let claimed = match accepted.jti.as_deref() {
        Some(jti) => match state
            .registry
            .claim_assertion_use(&account.id, jti, accepted.expires_at, now)
            .await?
        {
            AssertionClaim::Claimed(claimed) => Some(claimed),
            AssertionClaim::Replayed => return Err(refuse(Rejection::Replayed)),
        },
        None => None,
    };
    let grant = grant_for(account, client, &accepted, caller_ip);
    let single_use = claimed.as_ref().map(|claimed| claimed as &dyn SingleUse);
    let failure = match state.signer.issue_consuming(&grant, now, single_use).await {
        Ok(issued) => return Ok(issued),
        Err(failure) => failure,
    };
    Err(match failure {
        SigningError::Policy(PolicyError::ScopeNotAllowed(_) | PolicyError::ScopeMalformed(_)) => {
            refuse(Rejection::InvalidScopes)
        }
        SigningError::Policy(_) => refuse(Rejection::ClientPolicy),
        other => other.into(),
    })
}

/// The grant of an accepted assertion: the config's audience and exact lifetime, the asserted
/// subject and scopes, and the Sign-in Service's own claims. Service-account tokens are signed
/// RS256, as the Sign-in Service's are (CONTRACT.md: "RS256 (service accounts' default)").
fn grant_for(
    account: &ServiceAccount,
    client: &Client,
    accepted: &Accepted,
    caller_ip: Option<IpAddr>,
) -> Grant {
    let mut policy = client.policy.clone();
    policy.algorithm = Algorithm::RS256;
    let mut extra_claims = Map::new();
    extra_claims.insert("version".into(), json!("V0"));
    extra_claims.insert("scopes".into(), json!(accepted.scopes));
    extra_claims.insert("service_account_id".into(), json!(account.id));
    extra_claims.insert(
        "user_attributes".into(),
        Value::Object(accepted.user_attributes.clone()),
    );
    Grant {
        scheme: NAME,
        client_id: client.id.clone(),
        policy,
        subject: accepted.subject.clone(),
        audience: Some(vec![account.access_token_audience.clone()]),
        scopes: ScopeRequest::Requested(accepted.scopes.clone()),
        state: StateRequest::NotApplicable,
        ttl: TtlRequest::Exactly(account.access_token_duration_seconds),
        extra_claims,
        caller_ip,
        declared_ip: None,
        revocable_by_subject: false,
        provenance: None,
    }
}

/// This scheme's routes.
pub fn router(_mode: Mode) -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new().routes(routes!(issue_token));
    // The body is optional (the query string may carry the grant instead). Declared by reference,
    // it stays optional without becoming `oneOf: [null, ..]`, which Swagger UI's "Try it out"
    // shows as a `null` text box instead of form fields; so its schema is registered here.
    let components = router
        .get_openapi_mut()
        .components
        .get_or_insert_with(Default::default);
    components.schemas.insert(
        SignInTokenRequest::name().into_owned(),
        SignInTokenRequest::schema(),
    );
    router
}
