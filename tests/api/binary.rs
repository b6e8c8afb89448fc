//! Driving the `tokenmint` binary from tests: a clean environment rooted in a temporary folder
//! (SQLite database and sandbox data there), and helpers that run a command and read its output.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tokenmint");

/// The binary with a clean environment rooted in `dir` (SQLite database and sandbox data there).
pub fn tokenmint(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
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
        .current_dir(dir);
    command
}

/// Runs a command that must succeed and returns its standard output.
pub fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs a command that must succeed and parses its standard output as JSON.
pub fn run_json(command: &mut Command) -> Value {
    serde_json::from_str(&run(command)).unwrap()
}
