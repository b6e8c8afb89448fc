//! Parsing a JWK Set (RFC 7517 §5) into the keys a token may be verified with, and choosing the
//! key for a token's header. Pure: the same rules hold for a JWKS fetched from a `jwks_uri` and
//! for one an admin registers with a client ([`parse_registered_jwks`]).
//!
//! Usable keys: kty `RSA` (2048 to 8192 bits) for RS256, `EC` on P-256 for ES256, `OKP` Ed25519
//! for EdDSA, each with no `alg` or that one, `use` absent or `sig`. Other keys are skipped. A
//! set showing private or symmetric key material (`d`, `p`, `k`, ...) is refused whole: whoever
//! published it has leaked the key. Only the public parameters are ever read.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, Header};
use serde_json::{Map, Value};

use crate::domain::Algorithm;

use super::error::{shown_kid, Document, Publisher, RemoteKeyError};

/// Members that carry private (RSA, EC, OKP) or symmetric (`oct`) key material (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A public key of an outsider's JWKS, and the one algorithm it may verify.
#[derive(Clone)]
pub struct PublishedKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl PublishedKey {
    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The only algorithm this key may verify (RS256, ES256 or EdDSA; never HS* or none).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The same algorithm, as jsonwebtoken names it (for `Validation::new`).
    pub fn jwt_algorithm(&self) -> jsonwebtoken::Algorithm {
        match self.algorithm {
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    /// The key, for `jsonwebtoken::decode`.
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

impl fmt::Debug for PublishedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishedKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The usable keys of one JWKS.
#[derive(Clone, Debug)]
pub struct JwkSet {
    publisher: Publisher,
    keys: Vec<PublishedKey>,
    skipped: usize,
}

/// Parses a client's registered `jwks` value with the rules of a fetched one; an admin's input
/// is validated with this at registration, and the stored value parsed with it at use.
pub fn parse_registered_jwks(jwks: &Value, max_keys: usize) -> Result<JwkSet, RemoteKeyError> {
    JwkSet::parse(jwks, Publisher::Client, max_keys)
}

impl JwkSet {
    /// Parses a fetched body: JSON `{"keys": [...]}`.
    pub(crate) fn parse_body(
        body: &[u8],
        publisher: Publisher,
        max_keys: usize,
    ) -> Result<Self, RemoteKeyError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| RemoteKeyError::NotJson {
            publisher,
            document: Document::Jwks,
        })?;
        Self::parse(&value, publisher, max_keys)
    }

    /// Parses a JWKS value: at most `max_keys` keys, unusable ones skipped, at least one usable.
    pub(crate) fn parse(
        value: &Value,
        publisher: Publisher,
        max_keys: usize,
    ) -> Result<Self, RemoteKeyError> {
        let members = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(RemoteKeyError::NotAJwks { publisher })?;
        if members.len() > max_keys {
            return Err(RemoteKeyError::TooManyKeys {
                publisher,
                count: members.len(),
                max: max_keys,
            });
        }
        let objects = || members.iter().filter_map(Value::as_object);
        if objects().any(|jwk| PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m))) {
            return Err(RemoteKeyError::PrivateKeyMaterial { publisher });
        }
        let keys: Vec<_> = objects().filter_map(usable_key).collect();
        if keys.is_empty() {
            return Err(RemoteKeyError::NoUsableKey { publisher });
        }
        let skipped = members.len() - keys.len();
        if skipped > 0 {
            tracing::debug!(%publisher, skipped, "skipped keys of a JWKS that are not usable here");
        }
        Ok(Self {
            publisher,
            keys,
            skipped,
        })
    }

    /// The usable keys.
    pub fn keys(&self) -> &[PublishedKey] {
        &self.keys
    }

    /// How many keys of the set were skipped as not usable here.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The key for a token with this header: the key with the header's `kid` (and its `alg`), or
    /// with no `kid`, the only key of the header's `alg`.
    pub fn find(&self, header: &Header) -> Result<PublishedKey, RemoteKeyError> {
        let publisher = self.publisher;
        let alg = accepted_algorithm(header.alg)?;
        let Some(kid) = header.kid.as_deref() else {
            let mut matching = self.keys.iter().filter(|k| k.algorithm == alg);
            return match (matching.next(), matching.count()) {
                (Some(key), 0) => Ok(key.clone()),
                (None, _) => Err(RemoteKeyError::NoKeyForAlgorithm { publisher, alg }),
                (Some(_), more) => Err(RemoteKeyError::AmbiguousKey {
                    publisher,
                    alg,
                    count: more + 1,
                }),
            };
        };
        let mut with_kid = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
        let first = with_kid.peek().map(|k| k.algorithm);
        match (with_kid.find(|k| k.algorithm == alg), first) {
            (Some(key), _) => Ok(key.clone()),
            (None, Some(key_alg)) => Err(RemoteKeyError::AlgorithmMismatch {
                publisher,
                kid: shown_kid(kid),
                key_alg,
                token_alg: alg,
            }),
            (None, None) => Err(RemoteKeyError::NoKey {
                publisher,
                kid: shown_kid(kid),
            }),
        }
    }
}

