//! The HTTP toolkit every adapter (schemes, admin, web pages) builds on: whether a presented
//! access token is active ([`active`]), errors and the scheme
//! error formats ([`error`]), extractors ([`extract`]), the observe layer ([`observe`]), the one
//! guarded authentication path ([`guard`]) with its failure budgets (`crate::limits`), the one
//! HTTP Basic parser ([`basic`]), grant-type URIs ([`grant_types`]), the shape a scheme
//! declares itself in ([`scheme`]) and the OpenAPI groups of the routes of no scheme
//! ([`openapi`]).
//!
//! It imports nothing from `schemes`, `admin`, `web` or `app`: the app assembles the router on
//! top and hands this toolkit whatever it must know of the schemes.

pub mod active;
pub mod basic;
pub mod dpop;
pub mod error;
pub mod extract;
pub mod grant_types;
pub mod guard;
pub mod observe;
pub mod openapi;
pub mod scheme;

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;

/// The request id header: set (or kept) on the way in, logged, and echoed on the way out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Marks a response that carries a token as not to be stored by any cache (RFC 6749 §5.1).
pub fn no_store(response: impl IntoResponse) -> axum::response::Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
