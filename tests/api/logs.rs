//! Request logs of the real binary in JSON mode: one parseable line per request with its id,
//! method, route template, status, latency and client, and never a secret, API key or token.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::binary::tokenmint;

/// The completion line's message.
const COMPLETED: &str = "request completed";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `KEY=value` lines of the sandbox's `demo.env`.
fn demo_env(dir: &std::path::Path) -> HashMap<String, String> {
    std::fs::read_to_string(dir.join("data/demo.env"))
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Waits until the service answers `/healthz` (or gives up after a minute).
async fn wait_until_up(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the service did not come up");
}

#[tokio::test]
async fn json_logs_have_one_line_per_request_with_its_facts_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = tokenmint(dir.path())
        .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
        .env("TOKENMINT__LOG__FORMAT", "json")
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let http = reqwest::Client::new();
    wait_until_up(&http, &base).await;
    let env = demo_env(dir.path());
    let (client_id, secret, api_key) = (&env["CLIENT_ID"], &env["CLIENT_SECRET"], &env["API_KEY"]);
    let admin_token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap();

    let created: Value = http
        .post(format!("{base}/auth/token/create"))
        .json(&json!({"client_id": client_id, "client_secret": secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = created["jwt"].as_str().unwrap().to_owned();
    let by_key: Value = http
        .get(format!("{base}/clients/authorization?apiKey={api_key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_jwt = by_key["jwt"].as_str().unwrap().to_owned();
    let me = http
        .get(format!("{base}/v1/me?jwt={jwt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let refused = http
        .post(format!("{base}/auth/jwt"))
        .header("client-id", client_id.as_str())
        .header("client-secret", "not-the-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let admin = http
        .get(format!("{base}/admin/clients/{client_id}"))
        .bearer_auth(admin_token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let request_id = admin.headers()["x-request-id"].to_str().unwrap().to_owned();

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let logs = reader.join().unwrap();

    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let completed: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == COMPLETED)
        .collect();
    let routes: Vec<&str> = completed
        .iter()
        .filter(|line| line["route"] != "/healthz")
        .map(|line| line["route"].as_str().unwrap())
        .collect();
    assert_eq!(
        routes,
        [
            "/auth/token/create",
            "/clients/authorization",
            "/v1/me",
            "/auth/jwt",
            "/admin/clients/{client_id}"
        ],
        "{logs}"
    );
    for line in &completed {
        for field in ["request_id", "method", "route", "status", "latency_ms"] {
            assert!(line.get(field).is_some(), "{field} in {line}");
        }
        assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    }
    let by_route = |route: &str| *completed.iter().find(|l| l["route"] == route).unwrap();
    let issued = by_route("/auth/token/create");
    assert_eq!(issued["client_id"], client_id.as_str(), "{issued}");
    assert_eq!(
        (issued["method"].as_str(), issued["status"].as_u64()),
        (Some("POST"), Some(200))
    );
    assert_eq!(
        by_route("/clients/authorization")["client_id"],
        client_id.as_str()
    );
    assert_eq!(by_route("/auth/jwt")["status"], 403);
    assert!(by_route("/auth/jwt").get("client_id").is_none());
    assert_eq!(
        by_route("/admin/clients/{client_id}")["request_id"],
        request_id.as_str()
    );

    for secret in [
        secret.as_str(),
        api_key,
        &jwt,
        &key_jwt,
        admin_token.trim(),
        "not-the-secret",
    ] {
        assert!(!logs.contains(secret), "a secret reached the log:\n{logs}");
    }
    assert!(!logs.contains("apiKey="), "no query string in the log");
}
