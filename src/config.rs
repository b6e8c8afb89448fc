//! `Settings`: the whole configuration, loaded once at start-up.
//!
//! Layers, each overriding the one before: `config/default.toml`, `config/<mode>.toml` (from
//! `TOKENMINT_CONFIG_DIR` or `./config`, else the copies compiled into the binary), environment
//! variables `TOKENMINT__<SECTION>__<KEY>`, and last the fixed names of CONTRACT.md. This is the
//! only module that reads environment variables.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const EMBEDDED_DEFAULT: &str = include_str!("../config/default.toml");
const EMBEDDED_SANDBOX: &str = include_str!("../config/sandbox.toml");
const EMBEDDED_PRODUCTION: &str = include_str!("../config/production.toml");

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
    /// Budgets of failed authentications per credential identifier and per caller address.
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
}

/// `GET /metrics` (Prometheus): counts and latencies only, never a credential or a client id.
#[derive(Clone, Debug, Deserialize)]
pub struct MetricsSettings {
    /// Serve `GET /metrics` (unauthenticated); when false it answers 404.
    pub enabled: bool,
}

/// Brute-force limits: failed authentications allowed per credential identifier and per caller
/// address (GCRA: a sustained rate per minute plus a burst), enforced by each instance alone.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Whether failures are limited at all.
    pub enabled: bool,
    /// Failures per minute one credential identifier earns back once its burst is spent.
    pub identifier_failures_per_minute: NonZeroU32,
    /// Failures one credential identifier may have in a row before it is refused.
    pub identifier_burst: NonZeroU32,
    /// Failures per minute one caller address (an IPv6 /64) earns back.
    pub address_failures_per_minute: NonZeroU32,
    /// Failures one caller address may have in a row before it is refused.
    pub address_burst: NonZeroU32,
    /// Pause between two sweeps that forget identifiers and addresses back at a full budget.
    pub prune_interval_seconds: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            identifier_failures_per_minute: at_least_one(10),
            identifier_burst: at_least_one(20),
            address_failures_per_minute: at_least_one(60),
            address_burst: at_least_one(100),
            prune_interval_seconds: 60,
        }
    }
}

const fn at_least_one(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// The retention job: deletes issuance records, used-assertion rows and AuthToken lineage rows
/// once they are `margin_seconds` past the last moment they can matter.
#[derive(Clone, Debug, Deserialize)]
pub struct RetentionSettings {
    /// Whether `serve` runs the job (`tokenmint retention run` works either way).
    pub enabled: bool,
    /// Pause between two passes of the job.
    pub interval_seconds: u64,
    /// How long past expiry rows are kept; at least the AuthToken refresh window plus the
    /// verification leeway, since a revoked token's record must outlive every chance to use it.
    pub margin_seconds: i64,
    /// Most rows one delete statement removes.
    pub batch_size: u32,
}

/// In-memory caches.
#[derive(Clone, Debug, Deserialize)]
pub struct CacheSettings {
    /// Longest life of a cached verified credential (other instances' revocations reach this one
    /// within this time at the latest).
    pub verified_credentials_ttl_seconds: u64,
    /// Most cached verified credentials per kind.
    pub verified_credentials_capacity: u64,
}

/// Settings of individual token schemes.
#[derive(Clone, Debug, Deserialize)]
pub struct SchemeSettings {
    /// `/clients/authorization` and `/test-api-keys`.
    pub api_key: ApiKeySettings,
    /// `/v0/sign_in/token`.
    pub sign_in: SignInSettings,
    /// `/auth/authtoken` and `/auth/authtoken/refresh`.
    pub authtoken: AuthTokenSettings,
    /// `/oauth/introspect`, `/oauth/revoke` and the RFC 8414 metadata.
    #[serde(default)]
    pub oauth: OAuthSettings,
}

/// Settings of the standard OAuth routes (RFC 7662, RFC 7009, RFC 8414).
#[derive(Clone, Debug, Deserialize)]
pub struct OAuthSettings {
    /// The scope that, among a client's allowed scopes, lets it introspect the tokens of every
    /// client (a resource server's right); empty: each client introspects only its own tokens.
    pub introspection_scope: String,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            introspection_scope: "tokenmint:introspect".to_owned(),
        }
    }
}

/// AuthToken scheme settings (JWT credentials).
#[derive(Clone, Debug, Deserialize)]
pub struct AuthTokenSettings {
    /// Lifetime of an AuthToken, minutes (capped by the client's maximum).
    pub token_lifetime_minutes: i64,
    /// How long after its expiry an AuthToken may still be refreshed, hours.
    pub refresh_window_hours: i64,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a local relay or a test sink only).
    None,
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// The SMTP relay that notification e-mails go through.
#[derive(Clone, Debug, Deserialize)]
pub struct SmtpSettings {
    /// Relay host name; empty disables e-mail.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// The `From` mailbox, e.g. `tokenmint <no-reply@example.com>`.
    pub from: String,
    /// User name for SMTP AUTH; empty sends no credentials.
    pub username: String,
    /// Password for SMTP AUTH.
    pub password: SecretString,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
}

