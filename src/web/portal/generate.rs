//! **Generate credentials**: a username, notes and the client's approved API groups, through the
//! same registry function as `POST /v1/credentials`. The key and secret are rendered once, into
//! the page that created them (never a URL or a redirect), each with a copy button, until the
//! developer confirms "I have copied the key and secret".

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::ExposeSecret;
use tower_sessions::Session;

use super::SignedIn;
use crate::registry::NewJwtCredential;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{CheckedForm, FieldErrors};
use crate::web::page::{render_with_status, Frame};

/// The form, as given, with its errors.
#[derive(Template)]
#[template(path = "portal/generate.html")]
struct GeneratePage {
    frame: Frame,
    signed_in: SignedIn,
    username: String,
    notes: String,
    groups: Vec<(String, bool)>,
    errors: FieldErrors,
}

/// The new credential, shown this once.
#[derive(Template)]
#[template(path = "portal/generated.html")]
struct GeneratedPage {
    frame: Frame,
    signed_in: SignedIn,
    username: String,
    key: String,
    secret: String,
}

async fn form(
    state: &AppState,
    signed_in: SignedIn,
    username: String,
    notes: String,
    checked: &[String],
    errors: FieldErrors,
) -> Result<GeneratePage, WebError> {
    let groups = state
        .registry
        .approved_api_groups(&signed_in.client.id)
        .await?
        .into_iter()
        .map(|name| {
            let on = checked.contains(&name);
            (name, on)
        })
        .collect();
    Ok(GeneratePage {
        frame: Frame::new(state.settings.mode),
        signed_in,
        username,
        notes,
        groups,
        errors,
    })
}

/// Shows the form.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    let page = form(
        &state,
        signed_in,
        String::new(),
        String::new(),
        &[],
        FieldErrors::default(),
    )
    .await?;
    Ok(render_with_status(StatusCode::OK, &page))
}

/// Creates the credential and shows its key and secret once, or the form again with messages.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    let username = posted.text("username");
    let notes = posted.text("notes");
    let groups = posted.all("api_groups");
    let mut errors = FieldErrors::default();
    if username.is_empty() {
        errors.add("username", "Enter a username.");
    }
    if groups.is_empty() {
        errors.add("api_groups", "Choose at least one approved API group.");
    }
    if errors.is_empty() {
        let new = NewJwtCredential {
            username: username.clone(),
            notes: notes.clone(),
            api_groups: groups.clone(),
        };
        let created = state
            .registry
            .create_jwt_credential(&signed_in.client.id, new, state.clock.now())
            .await;
        match created {
            Ok(issued) => {
                let page = GeneratedPage {
                    frame: Frame::new(state.settings.mode),
                    username: issued.credential.username.clone(),
                    key: issued.credential.key.clone(),
                    secret: issued.secret.expose_secret().to_owned(),
                    signed_in,
                };
                return Ok(render_with_status(StatusCode::CREATED, &page));
            }
            Err(err) => errors = FieldErrors::from_refusal(err)?,
        }
    }
    let page = form(&state, signed_in, username, notes, &groups, errors).await?;
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}
