//! The top floor: the application assembled from every scheme in `schemes::ALL`, the admin API,
//! health and key publication, `/v1/me`, the metrics endpoint, the RFC 8414 metadata, OpenAPI and
//! Swagger UI, the web pages (`web`: the landing page at `/`, the portal at `/portal`), under the
//! layers every request passes: request id, observe, CORS ([`cors`]: none on the admin API and
//! the pages), the edge ([`edge`]: time and body limits, NUL refused in any text, framework
//! rejections in the route's own error format), panic guard, body limit.
//!
//! Whatever the lower floors must know of the schemes comes from here, derived from the one
//! list: the observe layer's token routes, the admin filters' scheme names, the metadata's
//! token routes and the OpenAPI tags. Nothing below imports this module.

pub mod cors;
pub mod edge;
pub mod health;
pub mod me;
pub mod metadata;
pub mod metrics;
pub mod openapi;
pub mod swagger_ui;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa_axum::router::OpenApiRouter;

use crate::admin::{self, AdminError, KnownSchemes};
use crate::config::{Mode, Settings};
use crate::http::error::ApiError;
use crate::http::observe::{self, Observer};
use crate::http::scheme::ErrorScope;
use crate::http::REQUEST_ID;
use crate::schemes;
use crate::state::AppState;
use crate::web;
use edge::{Edge, Formats};

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
    openapi::refusals::document(router.get_openapi_mut(), &error_formats());
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
        state.refusals.clone(),
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
                .layer(axum::middleware::from_fn_with_state(
                    cors::layer(&settings),
                    cors::cors,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    Arc::new(edge(&settings)),
                    edge::edge,
                ))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
                }))
                .layer(RequestBodyLimitLayer::new(
                    settings.http.request_body_limit_bytes,
                )),
        )
}

/// The edge layer: the error formats, and the request limits.
fn edge(settings: &Settings) -> Edge {
    Edge {
        formats: error_formats(),
        body_limit_bytes: settings.http.request_body_limit_bytes,
        timeout: Duration::from_secs(settings.http.request_timeout_seconds),
    }
}

/// Every route family's error format: each scheme's, the admin API's, the web pages' (HTML).
pub fn error_formats() -> Formats {
    const ADMIN: &[ErrorScope] = &[ErrorScope::new("/admin", |error| {
        AdminError(error).into_response()
    })];
    let scopes = schemes::ALL
        .iter()
        .flat_map(|scheme| scheme.error_formats)
        .chain(ADMIN);
    Formats::new(scopes, (web::is_page, web::render_error))
}