/// API-key scheme settings.
#[derive(Clone, Debug, Deserialize)]
pub struct ApiKeySettings {
    /// Lifetime of a sandbox key from `POST /test-api-keys`, minutes.
    pub test_key_ttl_minutes: i64,
}

/// Service-account scheme settings.
#[derive(Clone, Debug, Deserialize)]
pub struct SignInSettings {
    /// Largest accepted assertion; larger ones are malformed.
    pub max_assertion_bytes: usize,
}

/// The HTTP listener and its limits.
#[derive(Clone, Debug, Deserialize)]
pub struct HttpSettings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Base URL clients use; empty means `http://<listen>`. Filled in by [`Settings::load`].
    pub public_url: String,
    /// Largest accepted request body.
    pub request_body_limit_bytes: usize,
    /// A request taking longer is answered 503.
    pub request_timeout_seconds: u64,
    /// CORS origins; `*` allows any.
    pub cors_allowed_origins: Vec<String>,
}

/// The database connection.
#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://...` or `postgres://...`; may hold a password, so it is never logged.
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a connection before the store counts as down.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL: after this many seconds without a change notification, the listening
    /// connection must answer a ping within as many seconds, or counts as lost (see `sync`).
    pub change_heartbeat_seconds: u64,
}

/// Token issuance settings.
#[derive(Clone, Debug, Deserialize)]
pub struct SigningSettings {
    /// The `iss` claim; empty means the public URL. Filled in by [`Settings::load`].
    pub issuer: String,
    /// The default `aud` claim; empty means the public URL. Filled in by [`Settings::load`].
    pub audience: String,
    /// Upper bound of every client's `max_ttl_minutes`.
    pub max_ttl_cap_minutes: i64,
    /// Interval of each instance's re-read of the key set.
    pub key_reload_seconds: u64,
    /// Accepted clock difference when verifying tokens.
    pub verify_leeway_seconds: i64,
    /// base64 of the 32-byte key that encrypts private signing keys at rest.
    pub master_key: SecretString,
    /// Named scope bundles (`assessment:all`) and the scope patterns each covers.
    pub scope_bundles: std::collections::HashMap<String, Vec<String>>,
    /// Writers of the issuance record and of the used-assertion record committing concurrently
    /// on PostgreSQL (SQLite always uses one).
    pub issuance_writers: usize,
    /// How long after its `exp` a token of ours may still be presented and verified (the
    /// AuthToken refresh window), so a retired key stays published that much longer. Derived
    /// from `[schemes.authtoken] refresh_window_hours`, never read from configuration.
    #[serde(skip)]
    pub verify_after_expiry_seconds: i64,
}

/// The admin API credential: a token in clear or its SHA-256.
#[derive(Clone, Debug, Deserialize)]
pub struct AdminSettings {
    /// The token in clear (from `TOKENMINT_ADMIN_TOKEN` preferably).
    pub token: SecretString,
    /// Hex SHA-256 of the token, for configs that must not hold it in clear.
    pub token_sha256: String,
}

/// Development conveniences.
#[derive(Clone, Debug, Deserialize)]
pub struct SandboxSettings {
    /// Where generated dev secrets and demo files go.
    pub data_dir: PathBuf,
    /// Create a demo client on first start.
    pub demo: bool,
}

/// Logging.
#[derive(Clone, Debug, Deserialize)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A tracing `EnvFilter` directive.
    pub filter: String,
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

impl AdminSettings {
    /// Whether an admin credential is configured at all.
    pub fn is_configured(&self) -> bool {
        !self.token.expose_secret().is_empty() || !self.token_sha256.trim().is_empty()
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
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let env: Vec<_> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_sources(Path::new("config"), &env)
    }

