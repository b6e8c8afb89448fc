//! CORS (`http.cors_allowed_origins`) for the routes browsers on other origins may call: the
//! token routes, the JWKS and metadata, `/v1/me`, introspection and revocation, OpenAPI. The
//! admin API (`/admin`) and the web pages (`/`, `/portal`, `/console`, `/assets`) get none: a
//! preflight there gets no `Access-Control-Allow-*` header, so no other site's script can send
//! an admin token or read a page (the pages post only to themselves, `form-action 'self'`).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Settings;
use crate::http::REQUEST_ID;
use crate::web;

/// Whether a path is closed to cross-origin callers: the admin API and the web pages.
pub fn is_closed(path: &str) -> bool {
    let admin = path
        .strip_prefix("/admin")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    admin || web::is_page(path)
}

/// The layer (`axum::middleware::from_fn_with_state`): CORS as configured, except on the paths
/// [`is_closed`] names.
pub async fn cors(State(cors): State<CorsLayer>, request: Request, next: Next) -> Response {
    if is_closed(request.uri().path()) {
        return next.run(request).await;
    }
    match cors.layer(next).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_api_and_the_pages_are_closed() {
        for path in [
            "/admin",
            "/admin/clients",
            "/",
            "/portal",
            "/console/keys",
            "/assets/x",
        ] {
            assert!(is_closed(path), "{path}");
        }
        for path in [
            "/oauth/token",
            "/v1/me",
            "/.well-known/jwks.json",
            "/administrator",
        ] {
            assert!(!is_closed(path), "{path}");
        }
    }
}
