//! The sandbox demo's service account (created with the demo client).

use crate::registry::Client;
use crate::state::AppState;

/// Creates the demo service account for the demo client; returns the lines to print once.
pub async fn ensure(_state: &AppState, _client: &Client) -> anyhow::Result<Vec<String>> {
    Ok(Vec::new())
}
