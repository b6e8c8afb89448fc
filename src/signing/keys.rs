//! Key material and the in-memory `KeySet`: the active signing key per algorithm, every published
//! verification key by `kid`, and the JWKS document. Pure: loading and storing is `keystore`'s.
//!
//! Private keys are PKCS#8 v1 held as parsed aws-lc-rs key pairs, so signing never re-parses a
//! key. A `kid` is the key's RFC 7638 JWK thumbprint.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::domain::Algorithm;

/// The JWS header type of access tokens (RFC 9068 §2.1), written into every key's token header
/// here and insisted on by verification, so that no other kind of JWT can pass for one.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key with its id and public JWK.
pub struct KeyMaterial {
    kid: String,
    algorithm: Algorithm,
    pair: Pair,
    pkcs8: Zeroizing<Vec<u8>>,
    jwk: Value,
    /// The base64url JWS header of the access tokens this key signs, built once.
    token_header: String,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl KeyMaterial {
    /// Generates a fresh key pair (RSA keys are 2048-bit).
    pub fn generate(algorithm: Algorithm) -> anyhow::Result<Self> {
        let err = |what: &str| anyhow::anyhow!("generating an {algorithm} key: {what}");
        let pkcs8 = match algorithm {
            Algorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| err("ecdsa"))?,
            Algorithm::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| err("rsa"))
                .and_then(|k| {
                    AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&k)
                        .map(|d| d.as_ref().to_vec())
                        .map_err(|_| err("rsa pkcs8"))
                })?,
            Algorithm::EdDSA => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| err("ed25519"))?,
        };
        Self::from_pkcs8(algorithm, Zeroizing::new(pkcs8))
    }

    /// Parses a PKCS#8 private key of the given algorithm.
    pub fn from_pkcs8(algorithm: Algorithm, pkcs8: Zeroizing<Vec<u8>>) -> anyhow::Result<Self> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| {
            anyhow::anyhow!("stored {algorithm} key rejected: {e}")
        };
        let (pair, jwk) = match algorithm {
            Algorithm::ES256 => {
                let k = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                    .map_err(rejected)?;
                let point = k.public_key().as_ref();
                anyhow::ensure!(point.len() == 65 && point[0] == 4, "unexpected EC point");
                let jwk = json!({"crv": "P-256", "kty": "EC",
                    "x": b64(&point[1..33]), "y": b64(&point[33..65])});
                (Pair::Ec(k), jwk)
            }
            Algorithm::RS256 => {
                let k = RsaKeyPair::from_pkcs8(&pkcs8).map_err(rejected)?;
                let public = k.public_key();
                let jwk = json!({"e": b64(public.exponent().big_endian_without_leading_zero()),
                    "kty": "RSA", "n": b64(public.modulus().big_endian_without_leading_zero())});
                (Pair::Rsa(k), jwk)
            }
            Algorithm::EdDSA => {
                let k = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(rejected)?;
                let jwk =
                    json!({"crv": "Ed25519", "kty": "OKP", "x": b64(k.public_key().as_ref())});
                (Pair::Ed(k), jwk)
            }
        };
        let kid = thumbprint(&jwk);
        let mut jwk = jwk;
        if let Value::Object(members) = &mut jwk {
            members.insert("kid".into(), kid.clone().into());
            members.insert("alg".into(), algorithm.as_str().into());
            members.insert("use".into(), "sig".into());
        }
        let header = json!({
            "alg": algorithm.as_str(),
            "kid": kid,
            "typ": ACCESS_TOKEN_TYP,
        });
        let token_header = b64(&serde_json::to_vec(&header)?);
        Ok(Self {
            kid,
            algorithm,
            pair,
            pkcs8,
            jwk,
            token_header,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public JWK (with `kid`, `alg`, `use`).
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// The base64url JWS header `{alg, kid, typ}` of an access token signed with this key.
    pub fn token_header(&self) -> &str {
        &self.token_header
    }

    /// The PKCS#8 private key, for sealing into storage.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Signs a JWS signing input, returning the raw JWS signature (RFC 7518 §3).
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Ec(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| anyhow::anyhow!("ES256 signing failed")),
            Pair::Rsa(k) => {
                let mut signature = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| anyhow::anyhow!("RS256 signing failed"))?;
                Ok(signature)
            }
            Pair::Ed(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

/// A published key: what verification needs.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The algorithm tokens under this key must declare.
    pub algorithm: Algorithm,
    /// The key for jsonwebtoken.
    pub decoding: Arc<DecodingKey>,
}

/// Builds a verification key from a public JWK as stored and published.
pub fn verifying_key(algorithm: Algorithm, jwk: &Value) -> anyhow::Result<VerifyingKey> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("JWK lacks {name}"))
    };
    let decoding = match algorithm {
        Algorithm::ES256 => DecodingKey::from_ec_components(member("x")?, member("y")?)?,
        Algorithm::RS256 => DecodingKey::from_rsa_components(member("n")?, member("e")?)?,
        Algorithm::EdDSA => DecodingKey::from_ed_components(member("x")?)?,
    };
    Ok(VerifyingKey {
        algorithm,
        decoding: Arc::new(decoding),
    })
}

