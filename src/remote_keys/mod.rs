//! Outsiders' public signing keys: fetched from a `jwks_uri` (a client's, for `private_key_jwt`)
//! or through an OpenID Connect issuer's discovery document (a trust policy's, for RFC 8693 token
//! exchange), cached per source, and looked up by a token's header; and the same parsing for a
//! JWKS a client registers inline.
//!
//! What it owns: the URL policy ([`check_url`], [`check_issuer`]: `https://` only, `http://` to
//! loopback in sandbox mode, no private addresses in production, checked at registration and
//! again at every fetch against every resolved address), the fetch limits (one timeout over the
//! whole refresh, a body cap, no redirects at all, no proxy), the cache rules (a lookup by an
//! unknown `kid` refetches at most once per refetch interval per source; concurrent lookups of a
//! source share one fetch; sets expire after a max age; the last good set is served a bounded
//! time while refreshes fail) and the key rules (RS256, ES256 and EdDSA only; never HS* or none).
//!
//! What it must not do: verify tokens or decide policy (callers do, with the returned key and
//! its algorithm), read configuration files or application state (callers pass
//! [`RemoteKeySettings`] and "now"), or import anything above the ground floor. A slow or failing
//! source never holds up another: no lock is held across an await except each source's own
//! fetch lock, and cache hits never wait for it.

mod address;
mod cache;
mod error;
mod fetch;
mod jwks;
mod settings;
mod url_check;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use jsonwebtoken::Header;
use tracing::Instrument;
use url::Url;

pub use address::AddressClass;
pub use cache::SourceStatus;
pub use error::{Document, Publisher, RemoteKeyError, UrlField};
pub use jwks::{parse_registered_jwks, JwkSet, PublishedKey};
pub use settings::{Policy, RemoteKeySettings};
pub use url_check::{check_issuer, check_url, Issuer};

use cache::{Plan, SourceState};
use fetch::{Fetcher, Resolver, SystemResolver};

/// Where a set of keys comes from; the cache keeps one set per source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// A client's registered `jwks_uri` (checked with [`check_url`]).
    ClientJwksUri(Url),
    /// An external issuer: its keys from `jwks_uri` when the trust policy names one, else from
    /// the `jwks_uri` of its discovery document.
    Issuer {
        /// The issuer (checked with [`check_issuer`]).
        issuer: Issuer,
        /// The trust policy's explicit `jwks_uri`, if any (checked with [`check_url`]).
        jwks_uri: Option<Url>,
    },
}

impl KeySource {
    /// Whose keys these are, for messages.
    pub fn publisher(&self) -> Publisher {
        match self {
            Self::ClientJwksUri(_) => Publisher::Client,
            Self::Issuer { .. } => Publisher::Issuer,
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientJwksUri(url) => write!(f, "{url}"),
            Self::Issuer {
                issuer,
                jwks_uri: Some(url),
            } => write!(f, "{} ({url})", issuer.as_str()),
            Self::Issuer { issuer, .. } => f.write_str(issuer.as_str()),
        }
    }
}

/// The cache of outsiders' keys: a cheap handle, shared by clones.
#[derive(Clone)]
pub struct RemoteKeys {
    inner: Arc<Inner>,
}

struct Inner {
    fetcher: Fetcher,
    sources: Mutex<HashMap<KeySource, Arc<Source>>>,
}

/// One source's state (under a lock never held across an await) and its fetch lock (held by the
/// one fetch in flight, which every other lookup needing a fetch waits for).
#[derive(Default)]
struct Source {
    state: Mutex<SourceState>,
    fetching: Arc<tokio::sync::Mutex<()>>,
}

impl Source {
    fn state(&self) -> std::sync::MutexGuard<'_, SourceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RemoteKeys {
    /// An empty cache fetching with the system resolver.
    pub fn new(settings: RemoteKeySettings) -> Self {
        Self::with_resolver(settings, Arc::new(SystemResolver))
    }

    fn with_resolver(settings: RemoteKeySettings, resolver: Arc<dyn Resolver>) -> Self {
        Self {
            inner: Arc::new(Inner {
                fetcher: Fetcher { settings, resolver },
                sources: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &RemoteKeySettings {
        &self.inner.fetcher.settings
    }

    /// The URL policy in force, for [`check_url`] and [`check_issuer`] at registration.
    pub fn policy(&self) -> Policy {
        self.settings().policy()
    }

    /// The key of `source` that a token with `header` must verify with, fetching the source's
    /// JWKS first when nothing fresh is cached or (at most once per refetch interval) when the
    /// cached set lacks the key. `now` is the caller's clock.
    #[tracing::instrument(skip_all, fields(source = %source, kid = header.kid.as_deref()))]
    pub async fn find(
        &self,
        source: &KeySource,
        header: &Header,
        now: DateTime<Utc>,
    ) -> Result<PublishedKey, RemoteKeyError> {
        jwks::accepted_algorithm(header.alg)?;
        let settings = self.settings();
        let publisher = source.publisher();
        let entry = self.source(source);
        let seen = match entry.state().plan(header, now, settings, publisher, true) {
            Plan::Answer(answer) => return answer,
            Plan::Fetch { generation } => generation,
        };
        // Single flight: whoever gets the fetch lock while the generation is still the one seen
        // fetches; everyone else waited for that fetch and answers from its outcome.
        let guard = Arc::clone(&entry.fetching).lock_owned().await;
        let fetched_meanwhile = entry.state().generation != seen;
        if !fetched_meanwhile {
            // A task of its own, so a caller that goes away cannot cut a fetch short and leave
            // the next lookup to start another.
            let inner = Arc::clone(&self.inner);
            let (fetched, key) = (Arc::clone(&entry), source.clone());
            let task = tokio::spawn(
                async move {
                    let outcome = inner.fetcher.fetch(&key).await;
                    match &outcome {
                        Ok(set) => {
                            tracing::info!(source = %key, keys = set.keys().len(), "fetched keys")
                        }
                        Err(err) => {
                            tracing::warn!(source = %key, error = %err, "fetching keys failed")
                        }
                    }
                    fetched.state().record(outcome, now);
                    drop(guard);
                }
                .in_current_span(),
            );
            if task.await.is_err() {
                return Err(RemoteKeyError::Internal { publisher });
            }
        } else {
            drop(guard);
        }
        let plan = entry.state().plan(header, now, settings, publisher, false);
        match plan {
            Plan::Answer(answer) => answer,
            Plan::Fetch { .. } => Err(RemoteKeyError::Internal { publisher }),
        }
    }

    /// What is known about a source, or `None` if it was never looked up.
    pub fn status(&self, source: &KeySource) -> Option<SourceStatus> {
        let sources = self.sources();
        sources.get(source).map(|entry| entry.state().status())
    }

    /// Drops a source's cached keys (a client deleted, a trust policy changed).
    pub fn forget(&self, source: &KeySource) {
        self.sources().remove(source);
    }

    /// How many lookups of `source` hold or wait for its fetch lock (tests wait for this).
    #[cfg(test)]
    fn lookups_at_fetch(&self, source: &KeySource) -> usize {
        Arc::strong_count(&self.source(source).fetching) - 1
    }

    fn source(&self, source: &KeySource) -> Arc<Source> {
        let mut sources = self.sources();
        Arc::clone(sources.entry(source.clone()).or_default())
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, HashMap<KeySource, Arc<Source>>> {
        self.inner
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
