//! The sandbox demo's API key: created with the demo client on first start, printed once to the
//! console (never to the log) and appended to `<data_dir>/demo.env` as `API_KEY=...`, so the
//! README's `GET /clients/authorization?apiKey=$API_KEY` works right away.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::registry::api_keys::Environment;
use crate::registry::Client;
use crate::state::AppState;

/// Creates the demo API key (sandbox, no expiry) for the demo client; returns the lines to print.
pub async fn ensure(state: &AppState, client: &Client) -> anyhow::Result<Vec<String>> {
    let issued = state
        .registry
        .create_api_key(
            client.id.as_str(),
            Environment::Sandbox,
            None,
            state.clock.now(),
        )
        .await
        .context("creating the demo API key")?;
    let key = issued.key.expose_secret();
    let env_path = state.settings.sandbox.data_dir.join("demo.env");
    append_private(&env_path, &format!("API_KEY={key}\n"))?;
    Ok(vec![format!("  api_key:       {key}")])
}

/// Appends to a file readable only by its owner (created so if missing).
fn append_private(path: &Path, content: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