/// The keys one instance works with, swapped whole when they change.
#[derive(Default)]
pub struct KeySet {
    signing: HashMap<Algorithm, Arc<KeyMaterial>>,
    verifying: HashMap<String, VerifyingKey>,
    jwks: Arc<Value>,
}

impl KeySet {
    /// A key set from active signing keys and every published public key `(kid, alg, jwk)`;
    /// verification keys already in `previous` under the same `kid` and algorithm are reused.
    pub fn new(
        active: Vec<Arc<KeyMaterial>>,
        published: Vec<(String, Algorithm, Value)>,
        previous: Option<&KeySet>,
    ) -> anyhow::Result<Self> {
        let mut verifying = HashMap::new();
        let mut keys = Vec::with_capacity(published.len());
        for (kid, algorithm, jwk) in published {
            let known = previous
                .and_then(|set| set.verifying.get(&kid))
                .filter(|known| known.algorithm == algorithm)
                .cloned();
            let key = match known {
                Some(key) => key,
                None => verifying_key(algorithm, &jwk)?,
            };
            verifying.insert(kid, key);
            keys.push(jwk);
        }
        let signing = active.into_iter().map(|k| (k.algorithm(), k)).collect();
        Ok(Self {
            signing,
            verifying,
            jwks: Arc::new(json!({ "keys": keys })),
        })
    }

    /// The active key for an algorithm.
    pub fn signing_key(&self, algorithm: Algorithm) -> Option<Arc<KeyMaterial>> {
        self.signing.get(&algorithm).cloned()
    }

    /// The active key with this `kid`, if there is one.
    pub fn active_key(&self, kid: &str) -> Option<Arc<KeyMaterial>> {
        self.signing.values().find(|k| k.kid() == kid).cloned()
    }

    /// A published key by `kid`.
    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.get(kid)
    }

    /// The JWKS document (RFC 7517 §5): every published public key.
    pub fn jwks(&self) -> Arc<Value> {
        Arc::clone(&self.jwks)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no spaces.
/// `serde_json` without `preserve_order` keeps object keys sorted, which is that order.
fn thumbprint(required_members: &Value) -> String {
    b64(&Sha256::digest(required_members.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_what_its_published_key_verifies() {
        for algorithm in Algorithm::ALL {
            let key = KeyMaterial::generate(algorithm).unwrap();
            let verifier = verifying_key(algorithm, key.public_jwk()).unwrap();
            let header = b64(json!({"alg": algorithm.as_str(), "kid": key.kid()})
                .to_string()
                .as_bytes());
            let payload = b64(br#"{"sub":"x"}"#);
            let input = format!("{header}.{payload}");
            let signature = b64(&key.sign(input.as_bytes()).unwrap());
            let alg: jsonwebtoken::Algorithm = algorithm.as_str().parse().unwrap();
            assert!(
                jsonwebtoken::crypto::verify(&signature, input.as_bytes(), &verifier.decoding, alg)
                    .unwrap(),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn a_key_survives_its_pkcs8_round_trip_with_the_same_kid() {
        let key = KeyMaterial::generate(Algorithm::ES256).unwrap();
        let again = KeyMaterial::from_pkcs8(Algorithm::ES256, Zeroizing::new(key.pkcs8().to_vec()))
            .unwrap();
        assert_eq!(key.kid(), again.kid());
        assert_eq!(key.public_jwk(), again.public_jwk());
    }

    #[test]
    fn the_kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk = json!({"e": "AQAB", "kty": "RSA", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
