//! A client's new credentials from the console: "Add a secret" and "Add an API key", through the
//! same registry functions as the admin API, each shown once in the page that created it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::ExposeSecret;
use tower_sessions::Session;

use super::Administrator;
use crate::registry::api_keys::Environment;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;
use crate::web::page::{render_with_status, Frame};

/// A secret or key just created, shown this once.
#[derive(Template)]
#[template(path = "console/shown_once.html")]
pub struct ShownOncePage {
    /// Shown.
    pub frame: Frame,
    /// Shown.
    pub admin: Administrator,
    /// Shown.
    pub title: &'static str,
    /// Shown.
    pub client_id: String,
    /// Shown.
    pub label: &'static str,
    /// Shown.
    pub value: String,
    /// Shown.
    pub confirm: &'static str,
}

/// Adds a secret to a client and shows it once.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn add_secret(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(_posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let secret = state
        .registry
        .add_secret(&id, None, admin.changer()?, state.clock.now())
        .await?;
    let page = ShownOncePage {
        frame: Frame::new(state.settings.mode),
        admin,
        title: "Secret added",
        client_id: id,
        label: "Client secret",
        value: secret.secret.expose_secret().to_owned(),
        confirm: "I have copied the secret",
    };
    Ok(render_with_status(StatusCode::CREATED, &page))
}

/// Adds an API key (`environment` = `sandbox` | `production`) and shows it once.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn add_api_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let environment = Environment::parse(&posted.text("environment")).ok_or(WebError::Forbidden)?;
    let key = state
        .registry
        .create_api_key(&id, environment, None, admin.changer()?, state.clock.now())
        .await?;
    let page = ShownOncePage {
        frame: Frame::new(state.settings.mode),
        admin,
        title: "API key added",
        client_id: id,
        label: "API key",
        value: key.key.expose_secret().to_owned(),
        confirm: "I have copied the key",
    };
    Ok(render_with_status(StatusCode::CREATED, &page))
}
