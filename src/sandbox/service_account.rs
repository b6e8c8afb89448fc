//! The sandbox demo's service account (scheme E), created with the demo client on first start.
//!
//! It generates an RSA-2048 key and a self-signed certificate for it, registers the certificate
//! in a service-account config of the demo client, and leaves in `[sandbox].data_dir` the private
//! key (mode 0600), the certificate, and `demo-assertion.sh`, which signs an assertion with
//! `tokenmint service-account assertion` and exchanges it with curl. Development only.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, Utc};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, RsaKeySize, PKCS_RSA_SHA256};
use zeroize::Zeroizing;

use super::write_private;
use crate::audit::Actor;
use crate::registry::service_accounts::NewServiceAccount;
use crate::registry::Client;
use crate::schemes::sign_in::TOKEN_PATH;
use crate::state::AppState;

/// The demo service account's scope (one of the demo client's allowed scopes).
pub const DEMO_SCOPE: &str = "programs:read";
/// The subject the demo script asks a token for.
pub const DEMO_SUBJECT: &str = "demo-user@example.com";
/// The demo script's `icn` user attribute (the Sign-in Service document's example).
pub const DEMO_ICN: &str = "1012667122V019349";

/// The demo service account, as the start-up banner names it.
pub struct DemoServiceAccount {
    /// Its `service_account_id`.
    pub id: String,
    /// The script that signs an assertion and exchanges it.
    pub script: PathBuf,
}

/// Creates the demo service account for the demo client, with its key, certificate and script
/// in the data folder.
pub async fn ensure(state: &AppState, client: &Client) -> anyhow::Result<DemoServiceAccount> {
    let settings = &state.settings;
    let dir = &settings.sandbox.data_dir;
    let now = state.clock.now();
    let (key_pem, certificate_pem) = demo_certificate(now)?;
    let account = state
        .registry
        .create_service_account(
            NewServiceAccount {
                id: None,
                client_id: client.id.to_string(),
                description: "Sandbox demo service account".into(),
                scopes: vec![DEMO_SCOPE.into()],
                access_token_audience: settings.public_url_for("/v1/me"),
                access_token_duration_seconds: 300,
                access_token_user_attributes: vec!["icn".into()],
                certificates: vec![certificate_pem.clone()],
            },
            &Actor::Service("sandbox"),
            now,
        )
        .await?;
    write_private(&dir.join("demo-service-account.key"), &key_pem)?;
    write_private(&dir.join("demo-service-account.crt"), &certificate_pem)?;
    let script = dir.join("demo-assertion.sh");
    write_private(&script, &demo_script(dir)?)?;
    Ok(DemoServiceAccount {
        id: account.id,
        script,
    })
}

/// A fresh RSA-2048 key (PKCS#8 PEM) and a self-signed certificate for it (PEM), valid from a
/// day ago for ten years.
fn demo_certificate(now: DateTime<Utc>) -> anyhow::Result<(Zeroizing<String>, String)> {
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
        .context("generating the demo service account's RSA key")?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "tokenmint sandbox demo service account");
    params.distinguished_name = name;
    let day = |t: DateTime<Utc>| {
        rcgen::date_time_ymd(
            t.year(),
            u8::try_from(t.month()).unwrap_or(1),
            u8::try_from(t.day()).unwrap_or(1),
        )
    };
    params.not_before = day(now - Duration::days(1));
    params.not_after = day(now + Duration::days(3650));
    let certificate = params
        .self_signed(&key)
        .context("self-signing the demo certificate")?;
    Ok((Zeroizing::new(key.serialize_pem()), certificate.pem()))
}

/// The demo script: absolute paths (it may be run from anywhere), the repository root as the
/// working folder (so `cargo run` finds the project and the default SQLite database).
fn demo_script(dir: &Path) -> anyhow::Result<String> {
    let root = std::env::current_dir().context("reading the working folder")?;
    let data = std::path::absolute(dir).context("resolving the sandbox data folder")?;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    Ok(format!(
        r#"#!/usr/bin/env bash
# tokenmint sandbox demo (development only): sign a service-account assertion with the demo key
# and exchange it for an access token at POST {TOKEN_PATH} (RFC 7523 jwt-bearer grant).
set -euo pipefail
cd {root}
. {env}
ASSERTION=$(RUST_LOG=error cargo run -q -- service-account assertion \
  --service-account-id "$SERVICE_ACCOUNT_ID" \
  --key-file {key} \
  --sub {DEMO_SUBJECT} --scope {DEMO_SCOPE} --user-attribute icn={DEMO_ICN} \
  --audience "$TOKENMINT_URL{TOKEN_PATH}")
curl -sS -X POST "$TOKENMINT_URL{TOKEN_PATH}" \
  --data-urlencode 'grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer' \
  --data-urlencode "assertion=$ASSERTION"
echo
"#,
        root = quote(&root),
        env = quote(&data.join("demo.env")),
        key = quote(&data.join("demo-service-account.key")),
    ))
}
