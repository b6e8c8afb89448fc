//! Prometheus metrics: what one service instance counts (`GET /metrics`, in `app`, shows it).
//!
//! Each `AppState` owns its [`Metrics`] (a `prometheus-client` registry, never a process global),
//! so several services in one process, as in the tests, count apart. Recording is a lookup in a
//! small labelled family plus an atomic add (a histogram takes a short mutex); no label is ever
//! built from client input: schemes, reasons and methods are fixed strings, routes are the
//! router's templates. Figures that already exist elsewhere (database pool, caches, the issuance
//! queue) are sampled when scraped, not maintained on the request path.

use axum::extract::MatchedPath;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::facts;
use crate::signing::IssuanceObserver;

/// Upper bounds of the latency buckets, seconds: token routes answer in about a millisecond
/// from the cache, a first authentication takes an argon2 run (tens of milliseconds).
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SchemeLabels {
    scheme: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    scheme: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The route template a request matched (`/admin/clients/{client_id}`), or `unmatched`.
#[derive(Clone, Debug)]
pub struct Route(Option<MatchedPath>);

impl Route {
    /// The template a request matched, if any.
    pub fn new(matched: Option<MatchedPath>) -> Self {
        Self(matched)
    }

    /// The template, or `unmatched`.
    pub fn as_str(&self) -> &str {
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

impl RequestLabels {
    /// The labels of one completed request.
    pub fn new(route: Route, method: &'static str, status: u16) -> Self {
        Self {
            route,
            method,
            status,
        }
    }
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The metrics of one service instance.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    issued: Family<SchemeLabels, Counter>,
    refused: Family<RefusalLabels, Counter>,
    latency: LatencyFamily,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    cache_entries: Family<KindLabels, Gauge>,
    issuance_queue: Gauge,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// A fresh registry with every metric registered (at zero).
    pub fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("tokenmint"),
            issued: Family::default(),
            refused: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            pool_connections: Gauge::default(),
            pool_idle: Gauge::default(),
            pool_max: Gauge::default(),
            cache_entries: Family::default(),
            issuance_queue: Gauge::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "tokens_issued",
            "Tokens issued, by scheme (counted once the issuance record has committed)",
            metrics.issued.clone(),
        );
        registry.register(
            "token_refusals",
            "Token requests refused, by scheme and reason",
            metrics.refused.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by route template, method and status",
            metrics.latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections, sampled at scrape time",
            metrics.pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections, sampled at scrape time",
            metrics.pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Most database connections the pool opens",
            metrics.pool_max.clone(),
        );
        registry.register(
            "credential_cache_entries",
            "Verified credentials remembered in memory, by credential kind",
            metrics.cache_entries.clone(),
        );
        registry.register(
            "issuance_queue_records",
            "Issuance records waiting for their group commit, sampled at scrape time",
            metrics.issuance_queue.clone(),
        );
        metrics
    }

    /// Counts a refused token request of `scheme` for `reason` (both fixed strings).
    pub fn refused(&self, scheme: &'static str, reason: &'static str) {
        self.refused
            .get_or_create(&RefusalLabels { scheme, reason })
            .inc();
    }

    /// Records how long one request took.
    pub fn observe_latency(&self, labels: &RequestLabels, seconds: f64) {
        self.latency.get_or_create(labels).observe(seconds);
    }

    /// The exposition in the OpenMetrics text format, after sampling the figures kept elsewhere:
    /// the database pool, the credential caches' entries by kind, and the queued issuance records.
    pub fn render(
        &self,
        pool: &sqlx::AnyPool,
        cached_credentials: impl IntoIterator<Item = (&'static str, u64)>,
        queued_records: usize,
    ) -> Result<String, std::fmt::Error> {
        self.pool_connections.set(i64::from(pool.size()));
        self.pool_idle
            .set(i64::try_from(pool.num_idle()).unwrap_or(i64::MAX));
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));
        for (kind, entries) in cached_credentials {
            let entries = i64::try_from(entries).unwrap_or(i64::MAX);
            self.cache_entries
                .get_or_create(&KindLabels { kind })
                .set(entries);
        }
        self.issuance_queue
            .set(i64::try_from(queued_records).unwrap_or(i64::MAX));
        let mut text = String::with_capacity(8192);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl IssuanceObserver for Metrics {
    fn issued(&self, scheme: &'static str, client_id: &str) {
        self.issued.get_or_create(&SchemeLabels { scheme }).inc();
        facts::note_client(client_id);
    }
}
