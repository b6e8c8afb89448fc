//! Swagger UI in a real browser: the service binary runs in sandbox mode (so the demo client, its
//! API key and its service account exist) on a fresh PostgreSQL database, and
//! `tests/browser/swagger_ui.mjs` drives Debian's headless Chromium through playwright-core:
//! the tag sections (one a scheme, then the service groups), no server selector, the Authorize
//! dialog's schemes in order and opening at its top, "Try it out" on the documented token routes
//! with the demo credentials, then each token through the Authorize dialog into `GET /v1/me`.
//! Screenshots of every step are kept under `target/tmp/browser-test/<run>/`.
//!
//! Needs Node.js 20+, npm with access to its registry (playwright-core is installed with `npm ci`
//! from the committed lockfile into `target/tmp/browser-deps`, never a browser download) and
//! `/usr/bin/chromium`, which is installed with apt-get when the tests run as root (as `.ci/run`
//! does); otherwise the test fails saying how to install it. It never skips.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenmint::app::openapi::SECURITY_SCHEMES;
use tokenmint::http::openapi::SERVICE_GROUPS;

use crate::binary::{run, tokenmint};
use crate::browser::{browser_deps, chromium, prune_old_runs, BROWSER_TESTS};

/// How long the debug binary may take to migrate, create the demo data and listen.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// The demo service account's subject, scope and attribute (as `data/demo-assertion.sh` asks).
const ASSERTION_CLAIMS: [&str; 6] = [
    "--sub",
    "demo-user@example.com",
    "--scope",
    "programs:read",
    "--user-attribute",
    "icn=1012667122V019349",
];
/// Screenshots the script takes when every step passes: the page, the Authorize dialog as it
/// opens, 7 token responses (A, B by GET and POST, C, E in the query and in a form, F:
/// `/oauth/token`), and 8 rounds of Authorize + `/v1/me` (each of those tokens, then A as `?jwt=`).
const SCREENSHOTS: usize = 1 + 1 + 7 + 8 * 2;

#[test]
fn swagger_ui_issues_a_token_on_each_documented_route_and_authorizes_v1_me_in_chromium() {
    let chromium = chromium();
    let deps = browser_deps();
    let database_url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::pg::fresh_database_url());
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path(), &database_url);
    let demo = service.demo_env();
    // Two, since each is accepted once: E is tried with the query string and with a form body.
    let assertions = run(tokenmint(dir.path())
        .env("DATABASE_URL", &database_url)
        .args(["service-account", "assertion", "--count", "2"])
        .arg("--service-account-id")
        .arg(&demo["SERVICE_ACCOUNT_ID"])
        .arg("--key-file")
        .arg(dir.path().join("data/demo-service-account.key"))
        .args(ASSERTION_CLAIMS)
        .args(["--audience", &format!("{}/v0/sign_in/token", service.url)]))
    .trim()
    .to_owned();
    assert_eq!(assertions.lines().count(), 2, "{assertions}");
    let runs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-test");
    prune_old_runs(&runs);
    let screenshots = runs.join(format!("run-{}", uuid::Uuid::now_v7().simple()));

    let output = Command::new("node")
        .arg(Path::new(BROWSER_TESTS).join("swagger_ui.mjs"))
        .envs(
            [
                "CLIENT_ID",
                "CLIENT_SECRET",
                "API_KEY",
                "SERVICE_ACCOUNT_ID",
            ]
            .map(|k| (k, &demo[k])),
        )
        .env("TOKENMINT_URL", &service.url)
        .env("TAGS", expected_tags().join(","))
        .env("SECURITY_SCHEMES", security_schemes().join(","))
        .env("ASSERTIONS", assertions)
        .env("SCREENSHOT_DIR", &screenshots)
        .env("BROWSER_DEPS", &deps)
        .env("CHROMIUM", chromium)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): Node.js 20 or later is required"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");

    assert!(
        output.status.success(),
        "the Swagger UI browser test failed (screenshots in {}):\n{report}\nservice log:\n{}",
        screenshots.display(),
        service.log()
    );
    assert!(report.contains("all Swagger UI steps passed"), "{report}");
    let pngs = std::fs::read_dir(&screenshots)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("png".as_ref()))
        .count();
    assert_eq!(
        pngs, SCREENSHOTS,
        "one screenshot per step in {screenshots:?}"
    );
}

/// The tag sections Swagger UI must show, in order: each scheme's name as the scheme list has
/// them, then the service groups.
fn expected_tags() -> Vec<&'static str> {
    tokenmint::schemes::names()
        .into_iter()
        .chain(SERVICE_GROUPS.iter().map(|group| group.name))
        .collect()
}

/// The security schemes the Authorize dialog must offer, in order.
fn security_schemes() -> Vec<&'static str> {
    SECURITY_SCHEMES.iter().map(|(name, _)| *name).collect()
}

/// The service binary in sandbox mode, killed when dropped.
struct Service {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Service {
    /// Starts the binary in `dir` on a free port and waits until it says it is up (after it has
    /// written the demo credentials).
    fn start(dir: &Path, database_url: &str) -> Service {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stdout = std::fs::File::create(dir.join("service.out")).unwrap();
        let stderr = std::fs::File::create(dir.join("service.err")).unwrap();
        let child = tokenmint(dir)
            .env("DATABASE_URL", database_url)
            .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOKENMINT_MODE", "sandbox")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut service = Service {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !service.log().contains("tokenmint is up") {
            if let Some(status) = service.child.try_wait().unwrap() {
                panic!("the service exited ({status}):\n{}", service.log());
            }
            assert!(
                Instant::now() < deadline,
                "the service did not start within {STARTUP_TIMEOUT:?}:\n{}",
                service.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        service
    }

    /// The demo credentials the sandbox wrote (`data/demo.env`: `NAME=value` lines).
    fn demo_env(&self) -> HashMap<String, String> {
        let text = std::fs::read_to_string(self.dir.join("data/demo.env")).unwrap();
        let values: HashMap<String, String> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        assert_eq!(values["TOKENMINT_URL"], self.url, "{text}");
        values
    }

    /// What the service printed so far (stdout, then stderr).
    fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("{}{}", read("service.out"), read("service.err"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