/// The token's `alg` if it is one an outsider's key may verify: RS256, ES256 or EdDSA. HS* (a
/// public key used as an HMAC secret) is refused; `none` does not even parse as a header.
pub(crate) fn accepted_algorithm(
    alg: jsonwebtoken::Algorithm,
) -> Result<Algorithm, RemoteKeyError> {
    match alg {
        jsonwebtoken::Algorithm::RS256 => Ok(Algorithm::RS256),
        jsonwebtoken::Algorithm::ES256 => Ok(Algorithm::ES256),
        jsonwebtoken::Algorithm::EdDSA => Ok(Algorithm::EdDSA),
        other => Err(RemoteKeyError::AlgorithmNotAllowed {
            alg: format!("{other:?}"),
        }),
    }
}

/// One JWK as a usable key, or `None` to skip it.
fn usable_key(jwk: &Map<String, Value>) -> Option<PublishedKey> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        ops.iter()
            .any(|op| op.as_str() == Some("verify"))
            .then_some(())?;
    }
    let kid = match jwk.get("kid") {
        None => None,
        Some(kid) => Some(kid.as_str()?.to_owned()),
    };
    let alg = text("alg");
    let (algorithm, key) = match (text("kty")?, text("crv")) {
        ("RSA", _) if matches!(alg, None | Some("RS256")) => {
            let (n, e) = (text("n")?, text("e")?);
            let bits = significant_bits(&decode(n)?);
            let e_len = decode(e)?.len();
            ((2048..=8192).contains(&bits) && (1..=8).contains(&e_len)).then_some(())?;
            (
                Algorithm::RS256,
                DecodingKey::from_rsa_components(trim(n), trim(e)).ok()?,
            )
        }
        ("EC", Some("P-256")) if matches!(alg, None | Some("ES256")) => {
            let (x, y) = (text("x")?, text("y")?);
            (decode(x)?.len() == 32 && decode(y)?.len() == 32).then_some(())?;
            (
                Algorithm::ES256,
                DecodingKey::from_ec_components(trim(x), trim(y)).ok()?,
            )
        }
        // "Ed25519" is the fully-specified name of RFC 9864.
        ("OKP", Some("Ed25519")) if matches!(alg, None | Some("EdDSA") | Some("Ed25519")) => {
            let x = text("x")?;
            (decode(x)?.len() == 32).then_some(())?;
            (
                Algorithm::EdDSA,
                DecodingKey::from_ed_components(trim(x)).ok()?,
            )
        }
        _ => return None,
    };
    Some(PublishedKey {
        kid,
        algorithm,
        key,
    })
}

/// A base64url member without padding (RFC 7515 §2 forbids it, but some publishers add it).
fn trim(member: &str) -> &str {
    member.trim_end_matches('=')
}

fn decode(member: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(trim(member)).ok()
}

/// The length in bits of a big-endian unsigned integer.
fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}
