//! Rendering a page: an askama template into an HTML response, with what every page's frame
//! (`templates/base.html`) shows.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::config::Mode;
use crate::http::error::Rendered;

/// What the frame of every page shows: the service's mode and version.
pub struct Frame {
    /// `sandbox` or `production`, shown beside the name (empty: not shown).
    pub mode: &'static str,
    /// The binary's version.
    pub version: &'static str,
}

impl Frame {
    /// The frame for a service in `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode: match mode {
                Mode::Sandbox => "sandbox",
                Mode::Production => "production",
            },
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// The frame of a page that does not know the mode (an error page).
    pub fn plain() -> Self {
        Self {
            mode: "",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Renders `page` as `text/html`. Rendering fails only on a bug in a template's code (askama
/// checks templates at compile time), which is logged and answered 500 without details.
pub fn render(page: &impl Template) -> Response {
    render_with_status(StatusCode::OK, page)
}

/// [`render`] with another status (a form shown again with its errors, an error page). Pages
/// may show what only this session should see, so no cache keeps them. The page is marked
/// [`Rendered`]: the app's edge layer leaves an error page as it is.
pub fn render_with_status(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            Extension(Rendered),
            html,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "a page could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
