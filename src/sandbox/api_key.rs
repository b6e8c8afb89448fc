//! The sandbox demo's API key: created with the demo client on first start, shown once in the
//! start-up banner (never in the log) and kept in `<data_dir>/demo.env` as `API_KEY=...`, so the
//! README's `GET /clients/authorization?apiKey=$API_KEY` works right away.

use anyhow::Context;
use secrecy::SecretString;

use crate::audit::Actor;
use crate::registry::api_keys::Environment;
use crate::registry::Client;
use crate::state::AppState;

/// Creates the demo API key (sandbox, no expiry) for the demo client.
pub async fn ensure(state: &AppState, client: &Client) -> anyhow::Result<SecretString> {
    let issued = state
        .registry
        .create_api_key(
            client.id.as_str(),
            Environment::Sandbox,
            None,
            &Actor::Service("sandbox"),
            state.clock.now(),
        )
        .await
        .context("creating the demo API key")?;
    Ok(issued.key)
}
