//! `tokenmint issuances ...` and `tokenmint retention ...`: the issuance report, parsed and
//! printed exactly as `GET /admin/issuances` does, and one pass of the retention job.

use clap::{Args, Subcommand};

use super::print_json;
use crate::admin::issuances::{issuance_page, IssuanceParams};
use crate::state::AppState;

/// Issuance-record subcommands.
#[derive(Debug, Subcommand)]
pub enum IssuancesCommand {
    /// Print one page of issued tokens, newest first, as `GET /admin/issuances` does.
    List(ListIssuances),
}

/// Options of `issuances list`: the admin route's query parameters.
#[derive(Debug, Args)]
pub struct ListIssuances {
    /// Only tokens issued to this client.
    #[arg(long)]
    client_id: Option<String>,
    /// Only tokens of this scheme, by its name in the issuance record (an unknown name is refused
    /// with the list of names).
    #[arg(long)]
    scheme: Option<String>,
    /// Only tokens issued at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only tokens issued before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    cursor: Option<String>,
    /// Most items, 1 to 1000 (default 100).
    #[arg(long)]
    limit: Option<String>,
}

/// Retention subcommands.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Run one pruning pass now and print what it deleted.
    Run,
}

/// Runs an issuance-record subcommand.
pub async fn run_issuances(command: IssuancesCommand, state: &AppState) -> anyhow::Result<()> {
    match command {
        IssuancesCommand::List(options) => {
            let params = IssuanceParams {
                client_id: options.client_id,
                scheme: options.scheme,
                since: options.since,
                until: options.until,
                cursor: options.cursor,
                limit: options.limit,
            };
            print_json(&issuance_page(state, params, &crate::schemes::names()).await?)
        }
    }
}

/// Runs a retention subcommand.
pub async fn run_retention(command: RetentionCommand, state: &AppState) -> anyhow::Result<()> {
    match command {
        RetentionCommand::Run => print_json(&crate::retention::run_pass(state).await?),
    }
}
