//! Several instances on one PostgreSQL database: two real processes of the built binary
//! (production mode, one admin token and master key, one public URL as behind a load balancer)
//! on a fresh database of the test cluster, reached as their own non-superuser role so that a
//! test can lock that role out to keep the change listeners disconnected (with `DATABASE_URL`
//! pointing at a server of your own, its user needs the right to create roles).
//!
//! Both instances run with a one-hour key reload and cache lifetime, so whatever instance B
//! learns within seconds it learns through the change notifications, not through a timer.
//! Timing: "refused within one second" is measured and printed (`--nocapture`), not asserted;
//! a loaded 2-core machine may delay any single request past a second. The assertion is that
//! B refuses within [`DEADLINE`], which a cache lifetime of an hour could not explain.

mod fail_closed;
mod heartbeat;
mod master_key;
mod propagation;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use tokenmint::signing::MasterKey;

use crate::binary::tokenmint;
use crate::helpers::{standard_client_body, TestClient, ADMIN_TOKEN};
use crate::pg;

/// The public URL both instances share (the `iss` and `aud` of their tokens).
pub const PUBLIC_URL: &str = "http://tokenmint.test";
/// How long a change may take to reach the other instance in these tests.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// The listener's `application_name` (see `tokenmint::sync`).
const LISTENER: &str = tokenmint::sync::APPLICATION_NAME;

/// One running `tokenmint serve` process; killed when dropped.
pub struct Instance {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub address: String,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    child: Child,
    log: PathBuf,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts `tokenmint serve` in production mode, logging to `<dir>/<name>.log`, and waits
    /// until it is ready.
    pub async fn start(dir: &Path, name: &str, database_url: &str, master_key: &str) -> Self {
        Self::start_with(dir, name, database_url, master_key, &[]).await
    }

