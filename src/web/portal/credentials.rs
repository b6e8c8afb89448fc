//! The **API credentials** page: the client's JWT credentials (username, API groups, created,
//! last used; never a secret), its API keys (prefix, environment, expiry, last used; never the
//! key) and its registered phones, read through the same registry functions as the `/v1` and admin routes.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use tower_sessions::Session;

use super::SignedIn;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::page::{render, Frame};

/// The page.
#[derive(Template)]
#[template(path = "portal/credentials.html")]
struct CredentialsPage {
    frame: Frame,
    sandbox: bool,
    signed_in: SignedIn,
    credentials: Vec<CredentialRow>,
    api_keys: Vec<ApiKeyRow>,
}

/// One JWT credential, as listed.
struct CredentialRow {
    username: String,
    key: String,
    api_groups: String,
    created: String,
    last_used: String,
    revoked: bool,
}

/// One API key, as listed.
struct ApiKeyRow {
    prefix: &'static str,
    id: String,
    environment: &'static str,
    expires: String,
    last_used: String,
    revoked: bool,
}

/// A time as the pages show it (UTC, to the minute).
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// When a credential was last used, as the pages show it (written a few seconds late).
pub fn last_used(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), when)
}

/// Shows the client's credentials.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    let client = &signed_in.client;
    let credentials = state
        .registry
        .jwt_credentials_of(&client.id)
        .await?
        .into_iter()
        .map(|c| CredentialRow {
            username: c.username,
            key: c.key,
            api_groups: c.api_groups.join(", "),
            created: when(c.created_at),
            last_used: last_used(c.last_used_at),
            revoked: c.revoked_at.is_some(),
        })
        .collect();
    let api_keys = state
        .registry
        .api_keys(client.id.as_str())
        .await?
        .into_iter()
        .map(|k| ApiKeyRow {
            prefix: k.environment.key_prefix(),
            id: k.api_key_id,
            environment: k.environment.as_str(),
            expires: k.expires_at.map_or_else(|| "never".to_owned(), when),
            last_used: last_used(k.last_used_at),
            revoked: k.revoked_at.is_some(),
        })
        .collect();
    Ok(render(&CredentialsPage {
        frame: Frame::new(state.settings.mode),
        sandbox: state.settings.mode == crate::config::Mode::Sandbox,
        signed_in,
        credentials,
        api_keys,
    }))
}
