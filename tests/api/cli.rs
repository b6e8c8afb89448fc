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
    // The banner shows every credential demo.env keeps, exactly as it keeps them.
    let env_file = std::fs::read_to_string(dir.path().join("data/demo.env")).unwrap();
    let mut names = Vec::new();
    for line in env_file.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            printed.contains(&format!("    {line}\n")),
            "{line} in {printed}"
        );
        names.push(line.split('=').next().unwrap());
    }
    assert_eq!(
        names,
        [
            "TOKENMINT_URL",
            "CLIENT_ID",
            "CLIENT_SECRET",
            "API_KEY",
            "SERVICE_ACCOUNT_ID"
        ]
    );
    assert!(printed.contains("    CLIENT_ID=demo\n"), "{printed}");
    assert!(printed.contains("data/admin.token"), "{printed}");
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
    let mut lines = BufReader::new(again.stdout.take().unwrap()).lines();
    let first_line = lines.next().unwrap().unwrap();
    let data = dir.path().join("data");
    assert_eq!(
        first_line,
        format!(
            "  Demo credentials: load them with `. {}`; the admin token is in {}",
            data.join("demo.env").display(),
            data.join("admin.token").display()
        )
    );
    let second_line = lines.next().unwrap().unwrap();
    assert!(second_line.contains("tokenmint is up"), "{second_line}");
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

    let quota =
        run_json(tokenmint(dir.path()).args(["client", "quota", &id, "--per-minute", "10"]));
    assert_eq!(quota["quota"], serde_json::json!({"per_minute": 10}));
    let refused = tokenmint(dir.path())
        .args(["client", "quota", &id, "--per-day", "0"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("quota.per_day"));
    let removed = run_json(tokenmint(dir.path()).args(["client", "quota", &id]));
    assert_eq!(removed["quota"], serde_json::Value::Null);

    let secret = run_json(tokenmint(dir.path()).args(["secret", "add", &id]));
    let secret_id = secret["secret_id"].as_str().unwrap();
    let secrets = run_json(tokenmint(dir.path()).args(["secret", "list", &id]));
    let listed_ids: Vec<&str> = secrets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secret_id"].as_str().unwrap())
        .collect();
    assert!(
        listed_ids.contains(&secret_id) && listed_ids.len() == 2,
        "{secrets}"
    );
    assert!(!secrets
        .to_string()
        .contains(secret["client_secret"].as_str().unwrap()));
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

#[test]
fn management_commands_print_only_their_output_and_user_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let listed = tokenmint(dir.path())
        .args(["client", "list"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(listed.status.success());
    let stderr = String::from_utf8_lossy(&listed.stderr);
    // The sandbox warning is serve's alone; a management command's stderr holds no warning.
    assert!(!stderr.contains("SANDBOX"), "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");

    // A user's mistake: one line naming it, exit 1, no backtrace even when asked for one.
    let missing = tokenmint(dir.path())
        .args(["client", "show", "nope"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(missing.stderr).unwrap(),
        "error: client not found\n"
    );
}

#[test]
fn output_to_a_closed_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // The document is larger than a pipe's buffer, so writing it needs a reader; the reader is
    // gone before the command starts writing.
    let mut child = tokenmint(dir.path())
        .arg("openapi")
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert_eq!(stderr, "");
}

#[test]
fn serve_warns_once_about_sandbox_secrets_in_plain_text_when_not_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = tokenmint(dir.path())
        .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("tokenmint is up") {
            break;
        }
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.matches("SANDBOX").count(), 1, "{stderr}");
    assert!(stderr.contains("data/master.key"), "{stderr}");
    assert!(stderr.contains("data/admin.token"), "{stderr}");
    assert!(stderr.contains("tokenmint listening"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI codes in piped logs: {stderr:?}"
    );
}
