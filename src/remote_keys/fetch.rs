//! Fetching a source's JWKS over HTTP: the only I/O of the module.
//!
//! Each fetch checks its URL against the policy again, resolves the host itself, checks every
//! address, and lets reqwest connect only to those addresses (`resolve_to_addrs`), so a name
//! cannot resolve to a public address at the check and a private one at the connection (DNS
//! rebinding). Redirects are not followed at all (a 3xx is an error), no proxy is used (it would
//! resolve the name itself), the body is read in chunks up to the cap whatever Content-Length
//! says, and the whole refresh (discovery and JWKS) runs under one timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use url::{Host, Url};

use super::error::{Document, Publisher, RemoteKeyError, UrlField};
use super::jwks::JwkSet;
use super::settings::RemoteKeySettings;
use super::url_check::{check, check_resolved, Issuer};
use super::KeySource;

/// Resolves host names: the system resolver in service, a fixed table in tests.
#[async_trait::async_trait]
pub(crate) trait Resolver: Send + Sync + 'static {
    /// The addresses of `host`, with `port`.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The operating system's resolver, through tokio.
pub(crate) struct SystemResolver;

#[async_trait::async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// Fetches JWKS documents under the settings' limits.
pub(crate) struct Fetcher {
    pub(crate) settings: RemoteKeySettings,
    pub(crate) resolver: Arc<dyn Resolver>,
}

/// What one GET is for, for the checks and the messages.
#[derive(Clone, Copy)]
struct Target {
    field: UrlField,
    publisher: Publisher,
    document: Document,
}

impl Fetcher {
    /// Fetches and parses the source's JWKS, through discovery for an issuer without `jwks_uri`.
    pub(crate) async fn fetch(&self, source: &KeySource) -> Result<JwkSet, RemoteKeyError> {
        let publisher = source.publisher();
        let after = self.settings.fetch_timeout;
        match tokio::time::timeout(after, self.fetch_untimed(source)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(RemoteKeyError::Timeout { publisher, after }),
        }
    }

    async fn fetch_untimed(&self, source: &KeySource) -> Result<JwkSet, RemoteKeyError> {
        let publisher = source.publisher();
        let (url, field) = match source {
            KeySource::ClientJwksUri(url) => (url.clone(), UrlField::JwksUri),
            KeySource::Issuer {
                jwks_uri: Some(url),
                ..
            } => (url.clone(), UrlField::JwksUri),
            KeySource::Issuer {
                issuer,
                jwks_uri: None,
            } => (self.discover(issuer).await?, UrlField::DiscoveredJwksUri),
        };
        let target = Target {
            field,
            publisher,
            document: Document::Jwks,
        };
        let body = self.get(&url, target).await?;
        JwkSet::parse_body(&body, publisher, self.settings.max_keys)
    }

    /// Reads `jwks_uri` from the issuer's discovery document, whose `issuer` must equal the
    /// configured one exactly (OpenID Connect Discovery 1.0 §4.3).
    async fn discover(&self, issuer: &Issuer) -> Result<Url, RemoteKeyError> {
        let target = Target {
            field: UrlField::Issuer,
            publisher: Publisher::Issuer,
            document: Document::Discovery,
        };
        let body = self.get(issuer.discovery_url(), target).await?;
        let document: Value =
            serde_json::from_slice(&body).map_err(|_| RemoteKeyError::NotJson {
                publisher: Publisher::Issuer,
                document: Document::Discovery,
            })?;
        let bad = |reason| RemoteKeyError::BadDiscovery { reason };
        let document = document.as_object().ok_or(bad("is not a JSON object"))?;
        if document.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(RemoteKeyError::IssuerMismatch);
        }
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or(bad("names no jwks_uri"))?;
        check(
            jwks_uri,
            self.settings.policy(),
            UrlField::DiscoveredJwksUri,
        )
    }

    /// GETs a URL that passes the policy, from a checked address, and returns at most the cap.
    async fn get(&self, url: &Url, target: Target) -> Result<Vec<u8>, RemoteKeyError> {
        let url = check(url.as_str(), self.settings.policy(), target.field)?;
        let addresses = self.addresses(&url, target).await?;
        let unreachable = |err: reqwest::Error| {
            tracing::warn!(url = %url, error = ?err, "fetching keys failed");
            if err.is_timeout() {
                RemoteKeyError::Timeout {
                    publisher: target.publisher,
                    after: self.settings.fetch_timeout,
                }
            } else {
                RemoteKeyError::Unreachable {
                    publisher: target.publisher,
                    document: target.document,
                    url: url.to_string(),
                }
            }
        };
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(self.settings.fetch_timeout)
            .user_agent(concat!("tokenmint/", env!("CARGO_PKG_VERSION")));
        if let Some(Host::Domain(name)) = url.host() {
            builder = builder.resolve_to_addrs(name, &addresses);
        }
        let client = builder.build().map_err(unreachable)?;
        let mut response = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(RemoteKeyError::Redirected {
                publisher: target.publisher,
                document: target.document,
                url: url.to_string(),
            });
        }
        if !status.is_success() {
            return Err(RemoteKeyError::HttpStatus {
                publisher: target.publisher,
                document: target.document,
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let cap = self.settings.max_body_bytes;
        let too_large = RemoteKeyError::TooLarge {
            publisher: target.publisher,
            document: target.document,
            limit_bytes: cap,
        };
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > cap {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The addresses to connect to: an address literal, or every address the name resolves to,
    /// each checked against the policy.
    async fn addresses(
        &self,
        url: &Url,
        target: Target,
    ) -> Result<Vec<SocketAddr>, RemoteKeyError> {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses = match url.host() {
            Some(Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(Host::Domain(name)) => self.resolver.resolve(name, port).await.unwrap_or_else(|err| {
                tracing::warn!(url = %url, error = %err, "resolving a key source's host failed");
                Vec::new()
            }),
            None => return Err(RemoteKeyError::InvalidUrl { field: target.field }),
        };
        if addresses.is_empty() {
            return Err(RemoteKeyError::Unreachable {
                publisher: target.publisher,
                document: target.document,
                url: url.to_string(),
            });
        }
        for address in &addresses {
            check_resolved(address.ip(), url, self.settings.policy(), target.field)?;
        }
        Ok(addresses)
    }
}
