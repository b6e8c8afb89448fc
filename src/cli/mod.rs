//! The subcommands of the `tokenmint` binary. Bootstrap and operations mirror the admin API and
//! call the same registry and signing functions; output is the admin API's JSON.

mod access;
mod administrators;
mod api_keys;
mod clients;
mod master_key;
mod reporting;
mod service_accounts;
mod trust_policies;

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::audit::Actor;
use crate::clock::SystemClock;
use crate::config::{Mode, Settings};
use crate::db::Database;
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
    Migrate {
        /// Also apply the contract migrations (PostgreSQL): only once every instance runs this
        /// release, since an instance of an earlier one fails its single-use claims afterwards
        /// (docs/operations.md, "Upgrading"). A new database gets them at once.
        #[arg(long)]
        contract: bool,
    },
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
    Client(clients::ClientCommand),
    /// Manage client secrets.
    #[command(subcommand)]
    Secret(clients::SecretCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(clients::KeysCommand),
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

/// Runs a command with loaded settings.
pub async fn run(command: Command, mut settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate { contract } => {
            let db = Database::connect(&settings.database).await?;
            db.migrate_for_tokens_up_to(settings.signing.max_ttl_cap_minutes)
                .await?;
            if contract {
                db.contract().await?;
            }
            if db.is_contracted().await? {
                say("migrations applied")
            } else {
                say("migrations applied; contract migrations pending: run \
                     `tokenmint migrate --contract` once every instance runs this release")
            }
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
    // Every change is recorded in the audit trail under the operating-system user running it.
    let actor = Actor::command_line(crate::config::os_user());
    match command {
        Command::Client(command) => clients::run_client(command, state, &actor).await,
        Command::Secret(command) => clients::run_secret(command, state, &actor).await,
        Command::Keys(command) => clients::run_keys(command, state, &actor).await,
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
        | Command::Migrate { .. }
        | Command::Openapi { .. }
        | Command::Healthcheck { .. }
        | Command::MasterKey(_) => Ok(()),
    }
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
