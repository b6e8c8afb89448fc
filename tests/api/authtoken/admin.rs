//! The administrator's side: API groups through the admin API, and the `api-group` and
//! `access-request` subcommands of the binary.

use std::path::Path;
use std::process::{Command, Output};

use reqwest::Method;
use serde_json::{json, Value};

use super::{create_groups, status_and_body, GROUP, GROUP_SCOPES};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_administrator_defines_and_lists_api_groups_with_validation() {
    let app = TestApp::spawn().await;
    create_groups(&app).await;
    let groups: Value = app
        .admin(Method::GET, "/admin/api-groups", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(groups[1]["name"], GROUP, "sorted by name");
    assert_eq!(groups[1]["scopes"], json!(GROUP_SCOPES));
    for (body, field) in [
        (json!({"name": GROUP, "scopes": ["x:read"]}), "name"),
        (json!({"name": "has space", "scopes": ["x:read"]}), "name"),
        (json!({"name": "g", "scopes": []}), "scopes"),
        (json!({"name": "g", "scopes": ["bad scope"]}), "scopes"),
    ] {
        let response = app
            .admin(Method::POST, "/admin/api-groups", Some(body.clone()))
            .await;
        let (status, error) = status_and_body(response).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let bad_status = app
        .admin(Method::GET, "/admin/access-requests?status=maybe", None)
        .await;
    assert_eq!(bad_status.status(), 422);
}

/// The binary with a clean environment rooted in `dir` (SQLite database and sandbox data there).
fn tokenmint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenmint"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "TOKENMINT_CONFIG_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        )
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/tokenmint.db", dir.display()),
        )
        .env("TOKENMINT__SANDBOX__DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_cli_manages_api_groups_and_lists_and_decides_access_requests() {
    let dir = tempfile::tempdir().unwrap();
    let created = json_of(&tokenmint(
        dir.path(),
        &[
            "api-group",
            "create",
            "--name",
            GROUP,
            "--scope",
            GROUP_SCOPES[0],
            "--scope",
            GROUP_SCOPES[1],
        ],
    ));
    assert_eq!(created["scopes"], json!(GROUP_SCOPES));
    let listed = json_of(&tokenmint(dir.path(), &["api-group", "list"]));
    assert_eq!(listed[0]["name"], GROUP);
    let pending = json_of(&tokenmint(
        dir.path(),
        &["access-request", "list", "--status", "pending"],
    ));
    assert_eq!(pending, json!([]));

    let unknown = tokenmint(
        dir.path(),
        &["access-request", "approve", "ar_nope", "--note", "ok"],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not found"));
    let bad_status = tokenmint(dir.path(), &["access-request", "list", "--status", "maybe"]);
    assert!(!bad_status.status.success());
    let no_note = tokenmint(dir.path(), &["access-request", "reject", "ar_nope"]);
    assert!(!no_note.status.success(), "a rejection needs --note");
}
