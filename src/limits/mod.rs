//! Brute-force limits shared by every route that authenticates a secret: failed authentications
//! are budgeted per credential identifier and per caller address (GCRA through `governor`,
//! settings in `[rate_limit]`).
//!
//! The one guarded authentication path (`http::guard`) calls [`FailureLimits::check`] before the
//! registry verifies anything (so a refused attempt costs no argon2 and no database work), and
//! [`FailureLimits::record`] (or [`FailureLimits::failed`]) when the registry refuses the
//! credential. Only failures spend budget: a client succeeding at any rate is never limited, and
//! the check itself is a keyed hash and one concurrent-map lookup per key, with no allocation.
//! Over budget is [`Limited`], which the HTTP toolkit turns into a 429 that each scheme renders
//! in its own format with `Retry-After`. Nothing here knows HTTP. State is per instance (docs/operations.md, "Rate limits"); [`FailureLimits::prune`], run
//! periodically by `serve`, forgets keys whose budget is full again, so memory follows recent
//! failures, not every identifier ever seen.

mod budget;

use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use governor::Quota;

use crate::clock::Clock;
use crate::config::RateLimitSettings;
use crate::registry::RegistryError;
use budget::FailureBudget;

/// The credential identifier an authentication attempt names, by kind (kinds never collide).
/// `Debug` never shows an API key, which is itself the secret.
#[derive(Clone, Copy)]
pub enum Identifier<'a> {
    /// A client id (client secrets: `/auth/token/create`, `/auth/jwt`, portal and OAuth Basic).
    Client(&'a str),
    /// A presented API key; only a keyed hash of it is kept, never the key.
    ApiKey(&'a str),
    /// A JWT credential's key (`/auth/authtoken`).
    JwtCredential(&'a str),
    /// A service-account id (`/v0/sign_in/token`).
    ServiceAccount(&'a str),
    /// A presented admin token (the console's sign-in); only a keyed hash of it is kept, so in
    /// effect only the caller's address budget limits guesses, and nobody can lock the
    /// administrators out by failing on purpose.
    AdminToken(&'a str),
}

impl std::fmt::Debug for Identifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Client(id) => f.debug_tuple("Client").field(id).finish(),
            Self::ApiKey(_) => f.write_str("ApiKey(..)"),
            Self::JwtCredential(key) => f.debug_tuple("JwtCredential").field(key).finish(),
            Self::ServiceAccount(id) => f.debug_tuple("ServiceAccount").field(id).finish(),
            Self::AdminToken(_) => f.write_str("AdminToken(..)"),
        }
    }
}

/// An attempt refused because its identifier or address spent its failure budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many failed authentications, retry after {retry_after_seconds} s")]
pub struct Limited {
    /// Whole seconds (at least 1) until both budgets allow another failure.
    pub retry_after_seconds: u64,
}

/// The two failure budgets of this instance.
pub struct FailureLimits {
    enabled: bool,
    identifiers: FailureBudget<u64>,
    addresses: FailureBudget<IpAddr>,
    /// Keyed (random per process) hash of identifiers: fixed-size keys, no identifier kept in
    /// clear, and collisions that a caller cannot aim at another client.
    hasher: RandomState,
}

impl FailureLimits {
    /// The budgets of `settings`, timed by `clock`.
    pub fn new(settings: &RateLimitSettings, clock: Arc<dyn Clock>) -> Self {
        let quota = |per_minute, burst| Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            enabled: settings.enabled,
            identifiers: FailureBudget::new(
                quota(
                    settings.identifier_failures_per_minute,
                    settings.identifier_burst,
                ),
                clock.clone(),
            ),
            addresses: FailureBudget::new(
                quota(settings.address_failures_per_minute, settings.address_burst),
                clock,
            ),
            hasher: RandomState::new(),
        }
    }

    /// Refuses an attempt whose identifier or address has spent its failure budget, with the
    /// whole seconds (at least 1) until both allow another failure.
    pub fn check(&self, identifier: Identifier<'_>, caller: Option<IpAddr>) -> Result<(), Limited> {
        if !self.enabled {
            return Ok(());
        }
        let by_identifier = self.identifiers.wait(&self.key(identifier));
        let by_address = caller.and_then(|ip| self.addresses.wait(&network(ip)));
        match by_identifier.max(by_address) {
            None => Ok(()),
            Some(wait) => {
                tracing::info!(
                    identifier_limited = by_identifier.is_some(),
                    address_limited = by_address.is_some(),
                    "authentication refused: too many failures"
                );
                Err(Limited {
                    retry_after_seconds: whole_seconds(wait),
                })
            }
        }
    }

    /// Spends one failure of the identifier's and the address's budgets.
    pub fn failed(&self, identifier: Identifier<'_>, caller: Option<IpAddr>) {
        if !self.enabled {
            return;
        }
        self.identifiers.spend(&self.key(identifier));
        if let Some(ip) = caller {
            self.addresses.spend(&network(ip));
        }
    }

    /// [`Self::failed`] when the registry refused the credential itself (unknown identifier or
    /// wrong secret); outages, suspensions and revocations, which only a holder of the right
    /// secret learns of, spend nothing.
    pub fn record(
        &self,
        error: &RegistryError,
        identifier: Identifier<'_>,
        caller: Option<IpAddr>,
    ) {
        if is_guess(error) {
            self.failed(identifier, caller);
        }
    }

    /// Forgets identifiers and addresses whose budget is full again.
    pub fn prune(&self) {
        self.identifiers.retain_recent();
        self.addresses.retain_recent();
        tracing::debug!(
            identifiers = self.identifiers.len(),
            addresses = self.addresses.len(),
            "failure budgets pruned"
        );
    }

    fn key(&self, identifier: Identifier<'_>) -> u64 {
        let (kind, value) = match identifier {
            Identifier::Client(value) => (0u8, value),
            Identifier::ApiKey(value) => (1, value),
            Identifier::JwtCredential(value) => (2, value),
            Identifier::ServiceAccount(value) => (3, value),
            Identifier::AdminToken(value) => (4, value),
        };
        self.hasher.hash_one((kind, value))
    }
}