    #[test]
    fn defaults_run_a_sandbox_on_sqlite_at_localhost() {
        let s = load(&[]).unwrap();
        assert_eq!(s.mode, Mode::Sandbox);
        assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database.url.expose_secret(), "sqlite://data/tokenmint.db");
        assert_eq!(s.http.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.signing.issuer, "http://127.0.0.1:8080");
    }

    #[test]
    fn the_fixed_environment_names_win() {
        let s = load(&[
            ("TOKENMINT_LISTEN", "0.0.0.0:9000"),
            ("TOKENMINT_PUBLIC_URL", "https://auth.example.com/"),
            ("TOKENMINT_ISSUER", "https://issuer.example.com"),
            ("DATABASE_URL", "postgres://db/tm"),
        ])
        .unwrap();
        assert_eq!(s.http.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(s.http.public_url, "https://auth.example.com");
        assert_eq!(s.signing.issuer, "https://issuer.example.com");
        assert_eq!(s.signing.audience, "https://auth.example.com");
        assert_eq!(s.database.url.expose_secret(), "postgres://db/tm");
    }

    #[test]
    fn production_refuses_to_start_without_master_key_and_admin_token() {
        let base = [
            ("TOKENMINT_MODE", "production"),
            ("DATABASE_URL", "postgres://db/tm"),
        ];
        assert!(load(&base).is_err());
        let with_key = [base[0], base[1], ("TOKENMINT_MASTER_KEY", "a2V5")];
        assert!(load(&with_key)
            .unwrap_err()
            .to_string()
            .contains("ADMIN_TOKEN"));
        let full = [
            with_key[0],
            with_key[1],
            with_key[2],
            ("TOKENMINT_ADMIN_TOKEN", "t"),
        ];
        assert_eq!(load(&full).unwrap().mode, Mode::Production);
    }

    #[test]
    fn section_keys_of_the_explicit_environment_are_honoured() {
        let s = load(&[
            ("TOKENMINT__SMTP__HOST", "127.0.0.1"),
            ("TOKENMINT__SMTP__PORT", "2525"),
            ("TOKENMINT__SMTP__TLS", "none"),
            ("TOKENMINT__SCHEMES__AUTHTOKEN__REFRESH_WINDOW_HOURS", "2"),
        ])
        .unwrap();
        assert_eq!(
            (s.smtp.host.as_str(), s.smtp.port, s.smtp.tls),
            ("127.0.0.1", 2525, SmtpTls::None)
        );
        assert_eq!(s.schemes.authtoken.refresh_window_hours, 2);
        assert_eq!(s.schemes.authtoken.token_lifetime_minutes, 60);
        let defaults = load(&[]).unwrap();
        assert!(defaults.smtp.host.is_empty(), "no e-mail unless configured");
        assert_eq!(defaults.schemes.authtoken.refresh_window_hours, 24);
        assert_eq!(
            defaults.schemes.oauth.introspection_scope,
            "tokenmint:introspect"
        );
    }

    #[test]
    fn the_retention_margin_must_outlast_the_authtoken_refresh_window() {
        let defaults = load(&[]).unwrap();
        assert!(defaults.retention.enabled);
        assert_eq!(defaults.retention.margin_seconds, 7 * 24 * 3600);
        let too_short = load(&[("TOKENMINT__RETENTION__MARGIN_SECONDS", "86400")]);
        assert!(too_short
            .unwrap_err()
            .to_string()
            .contains("margin_seconds"));
        let shorter_window = load(&[
            ("TOKENMINT__RETENTION__MARGIN_SECONDS", "3605"),
            ("TOKENMINT__SCHEMES__AUTHTOKEN__REFRESH_WINDOW_HOURS", "1"),
        ]);
        assert_eq!(shorter_window.unwrap().retention.margin_seconds, 3605);
        assert!(load(&[("TOKENMINT__RETENTION__BATCH_SIZE", "0")]).is_err());
    }

    #[test]
    fn rate_limits_default_to_generous_budgets_and_refuse_zero() {
        let production = load(&[
            ("TOKENMINT_MODE", "production"),
            ("DATABASE_URL", "postgres://db/tm"),
            ("TOKENMINT_MASTER_KEY", "a2V5"),
            ("TOKENMINT_ADMIN_TOKEN", "t"),
        ]);
        let defaults = production.unwrap().rate_limit;
        assert!(defaults.enabled);
        assert_eq!(defaults.identifier_failures_per_minute.get(), 10);
        assert_eq!(defaults.identifier_burst.get(), 20);
        assert_eq!(defaults.address_failures_per_minute.get(), 60);
        assert_eq!(defaults.address_burst.get(), 100);
        // Sandbox, where wrong credentials are tried on purpose, widens them.
        let sandbox = load(&[]).unwrap().rate_limit;
        assert!(sandbox.enabled);
        assert_eq!(sandbox.identifier_burst.get(), 200);
        assert_eq!(sandbox.address_burst.get(), 2000);
        let tighter = load(&[("TOKENMINT__RATE_LIMIT__IDENTIFIER_BURST", "5")]).unwrap();
        assert_eq!(tighter.rate_limit.identifier_burst.get(), 5);
        assert!(load(&[("TOKENMINT__RATE_LIMIT__ADDRESS_BURST", "0")]).is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = load(&[
            ("TOKENMINT_ADMIN_TOKEN", "hunter2-admin"),
            ("TOKENMINT_MASTER_KEY", "c2VjcmV0"),
            ("TOKENMINT__SMTP__PASSWORD", "smtp-hunter2"),
        ])
        .unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("smtp-hunter2"));
        assert!(!printed.contains("hunter2-admin"));
        assert!(!printed.contains("c2VjcmV0"));
    }
}
