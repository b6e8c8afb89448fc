//! `tokenmint api-key ...`: API keys of clients, through the same registry calls as the admin
//! API and printed in its JSON (the key itself only once, by `create`).

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::print_json;
use crate::admin::api_keys::{ApiKeyView, IssuedApiKeyView};
use crate::audit::Actor;
use crate::registry::api_keys::Environment;
use crate::state::AppState;

/// API-key subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a client and print it, once.
    Create {
        /// The client id.
        client_id: String,
        /// Where the key works: sandbox or production.
        #[arg(long)]
        environment: Environment,
        /// Expiry, RFC 3339; absent: never.
        #[arg(long)]
        expires_at: Option<DateTime<Utc>>,
    },
    /// List a client's API keys (never the keys themselves).
    List {
        /// The client id.
        client_id: String,
    },
    /// Revoke an API key at once.
    Revoke {
        /// The API key's id (`key_...`).
        api_key_id: String,
    },
}

/// Runs an API-key subcommand.
pub async fn run(command: ApiKeyCommand, state: &AppState, actor: &Actor) -> anyhow::Result<()> {
    let now = state.clock.now();
    let registry = &state.registry;
    match command {
        ApiKeyCommand::Create {
            client_id,
            environment,
            expires_at,
        } => {
            let issued = registry
                .create_api_key(&client_id, environment, expires_at, actor, now)
                .await?;
            print_json(&IssuedApiKeyView::from(&issued))
        }
        ApiKeyCommand::List { client_id } => {
            let keys = registry.api_keys(&client_id).await?;
            print_json(&keys.iter().map(ApiKeyView::from).collect::<Vec<_>>())
        }
        ApiKeyCommand::Revoke { api_key_id } => {
            registry.revoke_api_key(&api_key_id, actor, now).await?;
            super::say(format_args!("api key {api_key_id} revoked"))
        }
    }
}
