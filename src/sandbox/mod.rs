//! Development conveniences of sandbox mode, so `cargo run` works on a fresh clone.
//!
//! When no master key or admin token is configured, sandbox mode generates them once and keeps
//! them in files under `[sandbox].data_dir` (mode 0600), warning loudly: they are development
//! secrets. On first start it also registers the demo client and prints its secret, once.
//! Production mode never comes here.

mod api_key;
mod service_account;

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::config::{Mode, Settings};
use crate::domain::{Algorithm, ClientId, ClientPolicy};
use crate::registry::{ClientKeys, NewClient, RegistryError};
use crate::signing::MasterKey;
use crate::state::AppState;

/// The demo client's fixed id.
pub const DEMO_CLIENT_ID: &str = "demo";
/// The demo client's registered phone number.
pub const DEMO_PHONE: &str = "+380501234567";

/// Fills in a missing master key and admin token from (or into) the sandbox data folder.
pub fn prepare_secrets(settings: &mut Settings) -> anyhow::Result<()> {
    if settings.mode != Mode::Sandbox {
        return Ok(());
    }
    let dir = settings.sandbox.data_dir.clone();
    if settings.signing.master_key.expose_secret().is_empty() {
        let path = dir.join("master.key");
        let key = read_or_create(&path, || Ok(MasterKey::generate_base64()?.to_string()))?;
        tracing::warn!(
            path = %path.display(),
            "SANDBOX: using a development master key stored in clear on disk; \
             set TOKENMINT_MASTER_KEY for anything real"
        );
        settings.signing.master_key = key.into();
    }
    if !settings.admin.is_configured() {
        let path = dir.join("admin.token");
        let token = read_or_create(&path, || {
            Ok(crate::registry::secret::generate_secret()
                .expose_secret()
                .to_owned())
        })?;
        tracing::warn!(
            path = %path.display(),
            "SANDBOX: the admin API token is in this file; set TOKENMINT_ADMIN_TOKEN for anything real"
        );
        settings.admin.token = token.into();
    }
    Ok(())
}

fn read_or_create(
    path: &Path,
    make: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_owned());
    }
    let value = make()?;
    write_private(path, &format!("{value}\n"))?;
    Ok(value)
}

/// Writes a file readable only by its owner, creating its folder.
pub fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

/// The demo client's policy: the scopes and states of the documents' examples.
fn demo_client() -> NewClient {
    NewClient {
        id: ClientId::parse(DEMO_CLIENT_ID),
        name: "Demo client".into(),
        policy: ClientPolicy {
            allowed_scopes: [
                "programs:read",
                "schools:read",
                "occupations:read",
                "industry:read",
                "abilityexplorer:read",
            ]
            .map(String::from)
            .to_vec(),
            default_scopes: vec!["programs:read".into(), "schools:read".into()],
            allowed_states: vec!["IC".into(), "OH".into()],
            default_state: Some("IC".into()),
            max_ttl_minutes: 120,
            algorithm: Algorithm::ES256,
        },
        phones: vec![DEMO_PHONE.into()],
        email: Some("demo@example.com".into()),
        keys: ClientKeys::default(),
    }
}

/// Registers the demo client on first start and prints its credentials once (to the console,
/// never to the log), also writing them to `<data_dir>/demo.env` for the README's examples.
pub async fn ensure_demo(state: &AppState) -> anyhow::Result<()> {
    let settings = &state.settings;
    if settings.mode != Mode::Sandbox || !settings.sandbox.demo {
        return Ok(());
    }
    match state.registry.client(DEMO_CLIENT_ID).await {
        Ok(_) => return Ok(()),
        Err(RegistryError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let (client, secret) = match state
        .registry
        .create_client(demo_client(), state.clock.now())
        .await
    {
        Ok(created) => created,
        // Another instance created it first.
        Err(RegistryError::Invalid { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let secret = secret.secret.expose_secret();
    let env_path = settings.sandbox.data_dir.join("demo.env");
    write_private(
        &env_path,
        &format!(
            "# tokenmint sandbox demo credentials (development only)\n\
             TOKENMINT_URL={}\nCLIENT_ID={}\nCLIENT_SECRET={}\n",
            settings.http.public_url, client.id, secret
        ),
    )?;
    println!(
        "\n  Demo client created (shown once; also in {}):\n    client_id:     {}\n    client_secret: {}\n",
        env_path.display(),
        client.id,
        secret
    );
    let mut lines = api_key::ensure(state, &client).await?;
    lines.extend(service_account::ensure(state, &client).await?);
    for line in lines {
        println!("  {line}");
    }
    Ok(())
}
