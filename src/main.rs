//! The `tokenmint` binary: parse the command line, load settings, start logging, run.
//!
//! A failed command prints its error chain on one line (`error: ...`) and exits 1, without a
//! backtrace: the errors a user meets (a bad argument, an unknown client, an unreachable
//! database) are messages, not crashes. Output to a closed pipe (`tokenmint openapi | head`)
//! ends the command quietly with 0, as the reader chose to stop.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tokenmint::cli::{Cli, Command};
use tokenmint::config::Settings;

/// mimalloc instead of the system allocator: cheaper allocation on the request path and freed
/// memory returned instead of kept per thread (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if tokenmint::cli::is_closed_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    tokenmint::telemetry::init(&settings.log);
    tokenmint::cli::run(command, settings).await
}
