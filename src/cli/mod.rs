//! The subcommands of the `tokenmint` binary. Bootstrap and operations mirror the admin API and
//! call the same registry and signing functions; output is the admin API's JSON.

mod access;
mod administrators;
mod api_keys;
mod master_key;
mod reporting;
mod service_accounts;
mod trust_policies;

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::admin::views::{
    ClientView, CreateClientRequest, CreatedClientView, IssuedSecretView, KeyView, RotatedKey,
    UpdateClientRequest,
};
use crate::audit::Actor;
use crate::clock::SystemClock;
use crate::config::{Mode, Settings};
use crate::db::Database;
use crate::domain::Algorithm;
use crate::state::AppState;

/// tokenmint: signed JWT access tokens for third-party backends.
#[derive(Debug, Parser)]
#[command(name = "tokenmint", version, about)]
pub struct Cli {
    /// What to do; `serve` when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document the service serves.
    Openapi {
        /// The mode whose routes to describe.
        #[arg(long, default_value = "sandbox")]
        mode: String,
    },
    /// Exit 0 if the local service answers /healthz (for container health checks).
    Healthcheck {
        /// The URL to probe.
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage client secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(api_keys::ApiKeyCommand),
    /// Manage service-account configs.
    #[command(subcommand)]
    ServiceAccount(service_accounts::ServiceAccountCommand),
    /// Manage trust policies (token exchange at /oauth/token).
    #[command(subcommand)]
    TrustPolicy(trust_policies::TrustPolicyCommand),
    /// Manage API groups (scope bundles of JWT credentials).
    #[command(subcommand)]
    ApiGroup(access::ApiGroupCommand),
    /// List and decide clients' access requests to API groups.
    #[command(subcommand)]
    AccessRequest(access::AccessRequestCommand),
    /// Manage administrators (the bootstrap one is TOKENMINT_ADMIN_TOKEN).
    #[command(subcommand)]
    Admin(administrators::AdminCommand),
    /// Read the audit trail: who changed what.
    #[command(subcommand)]
    Audit(administrators::AuditCommand),
    /// Report issued tokens from the issuance record.
    #[command(subcommand)]
    Issuances(reporting::IssuancesCommand),
    /// Prune rows long past their expiry (what `serve` does every `[retention]` interval).
    #[command(subcommand)]
    Retention(reporting::RetentionCommand),
    /// Generate a master key, or re-seal what is stored under a new one (master-key rotation).
    #[command(subcommand)]
    MasterKey(master_key::MasterKeyCommand),
}

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

/// Runs a command with loaded settings.
pub async fn run(command: Command, mut settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let db = Database::connect(&settings.database).await?;
            db.migrate().await?;
            say("migrations applied")
        }
        Command::Openapi { mode } => {
            let mode = if mode == "production" {
                Mode::Production
            } else {
                Mode::Sandbox
            };
            say(crate::app::openapi_json(mode).trim_end())
        }
        Command::Healthcheck { url } => healthcheck(&url).await,
        Command::MasterKey(command) => master_key::run(command, settings).await,
        other => {
            crate::sandbox::prepare_secrets(&mut settings)?;
            let state = AppState::build(settings, Arc::new(SystemClock)).await?;
            manage(other, &state).await
        }
    }
}

async fn serve(mut settings: Settings) -> anyhow::Result<()> {
    let secrets = crate::sandbox::prepare_secrets(&mut settings)?;
    secrets.warn();
    let listen = settings.http.listen;
    let state = AppState::build(settings, Arc::new(SystemClock)).await?;
    let banner = crate::sandbox::ensure_demo(&state, &secrets).await?;
    let shutdown = shutdown_signal()?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let public = &state.settings.http.public_url;
    tracing::info!(address = %listen, mode = state.settings.mode.as_str(), "tokenmint listening");
    // A closed standard output must not stop the service: the banner is a courtesy.
    let _ = say(format_args!(
        "{}  tokenmint is up: {public}  (Swagger UI: {public}/swagger-ui)",
        banner.unwrap_or_default()
    ));
    crate::serve(listener, state, shutdown).await?;
    tracing::info!("tokenmint stopped");
    Ok(())
}

/// A future completing on SIGTERM or Ctrl-C. The handlers are installed now, before the
/// service says it is up, so a signal sent right after that is never fatal.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("installing the SIGINT handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
}

