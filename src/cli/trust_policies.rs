//! `tokenmint trust-policy ...`: the trust policies of token exchange (CONTRACT F) through the
//! same registry functions as the admin API, printed in its JSON.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};

use super::print_json;
use crate::admin::trust_policies::{
    CreateTrustPolicyRequest, TrustPolicyView, UpdateTrustPolicyRequest,
};
use crate::audit::Actor;
use crate::state::AppState;

/// Trust-policy subcommands.
#[derive(Debug, Subcommand)]
pub enum TrustPolicyCommand {
    /// Register a trust policy: tokens of an outside issuer exchanged for a client's.
    Create(CreateTrustPolicy),
    /// List trust policies.
    List,
    /// Show one trust policy.
    Show {
        /// The policy id.
        id: String,
    },
    /// Change a trust policy's subject, claims, scopes or lifetime.
    Update(UpdateTrustPolicy),
    /// Delete a trust policy: no token is exchanged under it from now on.
    Delete {
        /// The policy id.
        id: String,
    },
}

/// Options of `trust-policy create`.
#[derive(Debug, Args)]
pub struct CreateTrustPolicy {
    /// The client its tokens are issued to.
    #[arg(long)]
    client_id: String,
    /// The outside issuer, exactly as its tokens' `iss`.
    #[arg(long)]
    issuer: String,
    /// Where the issuer's keys are (default: from its discovery document).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// What the outside token's `aud` must contain.
    #[arg(long)]
    audience: String,
    /// What its `sub` must match (`*` matches any run of characters).
    #[arg(long)]
    subject: String,
    /// A claim it must carry, as NAME=VALUE or NAME=PATTERN (repeat).
    #[arg(long = "claim", value_parser = claim)]
    claims: Vec<(String, String)>,
    /// A scope its tokens may carry (repeat; within the client's allowed scopes).
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
    /// Longest lifetime of its tokens, minutes.
    #[arg(long)]
    max_ttl_minutes: i64,
}

/// Options of `trust-policy update`.
#[derive(Debug, Args)]
pub struct UpdateTrustPolicy {
    /// The policy id.
    id: String,
    /// New subject pattern.
    #[arg(long)]
    subject: Option<String>,
    /// New claim conditions, replacing the old ones (repeat).
    #[arg(long = "claim", value_parser = claim)]
    claims: Vec<(String, String)>,
    /// New scopes, replacing the old ones (repeat).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// New longest lifetime, minutes.
    #[arg(long)]
    max_ttl_minutes: Option<i64>,
}

/// `NAME=VALUE`.
fn claim(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{raw:?} is not NAME=VALUE"))
}

/// Runs a trust-policy subcommand.
pub async fn run(
    command: TrustPolicyCommand,
    state: &AppState,
    actor: &Actor,
) -> anyhow::Result<()> {
    let registry = &state.registry;
    let now = state.clock.now();
    match command {
        TrustPolicyCommand::Create(c) => {
            let request = CreateTrustPolicyRequest {
                client_id: c.client_id,
                issuer: c.issuer,
                jwks_uri: c.jwks_uri,
                audience: c.audience,
                subject: c.subject,
                claims: c.claims.into_iter().collect(),
                scopes: c.scopes,
                max_ttl_minutes: c.max_ttl_minutes,
            };
            let policy = registry
                .create_trust_policy(request.into(), actor, now)
                .await?;
            print_json(&TrustPolicyView::from(&policy))
        }
        TrustPolicyCommand::List => {
            let policies = registry.trust_policies().await?;
            print_json(
                &policies
                    .iter()
                    .map(TrustPolicyView::from)
                    .collect::<Vec<_>>(),
            )
        }
        TrustPolicyCommand::Show { id } => {
            print_json(&TrustPolicyView::from(&registry.trust_policy(&id).await?))
        }
        TrustPolicyCommand::Update(u) => {
            let request = UpdateTrustPolicyRequest {
                subject: u.subject,
                claims: (!u.claims.is_empty())
                    .then(|| u.claims.into_iter().collect::<BTreeMap<_, _>>()),
                scopes: (!u.scopes.is_empty()).then_some(u.scopes),
                max_ttl_minutes: u.max_ttl_minutes,
                ..UpdateTrustPolicyRequest::default()
            };
            let policy = registry
                .update_trust_policy(&u.id, request.into(), actor, now)
                .await?;
            print_json(&TrustPolicyView::from(&policy))
        }
        TrustPolicyCommand::Delete { id } => {
            registry.delete_trust_policy(&id, actor, now).await?;
            super::say(format_args!("trust policy {id} deleted"))
        }
    }
}
