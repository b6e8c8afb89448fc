//! The edge: one layer around every route that answers, in the format of the route asked for,
//! whatever is refused before or outside a handler, so no route has to remember to.
//!
//! - **Text with NUL.** No text this service stores may hold U+0000 (PostgreSQL refuses it), so
//!   a NUL in the decoded path, query string, HTTP Basic credentials or body (a form field, or
//!   any string or member name of a JSON body; a raw NUL byte in any body) is refused here,
//!   before any extractor or handler: `InvalidRequest` naming the field, and nothing is read or
//!   written.
//! - **Body limit.** The body is read here, at most `http.request_body_limit_bytes` (a larger
//!   `Content-Length` is refused unread): `PayloadTooLarge`. Handlers get the buffered body.
//! - **Time limit.** A request not answered within `http.request_timeout_seconds`:
//!   `Unavailable` (503 with `Retry-After`).
//! - **Framework rejections.** A 4xx the router or an extractor produced by itself (an unknown
//!   path 404, a wrong method 405 with its `Allow`, 413, 415, a bare 400 or 422) is rendered
//!   again; a response a handler rendered carries the [`Rendered`] mark and passes untouched.
//!
//! A scope may leave NUL to its routes ([`ErrorScope::screens_nul`] false) when their own
//! documented checks already refuse it in their own words and never store or look up the text.
//!
//! The format of a path is the longest [`ErrorScope`] prefix that covers it: each scheme
//! declares its own (`Scheme::error_formats`), the app adds the admin API's and the web pages'
//! (HTML), and any other path (an unknown one included) gets tokenmint's `{"error", "message"}`.

mod nul;

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::http::error::{render_default, ApiError, RenderError, Rendered, NUL_REFUSED};
use crate::http::scheme::ErrorScope;
use nul::{nul_in_basic, nul_in_body, nul_in_target};

/// Longest text of a bare rejection that is carried over into the rendered message.
const MAX_REJECTION_TEXT: usize = 1024;

/// What the layer knows: every route family's format, and the limits.
pub struct Edge {
    /// The formats.
    pub formats: Formats,
    /// Longest body read.
    pub body_limit_bytes: usize,
    /// Time a request has to be answered.
    pub timeout: Duration,
}

/// Every route family's error format, by path.
pub struct Formats {
    /// Longest prefix first.
    scopes: Vec<(&'static str, RenderError, bool)>,
    /// Paths answered in HTML (the web pages), whose format is `pages`.
    is_page: fn(&str) -> bool,
    pages: RenderError,
}

impl Formats {
    /// The families of `scopes`, and the pages (`is_page` paths answer with `pages`).
    pub fn new<'a>(
        scopes: impl IntoIterator<Item = &'a ErrorScope>,
        (is_page, pages): (fn(&str) -> bool, RenderError),
    ) -> Self {
        let mut scopes: Vec<_> = scopes
            .into_iter()
            .map(|s| (s.prefix, s.render, s.screens_nul))
            .collect();
        scopes.sort_by_key(|(prefix, _, _)| std::cmp::Reverse(prefix.len()));
        Self {
            scopes,
            is_page,
            pages,
        }
    }

    /// The format of a path: the longest declared prefix covering it, the pages' or the default.
    pub fn format_of(&self, path: &str) -> RenderError {
        self.route(path).0
    }

    /// Whether the layer refuses a NUL in a path's requests (all but the routes whose scope
    /// says their own checks do, [`ErrorScope::screens_nul`]).
    pub fn screens_nul(&self, path: &str) -> bool {
        self.route(path).1
    }

    fn route(&self, path: &str) -> (RenderError, bool) {
        if (self.is_page)(path) {
            return (self.pages, true);
        }
        self.scopes
            .iter()
            .find(|(prefix, _, _)| covers(prefix, path))
            .map_or(
                (render_default as RenderError, true),
                |(_, render, screens)| (*render, *screens),
            )
    }
}

/// Whether `prefix` covers `path`: equal, or a folder of it (`/oauth/` covers `/oauth/token`,
/// `/auth/authtoken` covers `/auth/authtoken/refresh` but not `/auth/authtokens`).
fn covers(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// The layer (`axum::middleware::from_fn_with_state`).
pub async fn edge(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let (render, screens_nul) = edge.formats.route(request.uri().path());
    let run = screen_and_run(&edge, screens_nul, request, next);
    match tokio::time::timeout(edge.timeout, run).await {
        Ok(Ok(response)) => reframe(render, response).await,
        Ok(Err(error)) => render(error),
        Err(_) => {
            tracing::warn!("request timed out");
            render(ApiError::Unavailable)
        }
    }
}

/// Refuses a body over the limit and (when `screens_nul`) NUL in the request's text, then runs
/// the request with its body buffered.
async fn screen_and_run(
    edge: &Edge,
    screens_nul: bool,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let in_target = || nul_in_target(&parts.uri).or_else(|| nul_in_basic(&parts.headers));
    if let Some(field) = screens_nul.then(in_target).flatten() {
        return Err(refuse_nul(field));
    }
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > edge.body_limit_bytes as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let bytes = read_limited(body, edge.body_limit_bytes).await?;
    if let Some(field) = screens_nul
        .then(|| nul_in_body(&parts.headers, &bytes))
        .flatten()
    {
        return Err(refuse_nul(field));
    }
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

fn refuse_nul(field: String) -> ApiError {
    tracing::info!(field = %field, "request refused: NUL character in its text");
    ApiError::InvalidRequest {
        message: format!("{field}: {NUL_REFUSED}"),
        field: Some(field),
    }
}

/// Reads the body, refusing it once it exceeds `limit` bytes.
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut buffer = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| ApiError::InvalidRequest {
            message: "the request body could not be read".into(),
            field: None,
        })?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(ApiError::PayloadTooLarge);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buffer))
}

/// A response no handler rendered (no [`Rendered`] mark) with a status the framework answers
/// by itself, rendered again in the route's format; any other response as it is.
async fn reframe(render: RenderError, response: Response) -> Response {
    if response.extensions().get::<Rendered>().is_some() {
        return response;
    }
    let status = response.status();
    if !matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::NOT_FOUND
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::UNPROCESSABLE_ENTITY
    ) {
        return response;
    }
    let allow = response.headers().get(ALLOW).cloned();
    let text = rejection_text(response).await;
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::UnknownRoute,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            text.unwrap_or_else(|| "the request's Content-Type is not supported here".into()),
        ),
        _ => ApiError::InvalidRequest {
            message: text.unwrap_or_else(|| "the request could not be read".into()),
            field: None,
        },
    };
    let mut rendered = render(error);
    if let Some(allow) = allow {
        rendered.headers_mut().insert(ALLOW, allow);
    }
    rendered
}

/// The plain-text explanation of a framework rejection, if it has one.
async fn rejection_text(response: Response) -> Option<String> {
    let is_text = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !is_text {
        return None;
    }
    let bytes = axum::body::to_bytes(response.into_body(), MAX_REJECTION_TEXT)
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_cover_their_folder_only() {
        assert!(covers("/oauth/", "/oauth/token"));
        assert!(covers("/auth/authtoken", "/auth/authtoken"));
        assert!(covers("/auth/authtoken", "/auth/authtoken/refresh"));
        assert!(!covers("/auth/authtoken", "/auth/authtokens"));
        assert!(!covers("/admin", "/administrators"));
    }
}
