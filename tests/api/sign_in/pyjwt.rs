//! The external-library check: `tests/scripts/sign_in_assertion.py` builds the assertion with
//! PyJWT, as a third-party backend would, and calls the running service. PyJWT and cryptography
//! are installed into the target folder when `python3` lacks them, so the test never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{keys, Fixture, ICN, SUBJECT};
use crate::helpers::{ClockExt, TestApp};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/scripts/sign_in_assertion.py"
);

/// A PYTHONPATH under which `import jwt, cryptography` works, installing them if needed.
fn pyjwt_path() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pydeps");
    let importable = || {
        Command::new("python3")
            .args(["-c", "import jwt, cryptography"])
            .env("PYTHONPATH", &target)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable() {
        let installed = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&target)
            .args(["pyjwt", "cryptography"])
            .output()
            .expect("python3 runs");
        assert!(
            installed.status.success(),
            "pip install pyjwt cryptography failed: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
        assert!(importable(), "PyJWT is importable after installing it");
    }
    target
}

/// Runs the script against the service with a fixed `jti`; returns (status, body).
fn run_script(url: &str, key_file: &Path, account_id: &str, now: i64, jti: &str) -> (u16, Value) {
    let output = Command::new("python3")
        .arg(SCRIPT)
        .args([
            "--url",
            url,
            "--service-account-id",
            account_id,
            "--sub",
            SUBJECT,
        ])
        .args(["--scope", "programs:read", "--icn", ICN, "--jti", jti])
        .arg("--key-file")
        .arg(key_file)
        .args(["--now", &now.to_string()])
        .env("PYTHONPATH", pyjwt_path())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        printed["status"].as_u64().unwrap() as u16,
        printed["body"].clone(),
    )
}

#[tokio::test]
async fn a_backend_using_pyjwt_gets_a_token_and_cannot_replay_its_assertion() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("service-account.key");
    std::fs::write(&key_file, &keys()[0].pem).unwrap();
    let (url, account_id) = (f.app.address.clone(), f.account_id.clone());
    let now = f.app.clock.now_utc().timestamp();

    let first = {
        let (url, key_file, account_id) = (url.clone(), key_file.clone(), account_id.clone());
        tokio::task::spawn_blocking(move || {
            run_script(&url, &key_file, &account_id, now, "pyjwt-1")
        })
    };
    let (status, body) = first.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["access_token"].as_str().unwrap();
    let me: Value = f
        .app
        .http
        .get(f.app.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sub"], SUBJECT);
    assert_eq!(me["scopes"][0], "programs:read");
    assert_eq!(me["user_attributes"]["icn"], ICN);

    let replay = tokio::task::spawn_blocking(move || {
        run_script(&url, &key_file, &account_id, now, "pyjwt-1")
    });
    let (status, body) = replay.await.unwrap();
    assert_eq!(status, 400);
    assert_eq!(body["errors"], "Assertion has already been used");
}
