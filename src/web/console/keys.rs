//! **Signing keys**: every key with its algorithm and state (next, active, retired) and when it
//! changed, and "Rotate" (one algorithm or all), through the same signing-core functions as
//! `GET /admin/keys` and `POST /admin/keys/rotate`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use tower_sessions::Session;

use super::{Administrator, KEYS_PATH};
use crate::domain::Algorithm;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;
use crate::web::page::{render_with_status, Frame};
use crate::web::portal::when;

/// The page.
#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    frame: Frame,
    admin: Administrator,
    keys: Vec<KeyRow>,
    algorithms: Vec<&'static str>,
}

/// One key, as listed.
struct KeyRow {
    kid: String,
    algorithm: &'static str,
    status: String,
    created: String,
    activated: String,
    retired: String,
    published_until: String,
    revoked: bool,
}

fn maybe(at: Option<DateTime<Utc>>) -> String {
    at.map(when).unwrap_or_default()
}

/// Shows the keys.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let keys = state
        .signer
        .keys()
        .await?
        .into_iter()
        .map(|k| KeyRow {
            algorithm: k.algorithm.as_str(),
            created: when(k.created_at),
            activated: maybe(k.activated_at),
            retired: maybe(k.retired_at),
            published_until: maybe(k.publish_until),
            revoked: k.revoked_at.is_some(),
            status: k.status,
            kid: k.kid,
        })
        .collect();
    let page = KeysPage {
        frame: Frame::new(state.settings.mode),
        admin,
        keys,
        algorithms: Algorithm::ALL.iter().map(|a| a.as_str()).collect(),
    };
    Ok(render_with_status(StatusCode::OK, &page))
}

/// Rotates one algorithm's keys, or every algorithm's.
#[tracing::instrument(skip_all)]
pub async fn rotate(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let algorithm = match posted.text("algorithm").as_str() {
        "" | "all" => None,
        name => Some(
            Algorithm::ALL
                .into_iter()
                .find(|a| a.as_str() == name)
                .ok_or(WebError::Forbidden)?,
        ),
    };
    let rotated = state
        .signer
        .rotate_some(algorithm, admin.changer()?, state.clock.now())
        .await?;
    tracing::info!(
        rotated = rotated.len(),
        "signing keys rotated from the console"
    );
    Ok(Redirect::to(KEYS_PATH).into_response())
}

/// Revokes one key at once (it may have leaked).
#[tracing::instrument(skip_all, fields(kid = %kid))]
pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Path(kid): Path<String>,
    CheckedForm(_): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    match state
        .signer
        .revoke_key(&kid, admin.changer()?, state.clock.now())
        .await?
    {
        Some(_) => Ok(Redirect::to(KEYS_PATH).into_response()),
        None => Err(WebError::NotFound),
    }
}
