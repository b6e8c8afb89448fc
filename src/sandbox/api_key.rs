//! The sandbox demo's api key (created with the demo client).

use crate::registry::Client;
use crate::state::AppState;

/// Creates the demo api key for the demo client; returns the lines to print once.
pub async fn ensure(_state: &AppState, _client: &Client) -> anyhow::Result<Vec<String>> {
    Ok(Vec::new())
}
