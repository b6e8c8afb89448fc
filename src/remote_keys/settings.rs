//! The settings of key fetching and caching, and the URL [`Policy`] derived from them. Not read
//! from the configuration files here: the caller that wires `RemoteKeys` into the application
//! maps its configuration onto [`RemoteKeySettings`].

use std::time::Duration;

use crate::config::Mode;

/// How outsiders' keys are fetched and cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteKeySettings {
    /// The longest one refresh may take, discovery and JWKS together (at most 2 s by default).
    pub fetch_timeout: Duration,
    /// The largest response body read, in bytes; a longer body is refused.
    pub max_body_bytes: usize,
    /// The shortest time between two fetches of one source: a lookup by an unknown `kid` refetches
    /// at most this often, so tokens with made-up key ids cannot make us hammer an issuer.
    pub refetch_interval: Duration,
    /// How long a fetched JWKS is used before the next lookup fetches it again, so keys rotated
    /// away by their publisher stop verifying.
    pub max_age: Duration,
    /// How long past `max_age` the last good JWKS is still served while refreshes fail.
    pub serve_stale_for: Duration,
    /// The most keys a JWKS may have; a larger set is refused.
    pub max_keys: usize,
    /// Whether loopback addresses are allowed, over `http://` too (sandbox mode).
    pub allow_loopback_http: bool,
    /// Whether URLs whose host is or resolves to a non-public address are refused (production).
    pub refuse_private_addresses: bool,
}

impl RemoteKeySettings {
    /// The default most keys in a JWKS.
    pub const DEFAULT_MAX_KEYS: usize = 100;

    /// The defaults, with the URL policy of `mode`.
    pub fn for_mode(mode: Mode) -> Self {
        let policy = Policy::for_mode(mode);
        Self {
            allow_loopback_http: policy.allow_loopback_http,
            refuse_private_addresses: policy.refuse_private_addresses,
            ..Self::default()
        }
    }

    /// The URL policy these settings describe.
    pub fn policy(&self) -> Policy {
        Policy {
            allow_loopback_http: self.allow_loopback_http,
            refuse_private_addresses: self.refuse_private_addresses,
        }
    }
}

impl Default for RemoteKeySettings {
    /// Production's: https to public addresses only, 2 s, 64 KB, 30 s, 5 min, 30 min stale, 100 keys.
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(2),
            max_body_bytes: 64 * 1024,
            refetch_interval: Duration::from_secs(30),
            max_age: Duration::from_secs(5 * 60),
            serve_stale_for: Duration::from_secs(30 * 60),
            max_keys: Self::DEFAULT_MAX_KEYS,
            allow_loopback_http: false,
            refuse_private_addresses: true,
        }
    }
}

/// Which URLs keys may be fetched from; checked when an admin registers a URL and again at each
/// fetch, against every address the host resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Loopback hosts (`127.0.0.0/8`, `::1`, `localhost`) are allowed, over `http://` too.
    pub allow_loopback_http: bool,
    /// Hosts that are or resolve to a non-public address are refused (loopback excepted when
    /// `allow_loopback_http` is set).
    pub refuse_private_addresses: bool,
}

impl Policy {
    /// Production: `https://` to public addresses only.
    pub const PRODUCTION: Self = Self {
        allow_loopback_http: false,
        refuse_private_addresses: true,
    };

    /// Sandbox: `https://` anywhere, and `http://` to loopback addresses.
    pub const SANDBOX: Self = Self {
        allow_loopback_http: true,
        refuse_private_addresses: false,
    };

    /// The policy of a mode.
    pub fn for_mode(mode: Mode) -> Self {
        match mode {
            Mode::Sandbox => Self::SANDBOX,
            Mode::Production => Self::PRODUCTION,
        }
    }
}
