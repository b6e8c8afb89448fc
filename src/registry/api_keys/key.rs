//! The API key itself: the environment it works in, how one is generated and when a sandbox
//! test key expires. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, DurationRound, Utc};
use rand::RngCore;
use secrecy::SecretString;

/// Where an API key works: a sandbox-mode service accepts only sandbox keys, a production-mode
/// service only production keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Sandbox keys (`tmk_sandbox_...`), also handed out by `POST /test-api-keys`.
    Sandbox,
    /// Production keys (`tmk_live_...`), issued by an administrator.
    Production,
}

impl Environment {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }

    /// Parses the stored and wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sandbox" => Some(Self::Sandbox),
            "production" => Some(Self::Production),
            _ => None,
        }
    }

    /// The prefix of this environment's keys (cosmetic: authentication ignores it).
    pub fn key_prefix(self) -> &'static str {
        match self {
            Self::Sandbox => "tmk_sandbox_",
            Self::Production => "tmk_live_",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw).ok_or_else(|| format!("{raw:?} is not sandbox or production"))
    }
}

/// Generates a new key for an environment: prefix plus 256 random bits, base64url.
pub fn generate_key(environment: Environment) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!(
        "{}{}",
        environment.key_prefix(),
        URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// When a sandbox test key created at `now` expires: after the configured minutes (at least
/// one), on a whole second so the stored and the shown time agree.
pub fn test_key_expiry(now: DateTime<Utc>, ttl_minutes: i64) -> DateTime<Utc> {
    let expiry = now + Duration::minutes(ttl_minutes.clamp(1, 525_600));
    expiry
        .duration_trunc(Duration::seconds(1))
        .unwrap_or(expiry)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn keys_carry_their_environment_prefix_and_256_random_bits() {
        let sandbox = generate_key(Environment::Sandbox);
        let live = generate_key(Environment::Production);
        let body = sandbox
            .expose_secret()
            .strip_prefix("tmk_sandbox_")
            .unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert!(live.expose_secret().starts_with("tmk_live_"));
        assert_ne!(
            generate_key(Environment::Sandbox).expose_secret(),
            sandbox.expose_secret()
        );
    }

    #[test]
    fn environments_round_trip_through_their_names() {
        for environment in [Environment::Sandbox, Environment::Production] {
            assert_eq!(environment.as_str().parse(), Ok(environment));
        }
        assert!("live".parse::<Environment>().is_err());
    }
}
