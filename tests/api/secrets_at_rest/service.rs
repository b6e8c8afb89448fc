//! The `tokenmint` binary as a separate process on a fresh PostgreSQL database, in production
//! mode with verbose logging captured to files, and the collection of every secret a test saw.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::binary::tokenmint;

/// How long the debug binary may take to migrate, create its keys and listen.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Everything the service's own code, the database driver and the HTTP layers log.
const LOG_FILTER: &str = "debug,tokenmint=trace,sqlx=trace,tower_http=trace";

/// The service process, killed when dropped.
pub struct Service {
    child: Child,
    /// Base URL.
    pub url: String,
    /// The database it runs on.
    pub database_url: String,
    /// The admin token it was configured with.
    pub admin_token: String,
    /// The master key it was configured with (base64).
    pub master_key: String,
    dir: PathBuf,
}

impl Service {
    /// Starts the binary in `dir` on a fresh database and waits for `/healthz`.
    pub async fn start(dir: &Path) -> Service {
        let database_url = crate::pg::fresh_database_url().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let admin_token = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let master_key = tokenmint::signing::MasterKey::generate_base64()
            .unwrap()
            .to_string();
        let child = tokenmint(dir)
            .env("DATABASE_URL", &database_url)
            .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOKENMINT_MODE", "production")
            .env("TOKENMINT_ADMIN_TOKEN", &admin_token)
            .env("TOKENMINT_MASTER_KEY", &master_key)
            .env("RUST_LOG", LOG_FILTER)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("service.out")).unwrap())
            .stderr(std::fs::File::create(dir.join("service.err")).unwrap())
            .spawn()
            .unwrap();
        let mut service = Service {
            child,
            url: format!("http://127.0.0.1:{port}"),
            database_url,
            admin_token,
            master_key,
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let http = reqwest::Client::new();
        loop {
            let health = http.get(format!("{}/healthz", service.url)).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return service;
            }
            if let Some(status) = service.child.try_wait().unwrap() {
                panic!("the service exited ({status}):\n{}", service.log());
            }
            assert!(Instant::now() < deadline, "the service did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// What the service printed so far (stdout, then stderr).
    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("{}{}", read("service.out"), read("service.err"))
    }

    /// Stops the service, so that everything it logged is on disk.
    pub fn stop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every secret seen during a run, by a name that says what it is (never printed itself).
#[derive(Default)]
pub struct Secrets(Vec<(String, String)>);

impl Secrets {
    /// Remembers a secret, a token or a key, in every form it could be stored or logged in:
    /// as is, base64url, base64 and URL-encoded; for a JWT also its signature alone.
    pub fn add(&mut self, name: &str, value: &str) {
        assert!(value.len() >= 16, "{name} is too short to be a secret");
        let url_encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        self.0.push((name.to_owned(), value.to_owned()));
        self.0
            .push((format!("{name} (base64url)"), URL_SAFE_NO_PAD.encode(value)));
        self.0
            .push((format!("{name} (base64)"), STANDARD.encode(value)));
        self.0.push((format!("{name} (URL-encoded)"), url_encoded));
        if let [_, _, signature] = value.split('.').collect::<Vec<_>>()[..] {
            self.0
                .push((format!("{name} (JWS signature)"), signature.to_owned()));
        }
    }

    /// Remembers a private key by its DER: the whole base64 body, each of its PEM lines but the
    /// first (shared by every key of a type), and a hex window from its middle.
    pub fn add_private_key(&mut self, name: &str, der: &[u8]) {
        let body = STANDARD.encode(der);
        self.0.push((format!("{name} (base64 DER)"), body.clone()));
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect();
        for (i, line) in lines.iter().enumerate().skip(1) {
            if line.len() == 64 {
                self.0
                    .push((format!("{name} (PEM line {i})"), (*line).to_owned()));
            }
        }
        let middle = &der[der.len() / 2..der.len() / 2 + 16];
        let hex: String = middle.iter().map(|b| format!("{b:02x}")).collect();
        self.0.push((format!("{name} (hex of the DER)"), hex));
    }

    /// The names of the secrets found in `text`.
    pub fn found_in(&self, text: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(_, value)| text.contains(value.as_str()))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// How many forms are checked.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}
