//! `tokenmint client ...`, `secret ...` and `keys ...`: clients, their secrets and the signing
//! keys, through the same registry and signing calls as the admin API, printed in its JSON (a
//! secret only once, by `client create` and `secret add`).

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::{print_json, say};
use crate::admin::views::{
    ClientView, CreateClientRequest, CreatedClientView, IssuedSecretView, KeyView, RotatedKey,
    SecretView, UpdateClientRequest,
};
use crate::audit::Actor;
use crate::domain::{Algorithm, Quota};
use crate::state::AppState;

/// Client subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its first secret, once.
    Create(CreateClient),
    /// List clients.
    List,
    /// Show one client.
    Show {
        /// The client id.
        client_id: String,
    },
    /// Suspend a client: every credential of it stops working.
    Suspend {
        /// The client id.
        client_id: String,
    },
    /// Reactivate a suspended client.
    Activate {
        /// The client id.
        client_id: String,
    },
    /// Set how a client authenticates at /oauth/token without a secret (private_key_jwt), and
    /// whether it must use DPoP.
    Keys(ClientKeysArgs),
    /// Set a client's token quota (a limit left out is no limit; neither removes the quota).
    Quota(ClientQuotaArgs),
}

/// Options of `client quota`.
#[derive(Debug, Args)]
pub struct ClientQuotaArgs {
    /// The client id.
    client_id: String,
    /// Most tokens per UTC minute, over every scheme and instance.
    #[arg(long)]
    per_minute: Option<i64>,
    /// Most tokens per UTC day.
    #[arg(long)]
    per_day: Option<i64>,
}

/// Options of `client keys`.
#[derive(Debug, Args)]
pub struct ClientKeysArgs {
    /// The client id.
    client_id: String,
    /// A file holding its public keys as a JWK Set (`{"keys": [...]}`).
    #[arg(long, conflicts_with_all = ["jwks_uri", "no_keys"])]
    jwks_file: Option<std::path::PathBuf>,
    /// Where it publishes its JWK Set (https).
    #[arg(long, conflicts_with = "no_keys")]
    jwks_uri: Option<String>,
    /// Remove its registered keys and URL.
    #[arg(long)]
    no_keys: bool,
    /// Require (true) or stop requiring (false) a DPoP proof for its tokens.
    #[arg(long)]
    require_dpop: Option<bool>,
}

/// Options of `client create`.
#[derive(Debug, Args)]
pub struct CreateClient {
    /// Display name.
    #[arg(long)]
    name: String,
    /// An allowed scope (repeat).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// A default scope (repeat).
    #[arg(long = "default-scope")]
    default_scopes: Vec<String>,
    /// An allowed state (repeat).
    #[arg(long = "state")]
    states: Vec<String>,
    /// The default state.
    #[arg(long)]
    default_state: Option<String>,
    /// Longest token lifetime, minutes.
    #[arg(long)]
    max_ttl_minutes: Option<i64>,
    /// ES256, RS256 or EdDSA.
    #[arg(long)]
    algorithm: Option<Algorithm>,
    /// A registered phone, E.164 (repeat).
    #[arg(long = "phone")]
    phones: Vec<String>,
    /// Contact e-mail.
    #[arg(long)]
    email: Option<String>,
    /// A file holding its public keys for private_key_jwt, as a JWK Set (`{"keys": [...]}`).
    #[arg(long, conflicts_with = "jwks_uri")]
    jwks_file: Option<std::path::PathBuf>,
    /// Where it publishes its JWK Set for private_key_jwt (https).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Refuse it tokens without a DPoP proof.
    #[arg(long)]
    require_dpop: bool,
    /// Most tokens per UTC minute, over every scheme and instance (default: no limit).
    #[arg(long)]
    quota_per_minute: Option<i64>,
    /// Most tokens per UTC day (default: no limit).
    #[arg(long)]
    quota_per_day: Option<i64>,
}

/// Secret subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Add a secret to a client and print it, once.
    Add {
        /// The client id.
        client_id: String,
        /// Expiry, RFC 3339.
        #[arg(long)]
        expires_at: Option<DateTime<Utc>>,
    },
    /// Revoke a secret.
    Revoke {
        /// The client id.
        client_id: String,
        /// The secret id.
        secret_id: String,
    },
    /// List a client's secrets (never their values), with when each was last used.
    List {
        /// The client id.
        client_id: String,
    },
}

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys.
    List,
    /// Rotate signing keys (one algorithm, or all).
    Rotate {
        /// ES256, RS256 or EdDSA; all when absent.
        #[arg(long)]
        algorithm: Option<Algorithm>,
    },
    /// Revoke a signing key at once (it may have leaked): unpublished, its tokens refused; an
    /// active key's next key signs from now on.
    Revoke {
        /// The key's kid.
        kid: String,
    },
}

