//! The top floor: the application assembled from every scheme in `schemes::ALL`, the admin API,
//! health and key publication, `/v1/me`, the metrics endpoint, the RFC 8414 metadata, OpenAPI and
//! Swagger UI, the web pages (`web`: the landing page at `/`, the portal at `/portal`), under the layers every request passes (request id, observe, CORS, panic guard,
//! timeout, body limit).
//!
//! Whatever the lower floors must know of the schemes comes from here, derived from the one
//! list: the observe layer's token routes, the admin filters' scheme names, the metadata's
//! token routes and the OpenAPI tags. Nothing below imports this module.

pub mod health;
pub mod me;
pub mod metadata;
pub mod metrics;
pub mod openapi;
pub mod swagger_ui;

use std::sync::Arc;
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
use utoipa_axum::router::OpenApiRouter;

use crate::admin::{self, KnownSchemes};
use crate::config::{Mode, Settings};
use crate::http::error::ApiError;
use crate::http::observe::{self, Observer};
use crate::http::REQUEST_ID;
use crate::schemes;
use crate::state::AppState;
use crate::web;

/// Every documented route for a mode, with its OpenAPI description.
pub fn api(mode: Mode) -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(openapi::document())
        .merge(health::router())
        .merge(metrics::router())
        .merge(me::router())
        .merge(metadata::router())
        .merge(schemes::router(mode))
        .merge(admin::router(KnownSchemes::new(schemes::names())));
    openapi::describe_schemes(router.get_openapi_mut());
    router
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
    let observer = Arc::new(Observer::new(
        state.metrics.clone(),
        schemes::token_routes(),
    ));
    routes
        .merge(swagger_ui::router(document))
        .merge(web::router(&state, schemes::ALL))
        .with_state(state.clone())
        // The admin guard's state: the admin router is built before the state exists (the
        // OpenAPI document needs no state).
        .layer(Extension(state.clone()))
        .layer(DefaultBodyLimit::max(
            settings.http.request_body_limit_bytes,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(axum::middleware::from_fn_with_state(
                    observer,
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
