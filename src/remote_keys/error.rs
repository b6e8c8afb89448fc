//! `RemoteKeyError`: everything that can go wrong finding an outsider's key, worded so a caller
//! can put the message into an OAuth `error_description` as is. Messages name URLs and key ids,
//! never a response body, a token or a secret.

use std::fmt;
use std::time::Duration;

use crate::domain::Algorithm;

use super::address::AddressClass;

/// Whose keys a message speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Publisher {
    /// A client authenticating with `private_key_jwt`.
    Client,
    /// An external OpenID Connect issuer (token exchange).
    Issuer,
}

impl fmt::Display for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Client => "the client's",
            Self::Issuer => "the issuer's",
        })
    }
}

/// Which document a fetch was reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// The JWK Set (RFC 7517 §5).
    Jwks,
    /// The OpenID Connect discovery document (`/.well-known/openid-configuration`).
    Discovery,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jwks => "JWKS",
            Self::Discovery => "discovery document",
        })
    }
}

/// Which URL a message speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlField {
    /// A `jwks_uri` given by an admin (a client's, or a trust policy's).
    JwksUri,
    /// An issuer given by an admin (a trust policy's).
    Issuer,
    /// The `jwks_uri` an issuer's discovery document names.
    DiscoveredJwksUri,
}

impl fmt::Display for UrlField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::JwksUri => "jwks_uri",
            Self::Issuer => "issuer",
            Self::DiscoveredJwksUri => "the jwks_uri in the issuer's discovery document",
        })
    }
}

