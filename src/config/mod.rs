//! `Settings`: the whole configuration, loaded once at start-up.
//!
//! Layers, each overriding the one before: `config/default.toml`, `config/<mode>.toml` (from
//! `TOKENMINT_CONFIG_DIR` or `./config`, else the copies compiled into the binary), environment
//! variables `TOKENMINT__<SECTION>__<KEY>`, and last the fixed names of CONTRACT.md. This is the
//! only module that reads environment variables.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::ExposeSecret;
use serde::Deserialize;

mod sections;
pub use sections::{
    AdminSettings, ApiKeySettings, AuthTokenSettings, CacheSettings, DatabaseSettings,
    HttpSettings, LogSettings, MetricsSettings, OAuthSettings, RateLimitSettings,
    RetentionSettings, SandboxSettings, SchemeSettings, SignInSettings, SigningSettings,
    SmtpSettings, SmtpTls, WebSettings,
};

const EMBEDDED_DEFAULT: &str = include_str!("../../config/default.toml");
const EMBEDDED_SANDBOX: &str = include_str!("../../config/sandbox.toml");
const EMBEDDED_PRODUCTION: &str = include_str!("../../config/production.toml");

/// How the service runs: with developer conveniences, or locked down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Demo data, sandbox-only routes, dev keys generated when absent.
    Sandbox,
    /// Every secret must be configured; no sandbox routes.
    Production,
}

impl Mode {
    fn parse(raw: &str) -> anyhow::Result<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Self::Sandbox),
            "production" => Ok(Self::Production),
            other => bail!("TOKENMINT_MODE must be sandbox or production, not {other:?}"),
        }
    }

    /// The mode's name, as in `config/<mode>.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Sandbox or production.
    pub mode: Mode,
    /// Listener, public URL, limits.
    pub http: HttpSettings,
    /// Where clients, keys and records live.
    pub database: DatabaseSettings,
    /// Issuer, audience, keys.
    pub signing: SigningSettings,
    /// The admin API's credential.
    pub admin: AdminSettings,
    /// Development conveniences of sandbox mode.
    pub sandbox: SandboxSettings,
    /// Log format and filter.
    pub log: LogSettings,
    /// Settings of individual token schemes.
    pub schemes: SchemeSettings,
    /// Outgoing e-mail (access-request decisions); an empty host sends none.
    pub smtp: SmtpSettings,
    /// In-memory caches.
    pub cache: CacheSettings,
    /// Pruning of issuance records and replay rows long past their expiry.
    pub retention: RetentionSettings,
    /// The Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// The web pages (portal and console).
    pub web: WebSettings,
    /// Budgets of failed authentications per credential identifier and per caller address.
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
}

/// The operating-system user running this process (`USER`, else `LOGNAME`), which the command
/// line's changes are recorded under in the audit trail.
pub fn os_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|user| !user.is_empty()))
}