/// Runs a `client` subcommand.
pub async fn run_client(
    command: ClientCommand,
    state: &AppState,
    actor: &Actor,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let registry = &state.registry;
    match command {
        ClientCommand::Create(c) => {
            let request = CreateClientRequest {
                name: c.name,
                allowed_scopes: c.scopes,
                default_scopes: c.default_scopes,
                allowed_states: c.states,
                default_state: c.default_state,
                max_ttl_minutes: c.max_ttl_minutes,
                algorithm: c.algorithm,
                phones: c.phones,
                email: c.email,
                jwks: c.jwks_file.as_deref().map(read_jwks).transpose()?,
                jwks_uri: c.jwks_uri,
                require_dpop: c.require_dpop,
                quota: Some(Quota {
                    per_minute: c.quota_per_minute,
                    per_day: c.quota_per_day,
                }),
            };
            let (client, secret) = registry
                .create_client(request.into_new_client()?, actor, now)
                .await?;
            print_json(&CreatedClientView::new(&client, &secret))
        }
        ClientCommand::List => {
            let clients = registry.clients().await?;
            print_json(&clients.iter().map(ClientView::from).collect::<Vec<_>>())
        }
        ClientCommand::Show { client_id } => {
            print_json(&ClientView::from(&registry.client(&client_id).await?))
        }
        ClientCommand::Suspend { client_id } => {
            set_status(state, &client_id, "suspended", actor).await
        }
        ClientCommand::Activate { client_id } => {
            set_status(state, &client_id, "active", actor).await
        }
        ClientCommand::Keys(keys) => {
            let jwks = keys.jwks_file.as_deref().map(read_jwks).transpose()?;
            let (jwks, jwks_uri) = match (jwks, keys.jwks_uri, keys.no_keys) {
                (_, _, true) => (Some(None), Some(None)),
                (Some(jwks), _, _) => (Some(Some(jwks)), Some(None)),
                (None, Some(uri), _) => (Some(None), Some(Some(uri))),
                (None, None, false) => (None, None),
            };
            let change = UpdateClientRequest {
                jwks,
                jwks_uri,
                require_dpop: keys.require_dpop,
                ..Default::default()
            }
            .into_update()?;
            let client = registry
                .update_client(&keys.client_id, change, actor, now)
                .await?;
            print_json(&ClientView::from(&client))
        }
        ClientCommand::Quota(quota) => {
            let change = UpdateClientRequest {
                quota: Some(Some(Quota {
                    per_minute: quota.per_minute,
                    per_day: quota.per_day,
                })),
                ..Default::default()
            }
            .into_update()?;
            let client = registry
                .update_client(&quota.client_id, change, actor, now)
                .await?;
            print_json(&ClientView::from(&client))
        }
    }
}

/// Runs a `secret` subcommand.
pub async fn run_secret(
    command: SecretCommand,
    state: &AppState,
    actor: &Actor,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let registry = &state.registry;
    match command {
        SecretCommand::Add {
            client_id,
            expires_at,
        } => {
            let secret = registry
                .add_secret(&client_id, expires_at, actor, now)
                .await?;
            print_json(&IssuedSecretView::from(&secret))
        }
        SecretCommand::Revoke {
            client_id,
            secret_id,
        } => {
            registry
                .revoke_secret(&client_id, &secret_id, actor, now)
                .await?;
            say(format_args!("secret {secret_id} revoked"))
        }
        SecretCommand::List { client_id } => {
            let secrets = registry.secrets(&client_id).await?;
            print_json(&secrets.iter().map(SecretView::from).collect::<Vec<_>>())
        }
    }
}

/// Runs a `keys` subcommand.
pub async fn run_keys(command: KeysCommand, state: &AppState, actor: &Actor) -> anyhow::Result<()> {
    let now = state.clock.now();
    match command {
        KeysCommand::Revoke { kid } => match state.signer.revoke_key(&kid, actor, now).await? {
            Some(_) => say(format_args!("signing key {kid} revoked")),
            None => anyhow::bail!("signing key not found"),
        },
        KeysCommand::List => {
            let keys = state.signer.keys().await?;
            print_json(&keys.iter().map(KeyView::from).collect::<Vec<_>>())
        }
        KeysCommand::Rotate { algorithm } => {
            let rotated = state.signer.rotate_some(algorithm, actor, now).await?;
            print_json(
                &rotated
                    .into_iter()
                    .map(RotatedKey::from)
                    .collect::<Vec<_>>(),
            )
        }
    }
}

async fn set_status(
    state: &AppState,
    client_id: &str,
    status: &str,
    actor: &Actor,
) -> anyhow::Result<()> {
    let change = UpdateClientRequest {
        status: Some(status.to_owned()),
        ..Default::default()
    }
    .into_update()?;
    let client = state
        .registry
        .update_client(client_id, change, actor, state.clock.now())
        .await?;
    print_json(&ClientView::from(&client))
}

/// A JWK Set read from a file (checked by the registry like one sent to the admin API).
fn read_jwks(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the JWK Set {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}
