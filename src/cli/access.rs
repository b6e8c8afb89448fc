//! `tokenmint api-group ...` and `tokenmint access-request ...`: API groups and the access
//! requests of JWT credentials, through the same registry calls and JSON as the admin API. A
//! decision's e-mail (when SMTP is configured) is sent before the command exits.

use clap::Subcommand;

use super::print_json;
use crate::admin::access::parse_status;
use crate::audit::Actor;
use crate::mail::decision_email;
use crate::registry::views::{AccessRequestView, ApiGroupView};
use crate::registry::Decision;
use crate::state::AppState;

/// API-group subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiGroupCommand {
    /// Define an API group (a named scope bundle).
    Create {
        /// Its unique name.
        #[arg(long)]
        name: String,
        /// A scope it grants (repeat).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// List API groups.
    List,
}

/// Access-request subcommands.
#[derive(Debug, Subcommand)]
pub enum AccessRequestCommand {
    /// List access requests, oldest first.
    List {
        /// Only those with this status: pending, approved or rejected.
        #[arg(long)]
        status: Option<String>,
    },
    /// Approve a pending request: its groups' scopes join the client's allowed scopes.
    Approve {
        /// The request's id.
        id: String,
        /// A note for the client.
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a pending request.
    Reject {
        /// The request's id.
        id: String,
        /// Why (required).
        #[arg(long)]
        note: String,
    },
}

/// Runs an API-group subcommand.
pub async fn run_api_group(
    command: ApiGroupCommand,
    state: &AppState,
    actor: &Actor,
) -> anyhow::Result<()> {
    match command {
        ApiGroupCommand::Create { name, scopes } => {
            let group = state
                .registry
                .create_api_group(&name, scopes, actor, state.clock.now())
                .await?;
            print_json(&ApiGroupView::from(&group))
        }
        ApiGroupCommand::List => {
            let groups = state.registry.api_groups().await?;
            print_json(&groups.iter().map(ApiGroupView::from).collect::<Vec<_>>())
        }
    }
}

/// Runs an access-request subcommand.
pub async fn run_access_request(
    command: AccessRequestCommand,
    state: &AppState,
    actor: &Actor,
) -> anyhow::Result<()> {
    let (id, decision, note) = match command {
        AccessRequestCommand::List { status } => {
            let status = status.as_deref().map(parse_status).transpose()?;
            let requests = state.registry.access_requests(status).await?;
            let views: Vec<_> = requests.iter().map(AccessRequestView::from).collect();
            return print_json(&views);
        }
        AccessRequestCommand::Approve { id, note } => (id, Decision::Approve, note),
        AccessRequestCommand::Reject { id, note } => (id, Decision::Reject, Some(note)),
    };
    let (request, client) = state
        .registry
        .decide_access_request(&id, decision, note.as_deref(), actor, state.clock.now())
        .await?;
    if let Some(email) = decision_email(&request, &client) {
        state.mailer.send(&email).await;
    }
    print_json(&AccessRequestView::from(&request))
}
