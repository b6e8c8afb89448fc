//! A small HTTP server on 127.0.0.1:0 playing key publishers, good and bad, and counting hits.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Bodies past the 64 KB cap.
const BIG_BYTES: usize = 70 * 1024;

/// A running publisher.
pub(in crate::remote_keys) struct TestServer {
    /// `http://<address>`, also the issuer of its discovery document.
    pub(in crate::remote_keys) base: String,
    state: Arc<Publisher>,
}

struct Publisher {
    base: String,
    hits: Mutex<HashMap<String, usize>>,
    /// What `/jwks` and `/gated` serve; `None` answers 503.
    jwks: Mutex<Option<Value>>,
    /// `/gated` waits for a permit.
    gate: Semaphore,
}

impl TestServer {
    /// Serves `jwks` at `/jwks` on 127.0.0.1.
    pub(in crate::remote_keys) async fn start(jwks: Value) -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), jwks).await
    }

    /// Serves `jwks` at `/jwks` on `address`.
    pub(in crate::remote_keys) async fn start_on(address: SocketAddr, jwks: Value) -> Self {
        let listener = TcpListener::bind(address).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Publisher {
            base: base.clone(),
            hits: Mutex::default(),
            jwks: Mutex::new(Some(jwks)),
            gate: Semaphore::new(0),
        });
        let app = axum::Router::new()
            .fallback(publish)
            .with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, state }
    }

    /// The URL of `path`.
    pub(in crate::remote_keys) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many requests `path` has had.
    pub(in crate::remote_keys) fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Replaces what `/jwks` serves (`None`: 503).
    pub(in crate::remote_keys) fn publish(&self, jwks: Option<Value>) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    /// Lets the requests waiting at `/gated` through.
    pub(in crate::remote_keys) fn open_gate(&self) {
        self.state.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

async fn publish(State(publisher): State<Arc<Publisher>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    *publisher
        .hits
        .lock()
        .unwrap()
        .entry(path.clone())
        .or_default() += 1;
    let base = &publisher.base;
    let jwks = || match publisher.jwks.lock().unwrap().clone() {
        Some(jwks) => Json(jwks).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let discovery = |issuer: String, jwks_uri: String| {
        Json(json!({"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["id_token"]}))
            .into_response()
    };
    match path.as_str() {
        "/jwks" => jwks(),
        "/.well-known/openid-configuration" => discovery(base.clone(), format!("{base}/jwks")),
        "/mismatch/.well-known/openid-configuration" => {
            discovery(format!("{base}/other"), format!("{base}/jwks"))
        }
        "/private/.well-known/openid-configuration" => {
            discovery(format!("{base}/private"), "https://10.0.0.1/jwks".into())
        }
        "/big" => vec![b' '; BIG_BYTES].into_response(),
        "/big-chunked" => {
            let chunks = (0..BIG_BYTES / 1024).map(|_| Ok::<_, Infallible>(vec![b' '; 1024]));
            Body::from_stream(futures::stream::iter(chunks)).into_response()
        }
        "/not-json" => "<html><body>not a JWKS</body></html>".into_response(),
        "/thousand" => {
            let key = json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"});
            Json(json!({"keys": vec![key; 1000]})).into_response()
        }
        "/slow" => std::future::pending().await,
        "/redirect" => (
            StatusCode::FOUND,
            [(header::LOCATION, format!("{base}/jwks"))],
        )
            .into_response(),
        "/gated" => {
            publisher.gate.acquire().await.unwrap().forget();
            jwks()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
