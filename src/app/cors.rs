//! CORS (`http.cors_allowed_origins`) for browser callers on other origins.

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Settings;
use crate::http::REQUEST_ID;

/// CORS for browser callers (Swagger UI on another origin, front ends): the token travels back
/// in `Authorization` on `/auth/jwt`, so that header is exposed.
pub fn layer(settings: &Settings) -> CorsLayer {
    let origins = &settings.http.cors_allowed_origins;
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("client-id"),
            HeaderName::from_static("client-secret"),
            REQUEST_ID,
        ])
        .expose_headers([header::AUTHORIZATION, header::RETRY_AFTER, REQUEST_ID])
        .max_age(Duration::from_secs(600))
}
