//! `tokenmint service-account ...`: service-account configs (scheme E) through the same registry
//! functions as the admin API, printed in its JSON; and `assertion`, which signs a ready
//! assertion for `POST /v0/sign_in/token` with a service account's private key.

mod assertion;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::print_json;
use crate::admin::service_accounts::views::{
    CertificateView, CreateServiceAccountRequest, ServiceAccountView,
};
use crate::audit::Actor;
use crate::schemes::sign_in::TOKEN_PATH;
use crate::state::AppState;

/// Service-account subcommands.
#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Register a service account for a client.
    Create(CreateServiceAccount),
    /// List service accounts.
    List,
    /// Show one service account.
    Show {
        /// The service-account id.
        service_account_id: String,
    },
    /// Delete a service account; its assertions are refused at once.
    Delete {
        /// The service-account id.
        service_account_id: String,
    },
    /// Add a certificate (rotation: the others keep working).
    AddCertificate {
        /// The service-account id.
        service_account_id: String,
        /// The certificate, PEM.
        #[arg(long)]
        certificate_file: PathBuf,
    },
    /// Print a freshly signed RS256 assertion for POST /v0/sign_in/token.
    Assertion(assertion::AssertionArgs),
}

/// Options of `service-account create`.
#[derive(Debug, Args)]
pub struct CreateServiceAccount {
    /// The owning client.
    #[arg(long)]
    client_id: String,
    /// A chosen id; generated (32 hex characters) when absent.
    #[arg(long = "id")]
    id: Option<String>,
    /// What it is for.
    #[arg(long, default_value = "")]
    description: String,
    /// A scope its assertions may ask for (repeat).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// The `aud` of its access tokens.
    #[arg(long)]
    audience: String,
    /// Access-token lifetime, seconds: 300 or 1800.
    #[arg(long, default_value_t = 300)]
    duration: i64,
    /// A user attribute its assertions may carry: icn, type, credential_id, participant_id (repeat).
    #[arg(long = "attribute")]
    attributes: Vec<String>,
    /// A certificate, PEM (repeat).
    #[arg(long = "certificate-file")]
    certificate_files: Vec<PathBuf>,
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Runs a service-account subcommand.
pub async fn run(
    command: ServiceAccountCommand,
    state: &AppState,
    actor: &Actor,
) -> anyhow::Result<()> {
    let registry = &state.registry;
    let now = state.clock.now();
    match command {
        ServiceAccountCommand::Create(c) => {
            let request = CreateServiceAccountRequest {
                client_id: c.client_id,
                service_account_id: c.id,
                description: c.description,
                scopes: c.scopes,
                access_token_audience: c.audience,
                access_token_duration: Some(c.duration),
                access_token_user_attributes: c.attributes,
                certificates: c
                    .certificate_files
                    .iter()
                    .map(|p| read_text(p))
                    .collect::<anyhow::Result<_>>()?,
            };
            let account = registry
                .create_service_account(request.into(), actor, now)
                .await?;
            print_json(&ServiceAccountView::from(&account))
        }
        ServiceAccountCommand::List => {
            let accounts = registry.service_accounts().await?;
            print_json(
                &accounts
                    .iter()
                    .map(ServiceAccountView::from)
                    .collect::<Vec<_>>(),
            )
        }
        ServiceAccountCommand::Show { service_account_id } => {
            let account = registry.service_account(&service_account_id).await?;
            print_json(&ServiceAccountView::from(&account))
        }
        ServiceAccountCommand::Delete { service_account_id } => {
            registry
                .delete_service_account(&service_account_id, actor, now)
                .await?;
            super::say(format_args!("service account {service_account_id} deleted"))
        }
        ServiceAccountCommand::AddCertificate {
            service_account_id,
            certificate_file,
        } => {
            let pem = read_text(&certificate_file)?;
            let certificate = registry
                .add_service_account_certificate(&service_account_id, &pem, actor, now)
                .await?;
            print_json(&CertificateView::from(&certificate))
        }
        ServiceAccountCommand::Assertion(args) => {
            let audience = state.settings.public_url_for(TOKEN_PATH);
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            assertion::write_all(&args, &audience, now, &mut out)
        }
    }
}