/// A failure to find an outsider's public key, or to accept a URL or JWKS for one.
///
/// [`is_source_failure`](Self::is_source_failure) sorts the variants: the source failed (or is
/// misconfigured), or the key the token asks for is not there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteKeyError {
    /// The URL does not parse.
    #[error("{field} is not a valid URL")]
    InvalidUrl {
        /// The URL's role.
        field: UrlField,
    },
    /// The URL is not `https://` (nor, where allowed, `http://` to a loopback address).
    #[error("{field} must use https")]
    NotHttps {
        /// The URL's role.
        field: UrlField,
    },
    /// The URL has a part the rules forbid (user info, or a query in an issuer).
    #[error("{field} {reason}")]
    UnsupportedUrl {
        /// The URL's role.
        field: UrlField,
        /// What is wrong, as the rest of a sentence.
        reason: &'static str,
    },
    /// The URL's host is a non-public address (or a loopback name).
    #[error("{field} points at a private address ({class})")]
    PrivateAddress {
        /// The URL's role.
        field: UrlField,
        /// The kind of address.
        class: AddressClass,
    },
    /// The URL's host name resolves to a non-public address.
    #[error("{field} resolves to a private address ({class})")]
    ResolvesToPrivate {
        /// The URL's role.
        field: UrlField,
        /// The kind of address.
        class: AddressClass,
    },
    /// The fetch (discovery and JWKS together) took longer than the timeout.
    #[error("fetching {publisher} JWKS timed out after {}", seconds(.after))]
    Timeout {
        /// Whose keys.
        publisher: Publisher,
        /// The timeout.
        after: Duration,
    },
    /// No connection or no complete response (name not found, refused, TLS failure, reset).
    #[error("could not fetch {publisher} {document} from {url}")]
    Unreachable {
        /// Whose keys.
        publisher: Publisher,
        /// What was being fetched.
        document: Document,
        /// Where from.
        url: String,
    },
    /// The server answered with a redirect; none is followed.
    #[error("fetching {publisher} {document} from {url} was answered with a redirect, which is not followed")]
    Redirected {
        /// Whose keys.
        publisher: Publisher,
        /// What was being fetched.
        document: Document,
        /// Where from.
        url: String,
    },
    /// The server answered with a status other than success.
    #[error("fetching {publisher} {document} from {url} failed with HTTP status {status}")]
    HttpStatus {
        /// Whose keys.
        publisher: Publisher,
        /// What was being fetched.
        document: Document,
        /// Where from.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body is larger than the cap.
    #[error("{publisher} {document} is larger than {}", size(.limit_bytes))]
    TooLarge {
        /// Whose keys.
        publisher: Publisher,
        /// What was being fetched.
        document: Document,
        /// The cap, in bytes.
        limit_bytes: usize,
    },
    /// The body is not JSON.
    #[error("{publisher} {document} is not JSON")]
    NotJson {
        /// Whose keys.
        publisher: Publisher,
        /// What was being read.
        document: Document,
    },
    /// The JSON is not `{"keys": [...]}`.
    #[error("{publisher} JWKS is not an object with a \"keys\" array")]
    NotAJwks {
        /// Whose keys.
        publisher: Publisher,
    },
    /// The JWKS has more keys than are read.
    #[error("{publisher} JWKS has {count} keys; at most {max} are read")]
    TooManyKeys {
        /// Whose keys.
        publisher: Publisher,
        /// How many keys it has.
        count: usize,
        /// How many are read.
        max: usize,
    },
    /// A key of the set carries private or symmetric key material: the set is refused whole.
    #[error("{publisher} JWKS contains private key material; publish only public keys")]
    PrivateKeyMaterial {
        /// Whose keys.
        publisher: Publisher,
    },
    /// No key of the set is usable.
    #[error("{publisher} JWKS has no usable key (RSA RS256, EC P-256 ES256 or Ed25519 EdDSA)")]
    NoUsableKey {
        /// Whose keys.
        publisher: Publisher,
    },
    /// The discovery document's `issuer` is not the configured issuer, character for character.
    #[error("the issuer's discovery document names a different issuer")]
    IssuerMismatch,
    /// The discovery document is JSON but not a usable one.
    #[error("the issuer's discovery document {reason}")]
    BadDiscovery {
        /// What is wrong, as the rest of a sentence.
        reason: &'static str,
    },
    /// The fetch task ended without an answer (a bug).
    #[error("fetching {publisher} JWKS failed unexpectedly")]
    Internal {
        /// Whose keys.
        publisher: Publisher,
    },
    /// The token's `alg` is never accepted here (`none` cannot be parsed at all).
    #[error("alg {alg} is not accepted; use RS256, ES256 or EdDSA")]
    AlgorithmNotAllowed {
        /// The token's `alg`.
        alg: String,
    },
    /// No key has the token's `kid`.
    #[error("no key with kid {kid:?} in {publisher} JWKS")]
    NoKey {
        /// Whose keys.
        publisher: Publisher,
        /// The token's `kid` (shortened if long).
        kid: String,
    },
    /// The key with the token's `kid` is for another algorithm.
    #[error("the key with kid {kid:?} in {publisher} JWKS is for {key_alg}, not {token_alg}")]
    AlgorithmMismatch {
        /// Whose keys.
        publisher: Publisher,
        /// The token's `kid` (shortened if long).
        kid: String,
        /// The key's algorithm.
        key_alg: Algorithm,
        /// The token's algorithm.
        token_alg: Algorithm,
    },
    /// The token has no `kid` and no key of its algorithm is in the set.
    #[error("the token names no kid and {publisher} JWKS has no {alg} key")]
    NoKeyForAlgorithm {
        /// Whose keys.
        publisher: Publisher,
        /// The token's algorithm.
        alg: Algorithm,
    },
    /// The token has no `kid` and several keys of its algorithm are in the set.
    #[error("the token names no kid and {publisher} JWKS has {count} {alg} keys")]
    AmbiguousKey {
        /// Whose keys.
        publisher: Publisher,
        /// The token's algorithm.
        alg: Algorithm,
        /// How many keys of that algorithm.
        count: usize,
    },
}

impl RemoteKeyError {
    /// True when the source failed or is misconfigured (unreachable, slow, too large, not a JWKS,
    /// a refused URL): the token may be fine, so a caller may answer 503 (or 400 for a
    /// registration). False when the key the token asks for is not there or its `alg` is never
    /// accepted: the token is at fault (`invalid_grant` / `invalid_client`).
    pub fn is_source_failure(&self) -> bool {
        !matches!(
            self,
            Self::AlgorithmNotAllowed { .. }
                | Self::NoKey { .. }
                | Self::AlgorithmMismatch { .. }
                | Self::NoKeyForAlgorithm { .. }
                | Self::AmbiguousKey { .. }
        )
    }

    /// True when a fresher copy of the set might hold the key (a refetch may help).
    pub(crate) fn is_miss(&self) -> bool {
        matches!(
            self,
            Self::NoKey { .. } | Self::AlgorithmMismatch { .. } | Self::NoKeyForAlgorithm { .. }
        )
    }
}

/// A token's `kid` as shown in a message: at most 64 characters, so a huge header cannot
/// bloat responses and logs.
pub(crate) fn shown_kid(kid: &str) -> String {
    const MAX_CHARS: usize = 64;
    match kid.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &kid[..cut]),
        None => kid.to_owned(),
    }
}

fn seconds(duration: &Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

fn size(bytes: &usize) -> String {
    if bytes % 1024 == 0 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}
