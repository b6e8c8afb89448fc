//! Checking a URL keys are to be fetched from: `https://` only (or `http://` to loopback in
//! sandbox mode), no user info, and in production no host that is a non-public address. Pure:
//! callers validate an admin's input with [`check_url`] and [`check_issuer`]; the fetcher runs
//! the same checks again at fetch time and then [`check_resolved`] on every address the host name
//! resolves to, because a name checked at registration may resolve differently later.

use std::net::IpAddr;

use url::{Host, Url};

use super::address::{classify, AddressClass};
use super::error::{RemoteKeyError, UrlField};
use super::settings::Policy;

/// The longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Checks a `jwks_uri` (a client's, or a trust policy's) and parses it.
pub fn check_url(raw: &str, policy: Policy) -> Result<Url, RemoteKeyError> {
    check(raw, policy, UrlField::JwksUri)
}

/// Checks an OpenID Connect issuer identifier (OpenID Connect Discovery 1.0 §2: an https URL
/// with no query or fragment) and keeps it as written, for the exact comparisons with the
/// discovery document's and the token's `iss`.
pub fn check_issuer(raw: &str, policy: Policy) -> Result<Issuer, RemoteKeyError> {
    let url = check(raw, policy, UrlField::Issuer)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(RemoteKeyError::UnsupportedUrl {
            field: UrlField::Issuer,
            reason: "must not have a query or fragment",
        });
    }
    // Discovery §4: remove a terminating "/" before appending the well-known path.
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        raw.trim_end_matches('/')
    );
    let discovery = check(&discovery, policy, UrlField::Issuer)?;
    Ok(Issuer {
        raw: raw.to_owned(),
        discovery,
    })
}

/// An issuer identifier that passed [`check_issuer`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Issuer {
    raw: String,
    discovery: Url,
}

impl Issuer {
    /// The issuer exactly as configured.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> &Url {
        &self.discovery
    }
}

/// Checks and parses a URL in the role `field`.
pub(crate) fn check(raw: &str, policy: Policy, field: UrlField) -> Result<Url, RemoteKeyError> {
    if raw.len() > MAX_URL_LEN {
        return Err(RemoteKeyError::UnsupportedUrl {
            field,
            reason: "is longer than 2048 characters",
        });
    }
    // The URL parser would trim surrounding spaces silently; an issuer must compare exactly.
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RemoteKeyError::InvalidUrl { field });
    }
    let url = Url::parse(raw).map_err(|_| RemoteKeyError::InvalidUrl { field })?;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(RemoteKeyError::NotHttps { field }),
    };
    let host = url.host().ok_or(RemoteKeyError::InvalidUrl { field })?;
    let loopback = host_class(&host) == Some(AddressClass::Loopback);
    if !(https || policy.allow_loopback_http && loopback) {
        return Err(RemoteKeyError::NotHttps { field });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RemoteKeyError::UnsupportedUrl {
            field,
            reason: "must not contain a user name or password",
        });
    }
    if refuses(policy, loopback) {
        if let Some(class) = host_class(&host) {
            return Err(RemoteKeyError::PrivateAddress { field, class });
        }
    }
    Ok(url)
}

/// Checks one address the host of `url` (which passed [`check`]) resolved to.
pub(crate) fn check_resolved(
    ip: IpAddr,
    url: &Url,
    policy: Policy,
    field: UrlField,
) -> Result<(), RemoteKeyError> {
    let class = classify(ip);
    let loopback = class == Some(AddressClass::Loopback);
    if !(url.scheme() == "https" || policy.allow_loopback_http && loopback) {
        return Err(RemoteKeyError::NotHttps { field });
    }
    match class {
        Some(class) if refuses(policy, loopback) => {
            Err(RemoteKeyError::ResolvesToPrivate { field, class })
        }
        _ => Ok(()),
    }
}

/// Whether the policy refuses a non-public address (loopback is allowed along with loopback http).
fn refuses(policy: Policy, loopback: bool) -> bool {
    policy.refuse_private_addresses && !(policy.allow_loopback_http && loopback)
}

/// The class of a URL's host as far as it shows without resolving it: an address literal's, and
/// loopback for `localhost` and `*.localhost` (RFC 6761 §6.3). Other names are checked at fetch
/// time, once resolved.
fn host_class(host: &Host<&str>) -> Option<AddressClass> {
    match host {
        Host::Ipv4(ip) => classify(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => classify(IpAddr::V6(*ip)),
        Host::Domain(name) => {
            let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then_some(AddressClass::Loopback)
        }
    }
}

#[cfg(test)]
#[path = "url_check_tests.rs"]
mod tests;
