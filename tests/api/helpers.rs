//! `TestApp`: the real router on a random loopback port over a fresh, migrated database
//! (PostgreSQL from the throwaway cluster or `DATABASE_URL`, or an SQLite file), with a clock the
//! test can move and helpers that speak to the service the way a client would.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use reqwest::{Response, StatusCode};
use serde_json::{json, Map, Value};
use tokenmint::clock::FixedClock;
use tokenmint::config::Settings;
use tokenmint::db::Database;
use tokenmint::signing::{Grant, IssuedToken, MasterKey};
use tokenmint::AppState;

use crate::pg;

/// The admin token every test app is configured with.
pub const ADMIN_TOKEN: &str = "test-admin-token-with-enough-entropy-0123456789";

/// Which database backs a test app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh database on the test PostgreSQL cluster.
    Postgres,
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
}

/// A running service for one test.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub address: String,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    /// The service's state, for arranging data and reading rows.
    pub state: AppState,
    /// The service's clock; starts at the real current time.
    pub clock: Arc<FixedClock>,
    /// The database URL, so a second instance can share the database ([`Self::spawn_beside`]).
    pub database_url: String,
    /// The master key sealing the signing keys (base64), shared by every instance.
    pub master_key: String,
    _sqlite_dir: Option<Arc<tempfile::TempDir>>,
}

/// A client created through the admin API, with its secret.
#[derive(Clone, Debug)]
pub struct TestClient {
    /// Its id.
    pub id: String,
    /// Its first secret.
    pub secret: String,
    /// The secret's id.
    pub secret_id: String,
}

impl TestApp {
    /// Starts a service on PostgreSQL.
    pub async fn spawn() -> Self {
        Self::spawn_on(Backend::Postgres).await
    }

