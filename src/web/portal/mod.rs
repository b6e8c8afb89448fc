//! The developer portal at `/portal` (CONTRACT G; reference/003's screens): a client's developers
//! sign in with the client's id and secret (through the same guarded path and failure budgets as
//! the API), see the client's credentials, request API access, read the administrator's
//! decisions and generate JWT credentials. Handlers are adapters: they parse a form, call the
//! same registry functions as the `/v1` portal routes and the admin API, and render a template.

mod access;
mod api_key;
mod credentials;
pub use credentials::{last_used, when};
mod generate;
mod notifications;
mod revoke;
mod sign_in;

use axum::routing::{get, post};
use axum::Router;
use tower_sessions::Session;

use super::error::WebError;
use super::session;
use crate::registry::{Client, ClientStatus, RegistryError};
use crate::state::AppState;

/// The portal's sign-in page.
pub const SIGN_IN_PATH: &str = "/portal";
/// The portal's first page after sign-in.
pub const CREDENTIALS_PATH: &str = "/portal/credentials";
/// The access requests page.
pub const ACCESS_PATH: &str = "/portal/access";
/// The notifications page.
pub const NOTIFICATIONS_PATH: &str = "/portal/notifications";

/// The portal's pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(SIGN_IN_PATH, get(sign_in::show))
        .route("/portal/sign-in", post(sign_in::sign_in))
        .route("/portal/sign-out", post(sign_in::sign_out))
        .route(CREDENTIALS_PATH, get(credentials::show))
        .route(
            "/portal/credentials/new",
            get(generate::show).post(generate::create),
        )
        .route(ACCESS_PATH, get(access::show).post(access::send))
        .route("/portal/credentials/{key}/revoke", post(revoke::revoke))
        .route("/portal/api-keys", post(api_key::create))
        .route(NOTIFICATIONS_PATH, get(notifications::show))
        .route(
            "/portal/notifications/{id}/read",
            post(notifications::mark_read),
        )
}

/// The active client signed in to this session, with what every portal page's frame shows;
/// anything else sends the browser to sign in (a suspended or deleted client's session ends).
pub struct SignedIn {
    /// The client.
    pub client: Client,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    /// Unread notifications, shown on every page.
    pub unread: usize,
}

impl SignedIn {
    /// Requires a signed-in, active client.
    pub async fn require(state: &AppState, session: &Session) -> Result<Self, WebError> {
        let Some(client_id) = session::portal_client(session).await? else {
            return Err(WebError::SignInRequired(SIGN_IN_PATH));
        };
        let client = match state.registry.client(&client_id).await {
            Ok(client) if client.status == ClientStatus::Active => client,
            Ok(_) | Err(RegistryError::NotFound(_)) => {
                tracing::info!(client_id = %client_id, "portal session ended: client not active");
                session::sign_out(session).await?;
                return Err(WebError::SignInRequired(SIGN_IN_PATH));
            }
            Err(other) => return Err(other.into()),
        };
        crate::http::observe::note_client(client.id.as_str());
        let unread = state
            .registry
            .notifications_of(&client.id)
            .await?
            .iter()
            .filter(|n| n.read_at.is_none())
            .count();
        Ok(Self {
            client,
            csrf: session::csrf_token(session).await?,
            unread,
        })
    }
}
