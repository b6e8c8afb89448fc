//! `tokenmint admin ...` and `tokenmint audit ...`: administrators and the audit trail, through
//! the same registry calls as `/admin/admins` and `/admin/audit-events`, printed in their JSON
//! (an administrator's token only once, by `create`).

use clap::{Args, Subcommand};

use super::print_json;
use crate::admin::administrators::{AdministratorView, CreatedAdministratorView};
use crate::admin::audit::{audit_page, AuditParams};
use crate::audit::Actor;
use crate::registry::administrators::Role;
use crate::state::AppState;

/// Administrator subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Register an administrator and print its token, once.
    Create {
        /// Its unique name (the actor of its changes in the audit trail).
        #[arg(long)]
        name: String,
        /// admin (may change anything) or viewer (may only read).
        #[arg(long, value_parser = ["admin", "viewer"])]
        role: String,
    },
    /// List the administrators (never their tokens).
    List,
    /// Delete an administrator: its token stops at once, on every instance.
    Delete {
        /// The administrator's id (`adm_...`).
        id: String,
    },
}

/// Audit-trail subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print one page of recorded changes, newest first, as `GET /admin/audit-events` does.
    List(ListEvents),
}

/// Options of `audit list`: the admin route's query parameters.
#[derive(Debug, Args)]
pub struct ListEvents {
    /// Only events by this actor (an administrator's name, bootstrap, cli:<user>, ...).
    #[arg(long)]
    actor: Option<String>,
    /// Only events of this action, e.g. client.update.
    #[arg(long)]
    action: Option<String>,
    /// Only events about this target (an id).
    #[arg(long)]
    target: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    cursor: Option<String>,
    /// Most events, 1 to 1000 (default 100).
    #[arg(long)]
    limit: Option<String>,
}

/// Runs an administrator subcommand.
pub async fn run_admin(
    command: AdminCommand,
    state: &AppState,
    actor: &Actor,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let registry = &state.registry;
    match command {
        AdminCommand::Create { name, role } => {
            let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?;
            let (administrator, token) = registry
                .create_administrator(&name, role, actor, now)
                .await?;
            print_json(&CreatedAdministratorView::new(&administrator, &token))
        }
        AdminCommand::List => {
            let administrators = registry.administrators().await?;
            print_json(
                &administrators
                    .iter()
                    .map(AdministratorView::from)
                    .collect::<Vec<_>>(),
            )
        }
        AdminCommand::Delete { id } => {
            registry.delete_administrator(&id, actor, now).await?;
            super::say(format_args!("administrator {id} deleted"))
        }
    }
}

/// Runs an audit-trail subcommand.
pub async fn run_audit(command: AuditCommand, state: &AppState) -> anyhow::Result<()> {
    let AuditCommand::List(list) = command;
    let params = AuditParams {
        actor: list.actor,
        action: list.action,
        target: list.target,
        since: list.since,
        until: list.until,
        cursor: list.cursor,
        limit: list.limit,
    };
    print_json(&audit_page(state, params).await?)
}
