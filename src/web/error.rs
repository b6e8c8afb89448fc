//! What can go wrong serving a page, and how a browser is told: a sign-in that is needed is a
//! redirect to the sign-in page; a form from elsewhere (or stale) is 403; a store that does not
//! answer is 503 with `Retry-After`; a request that cannot be read is its 4xx (the app's edge
//! layer renders those as pages here, [`render`]); anything else is 500. Details go to the log, never the page.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{render_with_status, Frame};
use crate::http::error::{ApiError, RETRY_AFTER_UNAVAILABLE_SECONDS};
use crate::registry::RegistryError;

/// A failed page request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No (or no longer a) signed-in session: go to this sign-in page.
    #[error("sign-in required")]
    SignInRequired(&'static str),
    /// A state-changing form without this session's CSRF token, or from another site.
    #[error("form refused")]
    Forbidden,
    /// No such page (in this mode).
    #[error("not found")]
    NotFound,
    /// A request that cannot be read (a NUL character in its text, a body over the limit, a
    /// wrong method or content type): this status.
    #[error("request refused")]
    Refused(StatusCode),
    /// The database does not answer.
    #[error("temporarily unavailable")]
    Unavailable,
    /// A bug or a broken dependency.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RegistryError> for WebError {
    fn from(err: RegistryError) -> Self {
        if let RegistryError::NotFound(_) = err {
            return Self::NotFound;
        }
        match ApiError::from(err) {
            ApiError::Unavailable => Self::Unavailable,
            refused @ ApiError::InvalidRequest { .. } => Self::Refused(refused.status()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// A failure the app's edge layer found before any page handler ran, as a page: the web pages'
/// [`RenderError`](crate::http::error::RenderError). It may answer a path no page route matched,
/// so it sets the pages' security headers itself.
pub fn render(error: ApiError) -> Response {
    let mut response = match error {
        ApiError::NotFound(_) | ApiError::UnknownRoute => WebError::NotFound,
        ApiError::Unavailable => WebError::Unavailable,
        ApiError::Internal(err) => WebError::Internal(format!("{err:#}")),
        other => WebError::Refused(other.status()),
    }
    .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

impl From<crate::signing::SigningError> for WebError {
    fn from(err: crate::signing::SigningError) -> Self {
        match ApiError::from(err) {
            ApiError::Unavailable => Self::Unavailable,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<tower_sessions::session::Error> for WebError {
    fn from(err: tower_sessions::session::Error) -> Self {
        tracing::warn!(error = %err, "web session store failed");
        Self::Unavailable
    }
}

/// The page of a refused or failed request.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    title: &'static str,
    message: &'static str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            Self::SignInRequired(page) => return Redirect::to(page).into_response(),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "This form was refused",
                "It did not come from this site's current session (it may be stale). Go back, \
                 reload the page and try again.",
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page here.",
            ),
            Self::Refused(status) => (
                *status,
                "This request was refused",
                "It could not be read: it may hold a character this service does not accept \
                 (such as NUL), be too large or not be a form. Go back and try again.",
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The service cannot reach its database right now. Try again in a few seconds.",
            ),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "a page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown. The details are in the service's log.",
                )
            }
        };
        let mut response = render_with_status(
            status,
            &ErrorPage {
                frame: Frame::plain(),
                title,
                message,
            },
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE_SECONDS.into());
        }
        response
    }
}