/// Whether a refusal says the presented credential was wrong (a guess), as opposed to a right
/// credential that cannot be used, or a failure of the service.
pub fn is_guess(error: &RegistryError) -> bool {
    matches!(
        error,
        RegistryError::UnknownClient
            | RegistryError::WrongSecret
            | RegistryError::UnknownCredential
    )
}

/// The address as budgeted: IPv4 as is (also when mapped into IPv6), IPv6 by its /64, the
/// smallest block one subscriber usually gets (RFC 6177), so rotating addresses within it
/// gains nothing.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// `Retry-After` seconds: rounded up, and at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::clock::FixedClock;

    fn limits(identifier_burst: u32, address_burst: u32) -> (FailureLimits, Arc<FixedClock>) {
        let clock = Arc::new(FixedClock::at(Utc.timestamp_opt(1_800_000_000, 0).unwrap()));
        let settings = RateLimitSettings {
            identifier_burst: identifier_burst.try_into().unwrap(),
            address_burst: address_burst.try_into().unwrap(),
            ..RateLimitSettings::default()
        };
        (FailureLimits::new(&settings, clock.clone()), clock)
    }

    fn retry_after(result: Result<(), Limited>) -> Option<u64> {
        match result {
            Err(Limited {
                retry_after_seconds,
            }) => Some(retry_after_seconds),
            _ => None,
        }
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));

    #[test]
    fn an_identifier_is_refused_after_its_burst_of_failures_with_a_whole_retry_after() {
        let (limits, _clock) = limits(2, 100);
        let id = Identifier::Client("acme");
        for _ in 0..2 {
            assert!(limits.check(id, HOME).is_ok());
            limits.failed(id, HOME);
        }
        // 10 failures per minute: one earned back every 6 seconds.
        assert_eq!(retry_after(limits.check(id, HOME)), Some(6));
        assert!(limits.check(Identifier::Client("other"), HOME).is_ok());
        assert!(limits.check(Identifier::ApiKey("acme"), HOME).is_ok());
    }

    #[test]
    fn an_address_is_refused_after_its_burst_across_identifiers() {
        let (limits, clock) = limits(20, 3);
        for name in ["a", "b", "c"] {
            limits.failed(Identifier::Client(name), HOME);
        }
        assert_eq!(
            retry_after(limits.check(Identifier::Client("d"), HOME)),
            Some(1)
        );
        assert!(limits.check(Identifier::Client("d"), None).is_ok());
        clock.advance_seconds(1);
        assert!(limits.check(Identifier::Client("d"), HOME).is_ok());
    }

    #[test]
    fn only_wrong_credentials_spend_budget() {
        let (limits, _clock) = limits(1, 100);
        let id = Identifier::Client("acme");
        limits.record(&RegistryError::Suspended, id, HOME);
        limits.record(&RegistryError::CredentialRevoked, id, HOME);
        assert!(limits.check(id, HOME).is_ok());
        limits.record(&RegistryError::WrongSecret, id, HOME);
        assert!(limits.check(id, HOME).is_err());
    }

    #[test]
    fn disabled_limits_refuse_nothing() {
        let clock = Arc::new(FixedClock::at(Utc.timestamp_opt(1_800_000_000, 0).unwrap()));
        let settings = RateLimitSettings {
            enabled: false,
            identifier_burst: 1.try_into().unwrap(),
            ..RateLimitSettings::default()
        };
        let limits = FailureLimits::new(&settings, clock);
        let id = Identifier::Client("acme");
        for _ in 0..5 {
            limits.failed(id, HOME);
        }
        assert!(limits.check(id, HOME).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_block_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(Some(network(mapped)), HOME);
    }

    #[test]
    fn an_api_key_never_shows_in_debug_output() {
        let shown = format!("{:?}", Identifier::ApiKey("tmk_live_secret"));
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(
            format!("{:?}", Identifier::Client("acme")),
            r#"Client("acme")"#
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_of_at_least_one() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(6000)), 6);
        assert_eq!(whole_seconds(Duration::from_millis(6001)), 7);
    }
}
