//! JWT credentials and the AuthToken generator (CONTRACT.md section D; reference/003).
//!
//! The portal process as an API: a client (HTTP Basic with its client credentials) requests
//! access to API groups, is notified of the administrator's decision, then creates JWT
//! credentials (`key` + `secret`) for approved groups. `generate(key, secret)` and
//! `refresh(oldAuthToken)` turn those into AuthTokens from the signing core, and a
//! dependency-free JavaScript module doing both is served at `/sdk/authtokengenerator.js`.
//!
//! Thin like every scheme: the registry owns credentials, decisions and the refresh-once lineage;
//! the signing core owns policy, tokens and revocation. Parts: `portal.rs` and `credentials.rs`
//! (the `/v1` client routes), `tokens.rs` (generate and refresh), `sdk.rs` (the module),
//! `basic.rs` (the client's HTTP Basic authentication), `request.rs` (body parsing), `views.rs`
//! (wire bodies shared with the admin API and the CLI).

pub(crate) mod basic;
mod credentials;
mod portal;
pub(crate) mod request;
mod sdk;
mod tokens;

use axum::response::Response;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Mode;
use crate::http::error::{render_default, ApiError, ErrorFormat, INVALID_CREDENTIALS};
use crate::http::scheme::{ErrorScope, Scheme, TokenRoute};
use crate::state::AppState;

pub use basic::PortalErrors;
pub use credentials::revoke as revoke_credential;
pub use sdk::module_source;

/// The scheme's name: in the issuance record, and the OpenAPI tag of all its routes.
pub const NAME: &str = "authtoken";

/// The scheme, as `schemes::ALL` lists it.
pub const SCHEME: Scheme = Scheme {
    name: NAME,
    routes: &[
        TokenRoute::new("/auth/authtoken", &["POST"], "jwt_credential"),
        TokenRoute::new("/auth/authtoken/refresh", &["POST"], "authtoken_refresh"),
    ],
    grant_types: &[],
    sandbox_only: false,
    description: "JWT credentials to AuthTokens: POST /auth/authtoken (generate), POST \
        /auth/authtoken/refresh (refresh, once per token, also after expiry within a window) and \
        the JavaScript generator module; and the client portal's routes for those credentials \
        (HTTP Basic `client_id:client_secret`): access requests to API groups, notifications of \
        decisions, the credentials themselves",
    router,
    error_formats: &[
        ErrorScope::new("/auth/authtoken", AuthTokenErrors::render),
        ErrorScope::new("/v1/access-requests", PortalErrors::render),
        ErrorScope::new("/v1/notifications", PortalErrors::render),
        ErrorScope::new("/v1/credentials", PortalErrors::render),
        ErrorScope::new("/sdk/", render_default),
    ],
};

/// The error format of `generate` and `refresh`: `{"error", "message"}`; every refusal of a
/// credential or token is 401 `invalid_credentials`, a database outage 503 with `Retry-After`.
pub struct AuthTokenErrors;

impl ErrorFormat for AuthTokenErrors {
    fn render(error: ApiError) -> Response {
        let error = match error {
            ApiError::InvalidClient | ApiError::ClientSuspended | ApiError::InvalidToken => {
                ApiError::InvalidCredentials(INVALID_CREDENTIALS)
            }
            other => other,
        };
        error.respond_with(error.status(), Json(error.body()))
    }
}

/// This scheme's routes: the portal, generate and refresh, and the JavaScript module.
pub fn router(_mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(portal::router())
        .merge(credentials::router())
        .merge(tokens::router())
        .merge(sdk::router())
}
