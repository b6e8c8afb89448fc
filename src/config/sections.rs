//! The sections of [`super::Settings`], one struct each, as `config/default.toml` lays them out.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The web pages: portal and console sessions.
#[derive(Clone, Debug, Deserialize)]
pub struct WebSettings {
    /// Minutes a session lives without a request (idle expiry); each request extends it.
    pub session_idle_minutes: u32,
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
    /// Base URL clients use; empty means `http://<listen>`. Filled in by [`Settings::load`](super::Settings::load).
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
    /// The `iss` claim; empty means the public URL. Filled in by [`Settings::load`](super::Settings::load).
    pub issuer: String,
    /// The default `aud` claim; empty means the public URL. Filled in by [`Settings::load`](super::Settings::load).
    pub audience: String,
    /// Upper bound of every client's `max_ttl_minutes`.
    pub max_ttl_cap_minutes: i64,
    /// Interval of each instance's re-read of the key set.
    pub key_reload_seconds: u64,
    /// Accepted clock difference when verifying tokens.
    pub verify_leeway_seconds: i64,
    /// base64 of the 32-byte key that encrypts private signing keys (and the credential pepper)
    /// at rest, and seals everything new.
    pub master_key: SecretString,
    /// base64 of the master key being replaced, during a master-key rotation only: values
    /// sealed under it still open, nothing new is sealed under it. Empty: none.
    pub master_key_previous: SecretString,
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

impl AdminSettings {
    /// Whether an admin credential is configured at all.
    pub fn is_configured(&self) -> bool {
        !self.token.expose_secret().is_empty() || !self.token_sha256.trim().is_empty()
    }
}
