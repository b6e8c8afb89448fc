//! Signing in to the console with an administrator's token (the bootstrap one or a registered
//! administrator's), and signing out. The token is checked by the admin API's guard through the
//! one guarded path: a wrong one spends the caller address's failure budget, and the token
//! travels only in the POSTed form.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::{ACCESS_REQUESTS_PATH, SIGN_IN_PATH};
use crate::admin::auth::{self, AdminRefusal};
use crate::http::extract::CallerIp;
use crate::http::guard::Refused;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;
use crate::web::page::{render_with_status, Frame};
use crate::web::session;

/// The sign-in page, with what went wrong last time.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    frame: Frame,
    token_error: Option<&'static str>,
    problem: Option<String>,
}

/// The sign-in form as posted.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    admin_token: String,
}

/// Shows the sign-in form, or the console to a session already signed in.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    if session::console_admin(&session).await?.is_some() {
        return Ok(Redirect::to(ACCESS_REQUESTS_PATH).into_response());
    }
    let page = SignInPage {
        frame: Frame::new(state.settings.mode),
        token_error: None,
        problem: None,
    };
    Ok(render_with_status(StatusCode::OK, &page))
}

/// Signs an administrator in, or shows the form again saying why not.
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    let token = form.admin_token.trim();
    let mut page = SignInPage {
        frame: Frame::new(state.settings.mode),
        token_error: None,
        problem: None,
    };
    if token.is_empty() {
        page.token_error = Some("Enter the admin token.");
        return Ok(render_with_status(StatusCode::BAD_REQUEST, &page));
    }
    match auth::authenticate(&state, token, caller_ip).await {
        Ok(caller) => {
            session::sign_in_console(&session, caller.id.as_deref()).await?;
            tracing::info!(actor = %caller.actor.name(), "console sign-in");
            Ok(Redirect::to(ACCESS_REQUESTS_PATH).into_response())
        }
        Err(Refused::Credential(AdminRefusal::WrongToken)) => {
            tracing::info!("console sign-in refused: wrong admin token");
            page.problem = Some("The admin token is not valid.".into());
            Ok(render_with_status(StatusCode::UNAUTHORIZED, &page))
        }
        Err(Refused::Credential(AdminRefusal::Registry(err))) => Err(err.into()),
        Err(Refused::Limited(limited)) => {
            page.problem = Some(format!(
                "Too many failed sign-ins from this address. Try again in {} seconds.",
                limited.retry_after_seconds
            ));
            let mut response = render_with_status(StatusCode::TOO_MANY_REQUESTS, &page);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, limited.retry_after_seconds.into());
            Ok(response)
        }
    }
}

/// Signs out everywhere: the session is deleted for every instance.
pub async fn sign_out(session: Session, _form: CheckedForm) -> Result<Response, WebError> {
    session::sign_out(&session).await?;
    Ok(Redirect::to(SIGN_IN_PATH).into_response())
}
