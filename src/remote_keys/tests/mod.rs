//! Tests of the module against real keys and a local publisher: parsing rules (`parsing`), the
//! fetch limits and URL rules over HTTP (`fetching`), and the cache rules (`caching`). Nothing
//! here depends on timing: "now" is an input, and waits are for events, with generous bounds.

mod caching;
mod fetching;
pub(super) mod keys;
mod parsing;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::fetch::Resolver;
use super::{check_issuer, check_url, KeySource, Policy, RemoteKeySettings, RemoteKeys};

/// A generous bound on anything that should finish at once; only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(30);

/// The instant the tests start at.
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// `seconds` after [`t0`].
fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

/// Sandbox settings (loopback http allowed) with the default limits and a patient timeout.
fn sandbox() -> RemoteKeySettings {
    RemoteKeySettings {
        fetch_timeout: PATIENCE,
        ..RemoteKeySettings::for_mode(crate::config::Mode::Sandbox)
    }
}

fn client_source(url: &str) -> KeySource {
    KeySource::ClientJwksUri(check_url(url, Policy::SANDBOX).unwrap())
}

fn issuer_source(issuer: &str, jwks_uri: Option<&str>) -> KeySource {
    KeySource::Issuer {
        issuer: check_issuer(issuer, Policy::SANDBOX).unwrap(),
        jwks_uri: jwks_uri.map(|u| check_url(u, Policy::SANDBOX).unwrap()),
    }
}

/// A resolver answering from a fixed table (and failing for any other name).
struct FixedResolver(HashMap<&'static str, Vec<std::net::IpAddr>>);

#[async_trait::async_trait]
impl Resolver for FixedResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let ips = self.0.get(host).ok_or(std::io::ErrorKind::NotFound)?;
        Ok(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
    }
}

fn with_resolver(settings: RemoteKeySettings, table: &[(&'static str, &[&str])]) -> RemoteKeys {
    let table = table
        .iter()
        .map(|(name, ips)| (*name, ips.iter().map(|ip| ip.parse().unwrap()).collect()))
        .collect();
    RemoteKeys::with_resolver(settings, Arc::new(FixedResolver(table)))
}
