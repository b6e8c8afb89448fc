//! A sandbox API key from the portal (sandbox mode only, as `POST /test-api-keys`): created by the
//! same registry function with the same expiry rule, and shown once in the page that created it,
//! with a copy button, until the developer confirms "I have copied the key".

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::ExposeSecret;
use tower_sessions::Session;

use super::credentials::when;
use super::SignedIn;
use crate::audit::Actor;
use crate::config::Mode;
use crate::registry::api_keys::{test_key_expiry, Environment};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;
use crate::web::page::{render_with_status, Frame};

/// The new key, shown this once.
#[derive(Template)]
#[template(path = "portal/api_key.html")]
struct CreatedKeyPage {
    frame: Frame,
    signed_in: SignedIn,
    key: String,
    expires: String,
}

/// Creates a sandbox API key for the signed-in client.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(_posted): CheckedForm,
) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    if state.settings.mode != Mode::Sandbox {
        return Err(WebError::NotFound);
    }
    let now = state.clock.now();
    let ttl_minutes = state.settings.schemes.api_key.test_key_ttl_minutes;
    let expires_at = test_key_expiry(now, ttl_minutes);
    let issued = state
        .registry
        .create_api_key(
            signed_in.client.id.as_str(),
            Environment::Sandbox,
            Some(expires_at),
            &Actor::Client(signed_in.client.id.to_string()),
            now,
        )
        .await?;
    let page = CreatedKeyPage {
        frame: Frame::new(state.settings.mode),
        key: issued.key.expose_secret().to_owned(),
        expires: when(expires_at),
        signed_in,
    };
    Ok(render_with_status(StatusCode::CREATED, &page))
}
