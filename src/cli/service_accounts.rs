//! `tokenmint service-account ...`: service-account configs.

use clap::Subcommand;

use crate::state::AppState;

/// service-account subcommands.
#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Placeholder until the service-account work lands.
    #[command(hide = true)]
    Placeholder,
}

/// Runs an service-account subcommand.
pub async fn run(_command: ServiceAccountCommand, _state: &AppState) -> anyhow::Result<()> {
    Ok(())
}
