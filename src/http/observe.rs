//! The observing layer: every request is logged exactly once, when it completes, and timed into
//! the latency histogram; refusals on token routes are counted by scheme and reason.
//!
//! The log line carries the request id (`x-request-id`), method, route *template* (never the raw
//! path or query string, which may carry `?apiKey=` or `?jwt=`), status, latency in
//! milliseconds and the authenticated client id. Handlers deeper down tell this layer what it
//! cannot see in the response through a task-local set of facts ([`crate::telemetry::facts`]):
//! [`note_client`] (called for every issued token by the metrics'
//! [`IssuanceObserver`](crate::signing::IssuanceObserver), and by adapters once a client
//! authenticated) and [`note_refusal`] (called by [`ApiError::respond_with`], or earlier by an
//! adapter that knows a finer reason).
//!
//! Which routes are token routes, and of which scheme, is not known here: the app hands the
//! [`Observer`] that list, derived from the scheme list.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::REQUEST_ID;
use crate::telemetry::facts;
pub use crate::telemetry::facts::{note_client, note_refusal};
use crate::telemetry::metrics::{Metrics, RequestLabels, Route};
use crate::usage::Refusals;

/// What the layer needs: this instance's metrics, its per-client refusal counts, and the token
/// routes, each with the scheme its outcomes are counted under.
pub struct Observer {
    metrics: Arc<Metrics>,
    refusals: Arc<Refusals>,
    token_routes: Vec<(&'static str, &'static str)>,
}

impl Observer {
    /// Observes into `metrics` and `refusals`, counting refusals on `token_routes` (template,
    /// scheme).
    pub fn new(
        metrics: Arc<Metrics>,
        refusals: Arc<Refusals>,
        token_routes: Vec<(&'static str, &'static str)>,
    ) -> Self {
        Self {
            metrics,
            refusals,
            token_routes,
        }
    }

    /// The scheme of a token route, or `None` for any other route.
    pub fn scheme_of_route(&self, route: &str) -> Option<&'static str> {
        self.token_routes
            .iter()
            .find(|(path, _)| *path == route)
            .map(|(_, scheme)| *scheme)
    }
}

/// A standard method's name; anything else is `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The middleware: a span for the request, then one log line, one latency observation and, on
/// a token route's failure, one refusal count.
pub async fn observe(
    State(observer): State<Arc<Observer>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = Route::new(request.extensions().get::<MatchedPath>().cloned());
    let method = method_label(request.method());
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("request", method, route = route.as_str(),
        request_id = %request_id);
    let (response, facts) = facts::gather(next.run(request).instrument(span)).await;
    let elapsed = started.elapsed();
    let status = response.status();

    let metrics = &observer.metrics;
    if let Some(scheme) = observer.scheme_of_route(route.as_str()) {
        if status.is_client_error() || status.is_server_error() {
            let fallback = if status.is_server_error() {
                "internal"
            } else {
                "invalid_request"
            };
            let reason = facts.refusal.unwrap_or(fallback);
            metrics.refused(scheme, reason);
            if let Some(client_id) = facts.client_id.as_ref().or(facts.named_client.as_ref()) {
                observer.refusals.refused(client_id, scheme, reason);
            }
        }
    }
    let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let client_id = facts.client_id.as_deref();
    let status = status.as_u16();
    if status >= 500 {
        tracing::warn!(
            request_id,
            method,
            route = route.as_str(),
            status,
            latency_ms,
            client_id,
            "request completed"
        );
    } else {
        tracing::info!(
            request_id,
            method,
            route = route.as_str(),
            status,
            latency_ms,
            client_id,
            "request completed"
        );
    }
    let labels = RequestLabels::new(route, method, status);
    metrics.observe_latency(&labels, elapsed.as_secs_f64());
    response
}
