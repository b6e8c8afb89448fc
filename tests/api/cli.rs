//! The binary: `cargo run`'s sandbox start-up with its demo client, graceful shutdown, and the
//! management subcommands.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binary::{run_json, tokenmint};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_fresh_sandbox_start_prints_the_demo_client_once_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = tokenmint(dir.path())
        .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let line = lines
            .next()
            .expect("the service printed its address")
            .unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("tokenmint is up") {
            break;
        }
    }
    assert!(printed.contains("client_id:     demo"), "{printed}");
    let secret = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("client_secret: "))
        .expect("the demo secret is printed")
        .trim()
        .to_owned();
    let env_file = std::fs::read_to_string(dir.path().join("data/demo.env")).unwrap();
    assert!(env_file.contains(&format!("CLIENT_SECRET={secret}")));
    assert!(printed.contains(&format!("http://127.0.0.1:{port}/swagger-ui")));
    assert!(dir.path().join("data/master.key").exists());

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");

    // A second start finds the demo client and prints no secret.
    let port = free_port();
    let mut again = tokenmint(dir.path())
        .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first_line = BufReader::new(again.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert!(first_line.contains("tokenmint is up"), "{first_line}");
    Command::new("kill")
        .args(["-TERM", &again.id().to_string()])
        .status()
        .unwrap();
    assert!(again.wait().unwrap().success());
}

#[test]
fn the_cli_manages_clients_secrets_and_keys_in_the_admin_api_format() {
    let dir = tempfile::tempdir().unwrap();
    let migrated = tokenmint(dir.path()).arg("migrate").output().unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let created = run_json(tokenmint(dir.path()).args([
        "client",
        "create",
        "--name",
        "Acme",
        "--scope",
        "programs:read",
        "--default-scope",
        "programs:read",
        "--state",
        "oh",
        "--default-state",
        "OH",
        "--algorithm",
        "EdDSA",
    ]));
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert_eq!(created["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(created["allowed_states"][0], "OH");
    assert_eq!(created["algorithm"], "EdDSA");

    let listed = run_json(tokenmint(dir.path()).args(["client", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let suspended = run_json(tokenmint(dir.path()).args(["client", "suspend", &id]));
    assert_eq!(suspended["status"], "suspended");
    let shown = run_json(tokenmint(dir.path()).args(["client", "show", &id]));
    assert_eq!(shown["status"], "suspended");

    let secret = run_json(tokenmint(dir.path()).args(["secret", "add", &id]));
    let secret_id = secret["secret_id"].as_str().unwrap();
    let revoked = tokenmint(dir.path())
        .args(["secret", "revoke", &id, secret_id])
        .output()
        .unwrap();
    assert!(revoked.status.success());

    let rotated = run_json(tokenmint(dir.path()).args(["keys", "rotate", "--algorithm", "RS256"]));
    assert_eq!(rotated[0]["algorithm"], "RS256");
    let keys = run_json(tokenmint(dir.path()).args(["keys", "list"]));
    assert!(keys
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["status"] == "retired"));

    let missing = tokenmint(dir.path())
        .args(["client", "show", "nope"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn production_refuses_to_start_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokenmint(dir.path())
        .env("TOKENMINT_MODE", "production")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("TOKENMINT_MASTER_KEY"));
}