    /// [`Self::start`] with extra environment variables (`TOKENMINT_MASTER_KEY_PREVIOUS`).
    pub async fn start_with(
        dir: &Path,
        name: &str,
        database_url: &str,
        master_key: &str,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log_path = dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = tokenmint(dir)
            .env("TOKENMINT_MODE", "production")
            .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOKENMINT_PUBLIC_URL", PUBLIC_URL)
            .env("DATABASE_URL", database_url)
            .env("TOKENMINT_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("TOKENMINT_MASTER_KEY", master_key)
            .env("TOKENMINT__SIGNING__KEY_RELOAD_SECONDS", "3600")
            .env("TOKENMINT__CACHE__VERIFIED_CREDENTIALS_TTL_SECONDS", "3600")
            // No background pass may want a connection while a test keeps new ones out.
            .env("TOKENMINT__RETENTION__ENABLED", "false")
            .envs(extra_env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let instance = Self {
            address: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            child,
            log: log_path,
        };
        let ready = poll(Duration::from_secs(60), || async {
            let response = instance.http.get(instance.url("/readyz")).send().await;
            response.is_ok_and(|r| r.status() == 200)
        })
        .await;
        assert!(ready.is_some(), "instance {name} did not become ready");
        instance
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn sigterm(&self) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        assert!(sent.unwrap().success());
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// An admin request with the admin token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
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

    /// Creates a client with the standard test policy, asserting 201.
    pub async fn create_client(&self) -> TestClient {
        let response = self
            .admin(
                Method::POST,
                "/admin/clients",
                Some(standard_client_body("ES256")),
            )
            .await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        TestClient {
            id: created["client_id"].as_str().unwrap().to_owned(),
            secret: created["client_secret"].as_str().unwrap().to_owned(),
            secret_id: created["secret_id"].as_str().unwrap().to_owned(),
        }
    }

    /// A JWT credential of a fresh client, made through this instance's portal: (key, secret,
    /// the client).
    pub async fn jwt_credential(&self) -> (String, String, TestClient) {
        let group = json!({"name": "reports", "scopes": ["reports:read"]});
        let created = self
            .admin(Method::POST, "/admin/api-groups", Some(group))
            .await;
        assert_eq!(created.status(), 201);
        let client = self.create_client().await;
        let portal = |method: Method, path: &str| {
            let request = self.http.request(method, self.url(path));
            request.basic_auth(&client.id, Some(&client.secret))
        };
        let asked = json!({"api_groups": ["reports"], "reason": "Monthly reports"});
        let asked = portal(Method::POST, "/v1/access-requests").json(&asked);
        let asked: Value = asked.send().await.unwrap().json().await.unwrap();
        let approve = format!(
            "/admin/access-requests/{}/approve",
            asked["id"].as_str().unwrap()
        );
        let approved = self
            .admin(Method::POST, &approve, Some(json!({"note": "ok"})))
            .await;
        assert_eq!(approved.status(), 200);
        let body = json!({"username": "sync", "notes": "", "api_groups": ["reports"]});
        let created = portal(Method::POST, "/v1/credentials").json(&body);
        let created: Value = created.send().await.unwrap().json().await.unwrap();
        let key = created["key"].as_str().unwrap().to_owned();
        (key, created["secret"].as_str().unwrap().to_owned(), client)
    }

    /// `POST /auth/token/create` with a client's id and secret.
    pub async fn token_create(&self, client: &TestClient) -> Response {
        let body = serde_json::json!({"client_id": client.id, "client_secret": client.secret});
        let request = self.http.post(self.url("/auth/token/create")).json(&body);
        request.send().await.unwrap()
    }
}

/// Two instances, A and B, on one fresh database, both already listening for changes.
pub struct Pair {
    /// The instance changes are made through.
    pub a: Instance,
    /// The instance that must honour them.
    pub b: Instance,
    /// A superuser connection URL to the same database, for what only PostgreSQL can do.
    superuser_url: String,
    database: String,
    role: String,
    _dir: tempfile::TempDir,
}

impl Pair {
    /// Starts A, then B, and waits until both listen for changes.
    pub async fn start() -> Self {
        let superuser_url = pg::fresh_database_url().await;
        let mut url = url::Url::parse(&superuser_url).unwrap();
        let database = url.path().trim_start_matches('/').to_owned();
        let role = format!("tm_instance_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&superuser_url).await.unwrap();
        conn.execute(format!(r#"create role "{role}" login"#).as_str())
            .await
            .unwrap();
        let owner = format!(r#"alter database "{database}" owner to "{role}""#);
        conn.execute(owner.as_str()).await.unwrap();
        conn.close().await.unwrap();
        url.set_username(&role).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let master_key = MasterKey::generate_base64().unwrap().to_string();
        // One after the other, so that B finds the keys A created.
        let a = Instance::start(dir.path(), "a", url.as_str(), &master_key).await;
        let b = Instance::start(dir.path(), "b", url.as_str(), &master_key).await;
        let pair = Self {
            a,
            b,
            superuser_url,
            database,
            role,
            _dir: dir,
        };
        pair.wait_for_listeners(2).await;
        pair
    }

    /// Runs one statement as the superuser.
    pub async fn superuser(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.superuser_url).await.unwrap();
        conn.execute(sql).await.unwrap();
        conn.close().await.unwrap();
    }

    /// How many change listeners are connected to this pair's database.
    pub async fn listeners(&self) -> i64 {
        let mut conn = PgConnection::connect(&self.superuser_url).await.unwrap();
        let (count,): (i64,) = sqlx::query_as(
            "select count(*) from pg_stat_activity where datname = $1 and application_name = $2",
        )
        .bind(&self.database)
        .bind(LISTENER)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        count
    }

    /// Waits until exactly `count` change listeners are connected.
    pub async fn wait_for_listeners(&self, count: i64) {
        let seen = poll(Duration::from_secs(30), || async {
            self.listeners().await == count
        })
        .await;
        assert!(seen.is_some(), "expected {count} change listeners");
    }

    /// Cuts both change listeners off and keeps them off: the instances' role may no longer log
    /// in (their pools keep the connections they hold), and the listening backends are ended.
    pub async fn cut_listeners_off(&self) {
        // The pools open connections on demand, and while logins are refused a new one would
        // fail the request that needed it: first make each pool hold more than the requests
        // and background flushes of these tests use at once (idle ones stay for minutes).
        for instance in [&self.a, &self.b] {
            let url = format!("{}/readyz", instance.address);
            let probes = (0..32).map(|_| instance.http.get(&url).send());
            for answer in futures::future::join_all(probes).await {
                assert_eq!(answer.unwrap().status(), 200);
            }
        }
        self.superuser(&format!(r#"alter role "{}" nologin"#, self.role))
            .await;
        self.superuser(&format!(
            "select pg_terminate_backend(pid) from pg_stat_activity \
             where datname = '{}' and application_name = '{LISTENER}'",
            self.database
        ))
        .await;
        self.wait_for_listeners(0).await;
    }

    /// Lets the listeners back in and waits until both listen again.
    pub async fn let_listeners_back(&self) {
        self.superuser(&format!(r#"alter role "{}" login"#, self.role))
            .await;
        self.wait_for_listeners(2).await;
    }
}

/// Calls `probe` every 20 ms until it returns `true` (then how long that took) or `deadline`
/// passes (then `None`).
pub async fn poll<F, Fut>(deadline: Duration, mut probe: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < deadline {
        if probe().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Polls `probe` within [`DEADLINE`], asserting it comes true, and prints how long it took.
pub async fn within_deadline<F, Fut>(what: &str, probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let took = poll(DEADLINE, probe).await;
    let took = took.unwrap_or_else(|| panic!("{what}: not within {DEADLINE:?}"));
    eprintln!("{what}: after {} ms", took.as_millis());
}