    /// Starts a service on the given backend.
    pub async fn spawn_on(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts a service on the given backend with extra environment settings (for example
    /// `("TOKENMINT_MODE", "production")`), which win over the test defaults.
    pub async fn spawn_with(backend: Backend, extra_env: &[(&str, &str)]) -> Self {
        let (url, sqlite_dir) = match backend {
            Backend::Postgres => (pg::fresh_database_url().await, None),
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/tokenmint.db", dir.path().display());
                (url, Some(Arc::new(dir)))
            }
        };
        let master_key = MasterKey::generate_base64().unwrap().to_string();
        let clock = Arc::new(FixedClock::at(tokenmint::clock::Clock::now(
            &tokenmint::clock::SystemClock,
        )));
        Self::spawn_at(url, sqlite_dir, master_key, clock, extra_env).await
    }

    /// Starts a service on an existing PostgreSQL database (which it migrates), with a new
    /// master key: what upgrading a deployment to this release is.
    pub async fn spawn_on_database(url: String) -> Self {
        let master_key = MasterKey::generate_base64().unwrap().to_string();
        let clock = Arc::new(FixedClock::at(tokenmint::clock::Clock::now(
            &tokenmint::clock::SystemClock,
        )));
        Self::spawn_at(url, None, master_key, clock, &[]).await
    }

    /// A second instance of the service on this one's database (same master key and admin
    /// token and public URL), with its own port, pools, caches and key set: what two replicas
    /// behind a load balancer are. Both share one clock, as replicas share wall time.
    pub async fn spawn_beside(&self) -> Self {
        Self::spawn_at(
            self.database_url.clone(),
            self._sqlite_dir.clone(),
            self.master_key.clone(),
            self.clock.clone(),
            &[("TOKENMINT_PUBLIC_URL", self.address.as_str())],
        )
        .await
    }

    async fn spawn_at(
        url: String,
        sqlite_dir: Option<Arc<tempfile::TempDir>>,
        master_key: String,
        clock: Arc<FixedClock>,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let db = Database::connect_url(&url, 5, Duration::from_secs(3))
            .await
            .expect("connect to the test database");
        db.migrate().await.expect("migrate the test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let mut env = vec![
            ("DATABASE_URL", url.as_str()),
            ("TOKENMINT_PUBLIC_URL", address.as_str()),
            ("TOKENMINT_ADMIN_TOKEN", ADMIN_TOKEN),
            ("TOKENMINT_MASTER_KEY", master_key.as_str()),
        ];
        env.retain(|(name, _)| !extra_env.iter().any(|(extra, _)| extra == name));
        env.extend_from_slice(extra_env);
        let settings = settings_with(&env);
        let state = AppState::with_database(db, settings, clock.clone())
            .await
            .expect("build the app state");
        tokio::spawn(tokenmint::serve(
            listener,
            state.clone(),
            std::future::pending(),
        ));
        Self {
            address,
            http: reqwest::Client::new(),
            state,
            clock,
            database_url: url,
            master_key,
            _sqlite_dir: sqlite_dir,
        }
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A GET.
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// A GET of an owned path (for closures that build the path).
    pub async fn get_owned(&self, path: String) -> Response {
        self.get(&path).await
    }

    /// An admin request with the admin token.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// Creates a client through the admin API, asserting 201.
    pub async fn create_client(&self, body: Value) -> TestClient {
        let response = self
            .admin(reqwest::Method::POST, "/admin/clients", Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        TestClient {
            id: created["client_id"].as_str().unwrap().to_owned(),
            secret: created["client_secret"].as_str().unwrap().to_owned(),
            secret_id: created["secret_id"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a client with the standard test policy and the given algorithm.
    pub async fn standard_client(&self, algorithm: &str) -> TestClient {
        self.create_client(standard_client_body(algorithm)).await
    }

    /// Issues a token to a client through the signing core directly, as a scheme would.
    pub async fn issue_for(&self, client: &TestClient) -> IssuedToken {
        let client = self.state.registry.client(&client.id).await.unwrap();
        let grant = Grant::for_client("test", &client.id, &client.policy, 3600);
        self.state
            .signer
            .issue(&grant, self.clock.now_utc())
            .await
            .unwrap()
    }

    /// The published JWKS.
    pub async fn jwks(&self) -> Value {
        self.get("/.well-known/jwks.json")
            .await
            .json()
            .await
            .unwrap()
    }

    /// Verifies a token the way a third party would: with a key from the published JWKS and the
    /// header's algorithm; returns its header and claims.
    pub async fn verify_with_jwks(
        &self,
        token: &str,
    ) -> (jsonwebtoken::Header, Map<String, Value>) {
        let header = decode_header(token).unwrap();
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(self.jwks().await).unwrap();
        let kid = header.kid.clone().expect("token has a kid");
        let jwk = jwks.find(&kid).expect("token's kid is published");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.address.as_str()]);
        validation.set_audience(&[self.address.as_str()]);
        let claims = decode::<Map<String, Value>>(token, &key, &validation)
            .expect("token verifies against the JWKS")
            .claims;
        (header, claims)
    }

    /// Counts rows of a table matching a `where` clause with one text parameter.
    pub async fn count_rows(&self, table: &str, condition: &str, value: &str) -> i64 {
        let sql = format!("select count(*) as n from {table} where {condition}");
        let row: (i64,) = sqlx::query_as(&sql)
            .bind(value)
            .fetch_one(self.state.db.pool())
            .await
            .unwrap();
        row.0
    }
}

/// Settings from the repository's config files plus the given environment.
pub fn settings_with(env: &[(&str, &str)]) -> Settings {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_sources(Path::new("config"), &env).expect("test settings")
}

/// The standard test client: two scopes, two states, 60-minute tokens.
pub fn standard_client_body(algorithm: &str) -> Value {
    json!({
        "name": "Test client",
        "allowed_scopes": ["programs:read", "schools:read"],
        "default_scopes": ["programs:read"],
        "allowed_states": ["IC", "OH"],
        "default_state": "IC",
        "max_ttl_minutes": 60,
        "algorithm": algorithm,
        "phones": [],
        "email": "dev@example.com"
    })
}

/// Convenience on the test clock.
pub trait ClockExt {
    /// The clock's current time.
    fn now_utc(&self) -> chrono::DateTime<Utc>;
}

impl ClockExt for FixedClock {
    fn now_utc(&self) -> chrono::DateTime<Utc> {
        tokenmint::clock::Clock::now(self)
    }
}

/// Generates one `#[tokio::test]` per backend from an `async fn(TestApp)`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn on_postgres() {
                super::$name(
                    $crate::helpers::TestApp::spawn_on($crate::helpers::Backend::Postgres).await,
                )
                .await
            }
            #[tokio::test]
            async fn on_sqlite() {
                super::$name(
                    $crate::helpers::TestApp::spawn_on($crate::helpers::Backend::Sqlite).await,
                )
                .await
            }
        }
    };
}
