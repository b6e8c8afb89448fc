//! Changes made by a management command (another process) reach a running service on SQLite,
//! as PostgreSQL's notifications carry them between instances: an API key revoked, a client
//! suspended and keys rotated with the CLI stop or change what the service answers although its
//! caches had already verified the credential.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::binary::{run, run_json, tokenmint};

/// Longer than the change log's polling by far, shorter than any cache's lifetime (30 s), so
/// the test tells "followed" from "expired" without depending on timing.
const DEADLINE: Duration = Duration::from_secs(10);

struct Service {
    child: Child,
    url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Service {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokenmint(dir)
        .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("tokenmint is up") {
            break;
        }
    }
    Service {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

fn demo_env(dir: &std::path::Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(dir.join("data/demo.env"))
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// Polls `check` until it holds, for at most [`DEADLINE`]; returns how long it took.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: not seen within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    println!("{what}: reached the service in {took:?}");
    took
}

#[tokio::test]
async fn changes_made_by_the_cli_reach_a_running_sqlite_service() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(dir.path());
    let env = demo_env(dir.path());
    let http = reqwest::Client::new();

    // The API key, verified once, is remembered by the service.
    let by_key = format!(
        "{}/clients/authorization?apiKey={}",
        service.url, env["API_KEY"]
    );
    for _ in 0..2 {
        assert_eq!(http.get(&by_key).send().await.unwrap().status(), 200);
    }
    let keys = run_json(tokenmint(dir.path()).args(["api-key", "list", "demo"]));
    let key_id = keys[0]["api_key_id"].as_str().unwrap().to_owned();
    run(tokenmint(dir.path()).args(["api-key", "revoke", &key_id]));
    until("an API key revoked with the CLI", async || {
        http.get(&by_key).send().await.unwrap().status() == 401
    })
    .await;

    // The client's secret, verified once, is remembered; suspending it stops it.
    let jwt = || {
        http.post(format!("{}/auth/jwt", service.url))
            .header("client-id", &env["CLIENT_ID"])
            .header("client-secret", &env["CLIENT_SECRET"])
            .send()
    };
    assert_eq!(jwt().await.unwrap().status(), 200);
    run(tokenmint(dir.path()).args(["client", "suspend", "demo"]));
    until("a client suspended with the CLI", async || {
        jwt().await.unwrap().status() == 403
    })
    .await;
    run(tokenmint(dir.path()).args(["client", "activate", "demo"]));
    until("a client reactivated with the CLI", async || {
        jwt().await.unwrap().status() == 200
    })
    .await;

    // A rotation: the service signs with the key the CLI made active.
    let rotated = run_json(tokenmint(dir.path()).args(["keys", "rotate", "--algorithm", "ES256"]));
    let active = rotated[0]["kid"].as_str().unwrap().to_owned();
    until("a key rotation made with the CLI", async || {
        let response = jwt().await.unwrap();
        let token = response.headers()["authorization"].to_str().unwrap();
        let header = token
            .trim_start_matches("Bearer ")
            .split('.')
            .next()
            .unwrap();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        header["kid"] == active.as_str()
    })
    .await;
}
