//! HTTP plumbing: the router, its layers (request ids, one log line and latency per request in
//! [`observe`]), error rendering, metrics, OpenAPI and Swagger UI, and the budgets of failed
//! authentications every scheme checks (`ratelimit`).
//!
//! Owns nothing of the domain: routes come from `schemes`, `admin` and the small modules here.

pub mod error;
pub mod extract;
pub mod health;
pub mod me;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod ratelimit;

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::IntoResponse;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::config::{Mode, Settings};
use crate::state::AppState;
use error::ApiError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Marks a response that carries a token as not to be stored by any cache (RFC 6749 §5.1).
pub fn no_store(response: impl IntoResponse) -> axum::response::Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Every documented route for a mode, with its OpenAPI description.
pub fn api(mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(metrics::router())
        .merge(me::router())
        .merge(crate::schemes::router(mode))
        .merge(crate::admin::router())
}

/// The OpenAPI document the service serves in a mode.
pub fn openapi_document(mode: Mode) -> utoipa::openapi::OpenApi {
    api(mode).split_for_parts().1
}

/// The OpenAPI document as committed in `openapi/openapi.json` (pretty JSON, trailing newline).
pub fn openapi_json(mode: Mode) -> String {
    let mut text = openapi_document(mode)
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The complete application: routes, Swagger UI and every layer.
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let (routes, document) = api(settings.mode).split_for_parts();
    let swagger = SwaggerUi::new("/swagger-ui")
        .url("/openapi.json", document)
        .config(Config::new(["/openapi.json"]).validator_url("none"));
    routes
        .merge(swagger)
        .with_state(state.clone())
        .layer(Extension(state.admin.clone()))
        .layer(DefaultBodyLimit::max(
            settings.http.request_body_limit_bytes,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(axum::middleware::from_fn_with_state(
                    state.metrics.clone(),
                    observe::observe,
                ))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(cors(&settings))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
                }))
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    tracing::warn!("request timed out");
                    ApiError::Unavailable
                }))
                .timeout(Duration::from_secs(settings.http.request_timeout_seconds))
                .layer(RequestBodyLimitLayer::new(
                    settings.http.request_body_limit_bytes,
                )),
        )
}

/// CORS for browser callers (Swagger UI on another origin, front ends): the token travels back
/// in `Authorization` on `/auth/jwt`, so that header is exposed.
fn cors(settings: &Settings) -> CorsLayer {
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
