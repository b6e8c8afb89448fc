//! The binary: `tokenmint api-key create|list|revoke`, and the demo API key of a fresh sandbox
//! start (printed once, in `demo.env`, working, and never in the log).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use crate::binary::{run_json, tokenmint};
use serde_json::Value;

/// Stops the service if the test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_cli_creates_lists_and_revokes_api_keys_in_the_admin_api_format() {
    let dir = tempfile::tempdir().unwrap();
    let created = run_json(tokenmint(dir.path()).args(["client", "create", "--name", "Acme"]));
    let client_id = created["client_id"].as_str().unwrap();

    let key = run_json(tokenmint(dir.path()).args([
        "api-key",
        "create",
        client_id,
        "--environment",
        "production",
        "--expires-at",
        "2999-01-01T00:00:00Z",
    ]));
    assert!(key["api_key"].as_str().unwrap().starts_with("tmk_live_"));
    assert_eq!(key["environment"], "production");
    assert_eq!(key["expires_at"], "2999-01-01T00:00:00Z");
    let key_id = key["api_key_id"].as_str().unwrap();

    let listed = run_json(tokenmint(dir.path()).args(["api-key", "list", client_id]));
    assert_eq!(listed[0]["api_key_id"], key_id);
    assert!(listed[0].get("api_key").is_none(), "the key is shown once");

    let revoked = tokenmint(dir.path())
        .args(["api-key", "revoke", key_id])
        .output()
        .unwrap();
    assert!(revoked.status.success());
    let listed = run_json(tokenmint(dir.path()).args(["api-key", "list", client_id]));
    assert!(listed[0]["revoked_at"].is_string());

    let refused = [
        vec!["api-key", "create", client_id, "--environment", "staging"],
        vec!["api-key", "create", client_id],
        vec![
            "api-key",
            "create",
            "no-such-client",
            "--environment",
            "sandbox",
        ],
        vec!["api-key", "revoke", key_id],
    ];
    for args in refused {
        let output = tokenmint(dir.path()).args(&args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
    }
}

#[tokio::test]
async fn a_fresh_sandbox_start_prints_a_working_demo_api_key_and_never_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokenmint(dir.path())
        .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut service = Running(child);
    let mut printed = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("tokenmint is up") {
            break;
        }
    }
    let key = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("API_KEY="))
        .expect("the demo API key is printed")
        .trim()
        .to_owned();
    assert!(key.starts_with("tmk_sandbox_"), "{printed}");
    let env_file = std::fs::read_to_string(dir.path().join("data/demo.env")).unwrap();
    assert!(
        env_file.contains(&format!("\nAPI_KEY={key}\n")),
        "{env_file}"
    );

    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/clients/authorization"))
        .query(&[("apiKey", key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let jwt = body["jwt"].as_str().unwrap().to_owned();

    let stopped = Command::new("kill")
        .args(["-TERM", &service.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(service.0.wait().unwrap().success());
    let log = log.join().unwrap();
    assert!(log.contains("token issued"), "the log is captured: {log}");
    assert!(!log.contains(&key), "the API key is in the log");
    assert!(!log.contains(&jwt), "the token is in the log");
}
