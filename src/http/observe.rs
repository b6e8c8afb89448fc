//! The observing layer: every request is logged exactly once, when it completes, and timed into
//! the latency histogram; refusals on token routes are counted by scheme and reason.
//!
//! The log line carries the request id (`x-request-id`), method, route *template* (never the raw
//! path or query string, which may carry `?apiKey=` or `?jwt=`), status, latency in
//! milliseconds and the authenticated client id. Handlers deeper down tell this layer what it
//! cannot see in the response through a task-local set of facts: [`note_client`] (called for
//! every issued token by the metrics' [`IssuanceObserver`](crate::signing::IssuanceObserver),
//! and by adapters once a client authenticated) and [`note_refusal`] (called by
//! [`ApiError::respond_with`], or earlier by an adapter that knows a finer reason).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use tracing::Instrument;

use super::error::ApiError;
use super::metrics::Metrics;
use super::REQUEST_ID;

tokio::task_local! {
    static FACTS: RefCell<Facts>;
}

/// What the handler learnt about a request that its response does not show.
#[derive(Default)]
struct Facts {
    client_id: Option<String>,
    refusal: Option<&'static str>,
}

/// Records the authenticated client of the current request (the first one noted counts).
pub fn note_client(client_id: &str) {
    let _ = FACTS.try_with(|facts| {
        let mut facts = facts.borrow_mut();
        if facts.client_id.is_none() {
            facts.client_id = Some(client_id.to_owned());
        }
    });
}

/// Records why the current request was refused (the first reason noted counts, so an adapter
/// may note a finer one before its error is rendered). `reason` is one of a fixed set.
pub fn note_refusal(reason: &'static str) {
    let _ = FACTS.try_with(|facts| {
        facts.borrow_mut().refusal.get_or_insert(reason);
    });
}

/// The refusal reason of an error: a small fixed set, never anything the client sent.
pub fn refusal_reason(error: &ApiError) -> &'static str {
    match error {
        ApiError::InvalidRequest { .. } | ApiError::PayloadTooLarge => "invalid_request",
        ApiError::InvalidClient => "invalid_client",
        ApiError::ClientSuspended => "suspended",
        ApiError::InvalidCredentials(_) => "invalid_credentials",
        ApiError::InvalidToken => "invalid_token",
        ApiError::Forbidden { code, .. } => match *code {
            "invalid_scope" => "invalid_scope",
            "state_not_allowed" => "state_not_allowed",
            _ => "forbidden",
        },
        ApiError::AdminUnauthorized => "unauthorized",
        ApiError::NotFound(_) => "not_found",
        ApiError::TooManyRequests { .. } => "rate_limited",
        ApiError::Unavailable => "unavailable",
        ApiError::Internal(_) => "internal",
    }
}

/// The route template a request matched (`/admin/clients/{client_id}`), or `unmatched`.
#[derive(Clone, Debug)]
pub struct Route(Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// Labels of the latency histogram: all bounded (templates, standard methods, statuses).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    route: Route,
    method: &'static str,
    status: u16,
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
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = Route(request.extensions().get::<MatchedPath>().cloned());
    let method = method_label(request.method());
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("request", method, route = route.as_str(),
        request_id = %request_id);
    let handled = FACTS.scope(RefCell::default(), next.run(request).instrument(span));
    let mut handled = std::pin::pin!(handled);
    let response = handled.as_mut().await;
    let facts = handled
        .take_value()
        .map(RefCell::into_inner)
        .unwrap_or_default();
    let elapsed = started.elapsed();
    let status = response.status();

    if let Some(scheme) = crate::schemes::scheme_of_route(route.as_str()) {
        if status.is_client_error() || status.is_server_error() {
            let fallback = if status.is_server_error() {
                "internal"
            } else {
                "invalid_request"
            };
            metrics.refused(scheme, facts.refusal.unwrap_or(fallback));
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
    let labels = RequestLabels {
        route,
        method,
        status,
    };
    metrics.observe_latency(&labels, elapsed.as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_noted_facts_count_and_none_leak_outside_a_request() {
        note_client("outside");
        let facts = FACTS
            .scope(RefCell::default(), async {
                note_refusal("replayed");
                note_refusal("invalid_request");
                note_client("c1");
                note_client("c2");
                FACTS.with(|f| (f.borrow().refusal, f.borrow().client_id.clone()))
            })
            .await;
        assert_eq!(facts, (Some("replayed"), Some("c1".to_owned())));
    }

    #[test]
    fn refusal_reasons_are_fixed_strings() {
        let forbidden = |code| ApiError::Forbidden {
            code,
            message: "x".into(),
        };
        assert_eq!(refusal_reason(&forbidden("invalid_scope")), "invalid_scope");
        assert_eq!(
            refusal_reason(&forbidden("group_not_approved")),
            "forbidden"
        );
        assert_eq!(refusal_reason(&ApiError::ClientSuspended), "suspended");
        assert_eq!(
            refusal_reason(&ApiError::TooManyRequests {
                retry_after_seconds: 1
            }),
            "rate_limited"
        );
    }
}
