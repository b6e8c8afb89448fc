//! `GET /metrics`: this instance's Prometheus metrics ([`crate::telemetry::metrics`]), with the
//! figures kept elsewhere (pool, caches, issuance queue) sampled at scrape time.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::openapi;
use crate::state::AppState;

/// Content type of the OpenMetrics text format, which Prometheus asks for.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of the classic Prometheus text format, for every other caller.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus metrics of this instance (unauthenticated; `[metrics] enabled = false` turns it off)
///
/// OpenMetrics text when the scraper asks for it (Prometheus does), else the same text as
/// `text/plain; version=0.0.4`. Series: `tokenmint_tokens_issued_total{scheme}`,
/// `tokenmint_token_refusals_total{scheme,reason}`,
/// `tokenmint_http_request_duration_seconds{route,method,status}` (a histogram over route
/// templates), `tokenmint_db_pool_*`, `tokenmint_credential_cache_entries{kind}` and
/// `tokenmint_issuance_queue_records`.
#[utoipa::path(get, path = "/metrics", tag = openapi::OPERATIONS.name,
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain", body = String,
            example = "# TYPE tokenmint_tokens_issued counter\n\
                tokenmint_tokens_issued_total{scheme=\"auth_jwt\"} 3\n"),
        (status = 404, description = "Metrics are disabled by configuration")))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.settings.metrics.enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    let sampled = state.metrics.render(
        state.db.pool(),
        state.registry.cached_credentials(),
        state.signer.queued_records(),
    );
    let text = match sampled {
        Ok(text) => text,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let content_type = if openmetrics {
        OPENMETRICS
    } else {
        PROMETHEUS_TEXT
    };
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The metrics route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}