async fn healthcheck(url: &str) -> anyhow::Result<()> {
    let uri: axum::http::Uri = url.parse().context("healthcheck URL")?;
    let host = uri.host().context("healthcheck URL needs a host")?;
    let port = uri.port_u16().unwrap_or(80);
    let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        uri.path()
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut response).await?;
    let status_ok = response.starts_with(b"HTTP/1.1 200");
    anyhow::ensure!(status_ok, "unhealthy");
    Ok(())
}

async fn manage(command: Command, state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now();
    // Every change is recorded in the audit trail under the operating-system user running it.
    let actor = Actor::command_line(crate::config::os_user());
    let registry = &state.registry;
    match command {
        Command::Client(ClientCommand::Create(c)) => {
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
            };
            let (client, secret) = registry
                .create_client(request.into_new_client()?, &actor, now)
                .await?;
            print_json(&CreatedClientView::new(&client, &secret))
        }
        Command::Client(ClientCommand::List) => {
            let clients = registry.clients().await?;
            print_json(&clients.iter().map(ClientView::from).collect::<Vec<_>>())
        }
        Command::Client(ClientCommand::Show { client_id }) => {
            print_json(&ClientView::from(&registry.client(&client_id).await?))
        }
        Command::Client(ClientCommand::Suspend { client_id }) => {
            set_status(state, &client_id, "suspended", &actor).await
        }
        Command::Client(ClientCommand::Activate { client_id }) => {
            set_status(state, &client_id, "active", &actor).await
        }
        Command::Client(ClientCommand::Keys(keys)) => {
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
                .update_client(&keys.client_id, change, &actor, now)
                .await?;
            print_json(&ClientView::from(&client))
        }
        Command::Secret(SecretCommand::Add {
            client_id,
            expires_at,
        }) => {
            let secret = registry
                .add_secret(&client_id, expires_at, &actor, now)
                .await?;
            print_json(&IssuedSecretView::from(&secret))
        }
        Command::Secret(SecretCommand::Revoke {
            client_id,
            secret_id,
        }) => {
            registry
                .revoke_secret(&client_id, &secret_id, &actor, now)
                .await?;
            say(format_args!("secret {secret_id} revoked"))
        }
        Command::Keys(KeysCommand::Revoke { kid }) => {
            match state.signer.revoke_key(&kid, &actor, now).await? {
                Some(_) => say(format_args!("signing key {kid} revoked")),
                None => anyhow::bail!("signing key not found"),
            }
        }
        Command::Keys(KeysCommand::List) => {
            let keys = state.signer.keys().await?;
            print_json(&keys.iter().map(KeyView::from).collect::<Vec<_>>())
        }
        Command::Keys(KeysCommand::Rotate { algorithm }) => {
            let rotated = state.signer.rotate_some(algorithm, &actor, now).await?;
            print_json(
                &rotated
                    .into_iter()
                    .map(RotatedKey::from)
                    .collect::<Vec<_>>(),
            )
        }
        Command::ApiKey(command) => api_keys::run(command, state, &actor).await,
        Command::ServiceAccount(command) => service_accounts::run(command, state, &actor).await,
        Command::TrustPolicy(command) => trust_policies::run(command, state, &actor).await,
        Command::ApiGroup(command) => access::run_api_group(command, state, &actor).await,
        Command::AccessRequest(command) => access::run_access_request(command, state, &actor).await,
        Command::Admin(command) => administrators::run_admin(command, state, &actor).await,
        Command::Audit(command) => administrators::run_audit(command, state).await,
        Command::Issuances(command) => reporting::run_issuances(command, state).await,
        Command::Retention(command) => reporting::run_retention(command, state).await,
        Command::Serve
        | Command::Migrate
        | Command::Openapi { .. }
        | Command::Healthcheck { .. }
        | Command::MasterKey(_) => Ok(()),
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

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    say(serde_json::to_string_pretty(value)?)
}

/// Writes one line of a command's output to standard output. A write error (a closed pipe
/// among them) is returned, never a panic as `println!` would; see [`is_closed_pipe`].
pub(crate) fn say(line: impl std::fmt::Display) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Whether a command failed only because its reader closed standard output (`| head`), which
/// ends the command quietly rather than as an error.
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
