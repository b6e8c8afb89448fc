//! Signing in to the portal with the client's id and secret, and signing out. A sign-in goes
//! through the one guarded authentication path, so wrong ones spend the same failure budgets as
//! the API's and a client over budget is told when to retry; the secret travels only in the
//! POSTed form, never in a URL.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::{CREDENTIALS_PATH, SIGN_IN_PATH};
use crate::http::error::ApiError;
use crate::http::extract::CallerIp;
use crate::http::guard::{self, Refused};
use crate::limits::Identifier;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;
use crate::web::page::{render_with_status, Frame};
use crate::web::session;

/// The sign-in page, with what went wrong last time.
#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignInPage {
    frame: Frame,
    client_id: String,
    client_id_error: Option<&'static str>,
    secret_error: Option<&'static str>,
    problem: Option<String>,
}

impl SignInPage {
    fn new(state: &AppState) -> Self {
        Self {
            frame: Frame::new(state.settings.mode),
            client_id: String::new(),
            client_id_error: None,
            secret_error: None,
            problem: None,
        }
    }
}

/// The sign-in form as posted (absent fields are empty, and said so beside the field).
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

/// Shows the sign-in form, or the credentials page to a session already signed in.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    if session::portal_client(&session).await?.is_some() {
        return Ok(Redirect::to(CREDENTIALS_PATH).into_response());
    }
    Ok(render_with_status(StatusCode::OK, &SignInPage::new(&state)))
}

/// Signs a client in, or shows the form again saying why not.
#[tracing::instrument(skip_all, fields(client_id = tracing::field::Empty))]
pub async fn sign_in(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    let client_id = form.client_id.trim();
    let mut page = SignInPage {
        client_id: client_id.to_owned(),
        ..SignInPage::new(&state)
    };
    if client_id.is_empty() || form.client_secret.is_empty() {
        page.client_id_error = client_id.is_empty().then_some("Enter the client ID.");
        page.secret_error = form
            .client_secret
            .is_empty()
            .then_some("Enter the client secret.");
        return Ok(render_with_status(StatusCode::BAD_REQUEST, &page));
    }
    let attempt = state
        .registry
        .authenticate(client_id, &form.client_secret, state.clock.now());
    let refusal = match guard::authenticate(
        &state,
        Identifier::Client(client_id),
        caller_ip,
        attempt,
    )
    .await
    {
        Ok(authenticated) => {
            session::sign_in_portal(&session, authenticated.client.id.as_str()).await?;
            tracing::info!("portal sign-in");
            return Ok(Redirect::to(CREDENTIALS_PATH).into_response());
        }
        Err(Refused::Limited(limited)) => ApiError::from(limited),
        Err(Refused::Credential(err)) => ApiError::from(err),
    };
    let status = match refusal {
        ApiError::InvalidClient | ApiError::ClientSuspended => {
            page.problem = Some("The client ID or client secret is not valid.".into());
            StatusCode::UNAUTHORIZED
        }
        ApiError::TooManyRequests {
            retry_after_seconds,
        } => {
            page.problem = Some(format!(
                "Too many failed sign-ins for this client or from this address. Try again in \
                 {retry_after_seconds} seconds."
            ));
            let mut response = render_with_status(StatusCode::TOO_MANY_REQUESTS, &page);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_seconds.into());
            return Ok(response);
        }
        ApiError::Unavailable => return Err(WebError::Unavailable),
        other => return Err(WebError::Internal(other.to_string())),
    };
    Ok(render_with_status(status, &page))
}

/// Signs out everywhere: the session is deleted for every instance.
pub async fn sign_out(session: Session, _form: CheckedForm) -> Result<Response, WebError> {
    session::sign_out(&session).await?;
    Ok(Redirect::to(SIGN_IN_PATH).into_response())
}
