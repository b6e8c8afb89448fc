//! Development conveniences of sandbox mode, so `cargo run` works on a fresh clone.
//!
//! When no master key or admin token is configured, sandbox mode generates them once and keeps
//! them in files under `[sandbox].data_dir` (mode 0600), warning loudly: they are development
//! secrets. On first start it also registers the demo client and prints its secret, once.
//! Production mode never comes here.

mod api_key;
mod service_account;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::audit::Actor;
use crate::config::{Mode, Settings};
use crate::domain::{Algorithm, ClientId, ClientPolicy};
use crate::registry::{ClientKeys, NewClient, RegistryError};
use crate::signing::MasterKey;
use crate::state::AppState;

/// The demo client's fixed id.
pub const DEMO_CLIENT_ID: &str = "demo";
/// The demo client's registered phone number.
pub const DEMO_PHONE: &str = "+380501234567";

/// Where sandbox mode keeps the development secrets it filled in, for `serve` to say once.
#[derive(Debug, Default)]
pub struct DevelopmentSecrets {
    /// The generated master key's file, when none was configured.
    pub master_key: Option<PathBuf>,
    /// The generated admin token's file, when none was configured.
    pub admin_token: Option<PathBuf>,
}

impl DevelopmentSecrets {
    /// Logs, once, that development secrets are in use and where; nothing when none is.
    pub fn warn(&self) {
        let files: Vec<String> = [&self.master_key, &self.admin_token]
            .into_iter()
            .flatten()
            .map(|path| path.display().to_string())
            .collect();
        if !files.is_empty() {
            tracing::warn!(
                files = files.join(", "),
                "SANDBOX: development secrets stored in clear on disk; set \
                 TOKENMINT_MASTER_KEY and TOKENMINT_ADMIN_TOKEN for anything real"
            );
        }
    }
}

/// Fills in a missing master key and admin token from (or into) the sandbox data folder, and
/// says which it filled in. Quiet: only `serve` tells the operator (see
/// [`DevelopmentSecrets::warn`]), so management commands print nothing but their output.
pub fn prepare_secrets(settings: &mut Settings) -> anyhow::Result<DevelopmentSecrets> {
    let mut filled = DevelopmentSecrets::default();
    if settings.mode != Mode::Sandbox {
        return Ok(filled);
    }
    let dir = settings.sandbox.data_dir.clone();
    if settings.signing.master_key.expose_secret().is_empty() {
        let path = dir.join("master.key");
        let key = read_or_create(&path, || Ok(MasterKey::generate_base64()?.to_string()))?;
        settings.signing.master_key = key.into();
        filled.master_key = Some(path);
    }
    if !settings.admin.is_configured() {
        let path = dir.join("admin.token");
        let token = read_or_create(&path, || {
            Ok(crate::registry::secret::generate_secret()
                .expose_secret()
                .to_owned())
        })?;
        settings.admin.token = token.into();
        filled.admin_token = Some(path);
    }
    Ok(filled)
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
            quota: Default::default(),
        },
        phones: vec![DEMO_PHONE.into()],
        email: Some("demo@example.com".into()),
        keys: ClientKeys::default(),
    }
}

/// Registers the demo client on first start, with its API key and service account, writes their
/// credentials to `<data_dir>/demo.env` in one go, and returns the banner `serve` prints: the
/// whole set of credentials on first start (to the console, never to the log), and on later
/// starts where they are kept. `None` outside sandbox mode or with the demo turned off.
pub async fn ensure_demo(
    state: &AppState,
    secrets: &DevelopmentSecrets,
) -> anyhow::Result<Option<String>> {
    let settings = &state.settings;
    if settings.mode != Mode::Sandbox || !settings.sandbox.demo {
        return Ok(None);
    }
    let env_path = settings.sandbox.data_dir.join("demo.env");
    let admin = secrets
        .admin_token
        .as_ref()
        .map(|path| format!("; the admin token is in {}", path.display()))
        .unwrap_or_default();
    match state.registry.client(DEMO_CLIENT_ID).await {
        Ok(_) => {
            return Ok(Some(format!(
                "  Demo credentials: load them with `. {}`{admin}\n",
                env_path.display()
            )))
        }
        Err(RegistryError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let (client, secret) = match state
        .registry
        .create_client(demo_client(), &Actor::Service("sandbox"), state.clock.now())
        .await
    {
        Ok(created) => created,
        // Another instance created it first, and printed its credentials.
        Err(RegistryError::Invalid { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let api_key = api_key::ensure(state, &client).await?;
    let account = service_account::ensure(state, &client).await?;
    let credentials = [
        ("TOKENMINT_URL", settings.http.public_url.as_str()),
        ("CLIENT_ID", client.id.as_str()),
        ("CLIENT_SECRET", secret.secret.expose_secret()),
        ("API_KEY", api_key.expose_secret()),
        ("SERVICE_ACCOUNT_ID", account.id.as_str()),
    ];
    let mut env = String::from("# tokenmint sandbox demo credentials (development only)\n");
    let mut banner = format!(
        "\n  Demo client created. Its credentials are shown this once and kept in {}:\n",
        env_path.display()
    );
    for (name, value) in credentials {
        env.push_str(&format!("{name}={value}\n"));
        banner.push_str(&format!("    {name}={value}\n"));
    }
    write_private(&env_path, &env)?;
    banner.push_str(&format!(
        "  Load them in a shell with `. {}`{admin}.\n  \
         A service-account assertion exchanged for a token: bash {}\n",
        env_path.display(),
        account.script.display()
    ));
    Ok(Some(banner))
}
