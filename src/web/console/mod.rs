//! The administrators' console at `/console` (CONTRACT G): an administrator signs in with the
//! admin token (through the one guarded path and its failure budgets) and decides the clients'
//! access requests, manages clients, service accounts and trust policies, rotates the signing keys
//! and reads the issuance record. Handlers are adapters over the same registry functions as the
//! admin API, with the same validation and messages; the client is notified exactly as through
//! the admin API.

mod access;
mod administrators;
mod chart;
mod client_form;
mod clients;
mod credentials;
mod issuances;
mod keys;
mod service_accounts;
mod sign_in;
mod trust_policies;

use axum::routing::{get, post};
use axum::Router;
use tower_sessions::Session;

use super::error::WebError;
use super::session;
use crate::admin::auth::AdminCaller;
use crate::audit::Actor;
use crate::http::scheme::Scheme;
use crate::registry::RegistryError;
use crate::state::AppState;

/// The console's sign-in page.
pub const SIGN_IN_PATH: &str = "/console";
/// The console's first page after sign-in.
pub const ACCESS_REQUESTS_PATH: &str = "/console/access-requests";
/// The signing keys page.
pub const KEYS_PATH: &str = "/console/keys";
/// The service accounts page.
pub const SERVICE_ACCOUNTS_PATH: &str = "/console/service-accounts";
/// The trust policies page.
pub const TRUST_POLICIES_PATH: &str = "/console/trust-policies";

/// The console's pages; `schemes` names the schemes the issuance filters offer.
pub fn router(schemes: &'static [Scheme]) -> Router<AppState> {
    Router::new()
        .route(
            "/console/issuances",
            get(move |state, session, query| issuances::show(state, session, query, schemes)),
        )
        .route(SIGN_IN_PATH, get(sign_in::show))
        .route("/console/sign-in", post(sign_in::sign_in))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route(ACCESS_REQUESTS_PATH, get(access::show))
        .route(
            "/console/access-requests/{id}/decision",
            post(access::decide),
        )
        .route("/console/clients", get(clients::list))
        .route(
            "/console/clients/new",
            get(clients::new).post(clients::create),
        )
        .route(
            "/console/clients/{id}",
            get(clients::show).post(clients::update),
        )
        .route("/console/clients/{id}/status", post(clients::set_status))
        .route(
            "/console/clients/{id}/secrets",
            post(credentials::add_secret),
        )
        .route(
            "/console/clients/{id}/api-keys",
            post(credentials::add_api_key),
        )
        .route(
            SERVICE_ACCOUNTS_PATH,
            get(service_accounts::show).post(service_accounts::create),
        )
        .route(
            "/console/service-accounts/{id}/certificates",
            post(service_accounts::add_certificate),
        )
        .route(
            TRUST_POLICIES_PATH,
            get(trust_policies::show).post(trust_policies::create),
        )
        .route(
            "/console/trust-policies/{id}/delete",
            post(trust_policies::delete),
        )
        .route(
            administrators::ADMINISTRATORS_PATH,
            get(administrators::show).post(administrators::create),
        )
        .route(
            "/console/administrators/{id}/delete",
            post(administrators::delete),
        )
        .route(administrators::AUDIT_PATH, get(administrators::audit))
        .route(KEYS_PATH, get(keys::show))
        .route("/console/keys/rotate", post(keys::rotate))
        .route("/console/keys/{kid}/revoke", post(keys::revoke))
}

/// An administrator signed in to this session, with the session's CSRF token for the forms.
pub struct Administrator {
    /// The session's CSRF token.
    pub csrf: String,
    /// Who signed in: the actor of its changes, and its role.
    pub caller: AdminCaller,
}

impl Administrator {
    /// Requires an administrator's session whose administrator still exists (a deleted one's
    /// sessions end at once, on every instance); anything else goes to the console's sign-in.
    pub async fn require(state: &AppState, session: &Session) -> Result<Self, WebError> {
        let Some(signed_in) = session::console_admin(session).await? else {
            return Err(WebError::SignInRequired(SIGN_IN_PATH));
        };
        let caller = match signed_in.as_deref() {
            None => AdminCaller::bootstrap(),
            Some(id) => match state.registry.administrator(id).await {
                Ok(administrator) => AdminCaller {
                    actor: administrator.actor(),
                    role: administrator.role,
                    id: Some(administrator.id),
                },
                Err(RegistryError::NotFound(_)) => {
                    session::sign_out(session).await?;
                    return Err(WebError::SignInRequired(SIGN_IN_PATH));
                }
                Err(other) => return Err(other.into()),
            },
        };
        Ok(Self {
            csrf: session::csrf_token(session).await?,
            caller,
        })
    }

    /// Who is signed in, for the page header: the name and, for a viewer, its role.
    pub fn who(&self) -> String {
        match self.caller.role {
            crate::registry::administrators::Role::Admin => self.caller.actor.name(),
            crate::registry::administrators::Role::Viewer => {
                format!("{} (viewer)", self.caller.actor.name())
            }
        }
    }

    /// The actor to record a change under; a viewer may change nothing (403).
    pub fn changer(&self) -> Result<&Actor, WebError> {
        if self.caller.may_change() {
            Ok(&self.caller.actor)
        } else {
            Err(WebError::Forbidden)
        }
    }
}