impl Settings {
    /// Loads the layered configuration from files and the process environment.
    pub fn load() -> anyhow::Result<Self> {
        let dir = std::env::var_os("TOKENMINT_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::from_sources(&dir, &env)
    }

    /// Loads from a config folder and an explicit environment (for tests).
    pub fn from_sources(dir: &Path, env: &[(String, String)]) -> anyhow::Result<Self> {
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let base = layer(Figment::new(), dir, "default", EMBEDDED_DEFAULT);
        let mode = match var("TOKENMINT_MODE") {
            Some(raw) => Mode::parse(&raw)?,
            None => base
                .extract_inner::<Mode>("mode")
                .context("reading `mode`")?,
        };
        let embedded_mode = match mode {
            Mode::Sandbox => EMBEDDED_SANDBOX,
            Mode::Production => EMBEDDED_PRODUCTION,
        };
        let mut figment = layer(base, dir, mode.as_str(), embedded_mode)
            .merge(Env::prefixed("TOKENMINT__").split("__"));
        // The explicit environment's `TOKENMINT__SECTION__KEY` entries too, parsed as figment
        // parses the process environment, so a caller (a test) can set any key without touching
        // the process environment. `load` passes the process environment, so nothing changes there.
        for (name, value) in env {
            if let Some(path) = name.strip_prefix("TOKENMINT__").filter(|p| !p.is_empty()) {
                let key = path.to_ascii_lowercase().replace("__", ".");
                let value: figment::value::Value = value.parse().unwrap_or_else(|e| match e {});
                figment = figment.merge(Serialized::default(&key, value));
            }
        }
        let mut settings: Settings = figment.extract().context("invalid configuration")?;
        settings.mode = mode;
        if let Some(listen) = var("TOKENMINT_LISTEN") {
            settings.http.listen = listen
                .parse()
                .with_context(|| format!("TOKENMINT_LISTEN {listen:?} is not host:port"))?;
        }
        if let Some(url) = var("DATABASE_URL") {
            settings.database.url = url.into();
        }
        if let Some(url) = var("TOKENMINT_PUBLIC_URL") {
            settings.http.public_url = url;
        }
        if let Some(issuer) = var("TOKENMINT_ISSUER") {
            settings.signing.issuer = issuer;
        }
        if let Some(token) = var("TOKENMINT_ADMIN_TOKEN") {
            settings.admin.token = token.into();
        }
        if let Some(key) = var("TOKENMINT_MASTER_KEY") {
            settings.signing.master_key = key.into();
        }
        if let Some(key) = var("TOKENMINT_MASTER_KEY_PREVIOUS") {
            settings.signing.master_key_previous = key.into();
        }
        settings.fill_derived();
        settings.check()?;
        Ok(settings)
    }

    fn fill_derived(&mut self) {
        if self.http.public_url.is_empty() {
            self.http.public_url = format!("http://{}", self.http.listen);
        }
        self.http.public_url = self.http.public_url.trim_end_matches('/').to_owned();
        if self.signing.issuer.is_empty() {
            self.signing.issuer = self.http.public_url.clone();
        }
        if self.signing.audience.is_empty() {
            self.signing.audience = self.http.public_url.clone();
        }
        self.signing.verify_after_expiry_seconds = self
            .schemes
            .authtoken
            .refresh_window_hours
            .saturating_mul(3600);
    }

    fn check(&self) -> anyhow::Result<()> {
        url::Url::parse(&self.http.public_url)
            .with_context(|| format!("public URL {:?} is not a URL", self.http.public_url))?;
        if self.database.url.expose_secret().is_empty() {
            bail!("no database configured: set DATABASE_URL");
        }
        if self.signing.max_ttl_cap_minutes < 1 {
            bail!("signing.max_ttl_cap_minutes must be at least 1");
        }
        let authtoken = &self.schemes.authtoken;
        if authtoken.token_lifetime_minutes < 1 || authtoken.refresh_window_hours < 0 {
            bail!(
                "schemes.authtoken needs token_lifetime_minutes >= 1 and refresh_window_hours >= 0"
            );
        }
        self.check_retention()?;
        if self.mode == Mode::Production {
            if self.signing.master_key.expose_secret().is_empty() {
                bail!("production mode needs TOKENMINT_MASTER_KEY (base64 of 32 random bytes)");
            }
            if !self.admin.is_configured() {
                bail!("production mode needs TOKENMINT_ADMIN_TOKEN (or admin.token_sha256)");
            }
        }
        Ok(())
    }

    /// The retention margin must cover the longest time an expired token can still be presented
    /// (an AuthToken refresh, up to the refresh window after expiry, plus the leeway): pruning its
    /// record earlier would forget that it was revoked.
    fn check_retention(&self) -> anyhow::Result<()> {
        let retention = &self.retention;
        let needed = self.schemes.authtoken.refresh_window_hours * 3600
            + self.signing.verify_leeway_seconds.max(0);
        if retention.margin_seconds < needed {
            bail!(
                "retention.margin_seconds must be at least {needed} \
                 (schemes.authtoken.refresh_window_hours plus signing.verify_leeway_seconds)"
            );
        }
        if retention.interval_seconds < 1 || !(1..=100_000).contains(&retention.batch_size) {
            bail!("retention needs interval_seconds >= 1 and batch_size between 1 and 100000");
        }
        Ok(())
    }

    /// The full URL of a route under the public base URL.
    pub fn public_url_for(&self, path: &str) -> String {
        format!("{}{path}", self.http.public_url)
    }
}

fn layer(figment: Figment, dir: &Path, name: &str, embedded: &str) -> Figment {
    let path = dir.join(format!("{name}.toml"));
    if path.is_file() {
        figment.merge(Toml::file(path))
    } else {
        figment.merge(Toml::string(embedded))
    }
}

#[cfg(test)]
mod tests;
