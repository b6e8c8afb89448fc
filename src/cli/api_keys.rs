//! `tokenmint api-key ...`: API keys of clients.

use clap::Subcommand;

use crate::state::AppState;

/// API-key subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Placeholder until the API-key work lands.
    #[command(hide = true)]
    Placeholder,
}

/// Runs an API-key subcommand.
pub async fn run(_command: ApiKeyCommand, _state: &AppState) -> anyhow::Result<()> {
    Ok(())
}
