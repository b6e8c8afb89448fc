//! The `tokenmint` binary: parse the command line, load settings, start logging, run.

use clap::Parser;
use tokenmint::cli::{Cli, Command};
use tokenmint::config::Settings;

/// mimalloc instead of the system allocator: cheaper allocation on the request path and freed
/// memory returned instead of kept per thread (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let settings = Settings::load()?;
    tokenmint::telemetry::init(&settings.log);
    tokenmint::cli::run(command, settings).await
}
