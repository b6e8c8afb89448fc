//! Real key pairs for tests, their public JWKs, and compact JWS tokens they sign.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Header;
use serde_json::{json, Value};

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A key pair with a `kid`.
pub(in crate::remote_keys) struct TestKey {
    kid: String,
    pair: Pair,
}

pub(in crate::remote_keys) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// A fresh P-256 key.
    pub(in crate::remote_keys) fn es256(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        Self::new(kid, Pair::Ec(pair))
    }

    /// A fresh 2048-bit RSA key.
    pub(in crate::remote_keys) fn rs256(kid: &str) -> Self {
        Self::new(
            kid,
            Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
        )
    }

    /// A fresh Ed25519 key.
    pub(in crate::remote_keys) fn ed25519(kid: &str) -> Self {
        Self::new(kid, Pair::Ed(Ed25519KeyPair::generate().unwrap()))
    }

    fn new(kid: &str, pair: Pair) -> Self {
        Self {
            kid: kid.to_owned(),
            pair,
        }
    }

    /// The algorithm, as jsonwebtoken names it.
    pub(in crate::remote_keys) fn alg(&self) -> jsonwebtoken::Algorithm {
        match self.pair {
            Pair::Ec(_) => jsonwebtoken::Algorithm::ES256,
            Pair::Rsa(_) => jsonwebtoken::Algorithm::RS256,
            Pair::Ed(_) => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    /// The public JWK, with `kid` and without `alg` (as many publishers write it).
    pub(in crate::remote_keys) fn jwk(&self) -> Value {
        let mut jwk = match &self.pair {
            Pair::Ec(k) => {
                let point = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
            Pair::Rsa(k) => {
                let public = k.public_key();
                json!({"kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero())})
            }
            Pair::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())})
            }
        };
        jwk["kid"] = self.kid.clone().into();
        jwk
    }

    /// The header of a token this key signs.
    pub(in crate::remote_keys) fn header(&self) -> Header {
        Header {
            kid: Some(self.kid.clone()),
            ..Header::new(self.alg())
        }
    }

    /// A compact JWS of `claims` under [`Self::header`].
    pub(in crate::remote_keys) fn sign(&self, claims: &Value) -> String {
        let header = serde_json::to_vec(&self.header()).unwrap();
        let input = format!(
            "{}.{}",
            b64(&header),
            b64(&serde_json::to_vec(claims).unwrap())
        );
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Ec(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Pair::Rsa(k) => {
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
                    .unwrap();
                signature
            }
            Pair::Ed(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", b64(&signature))
    }
}

/// `{"keys": [...]}` of the keys' public JWKs.
pub(in crate::remote_keys) fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

/// A header with this `alg` and `kid`.
pub(in crate::remote_keys) fn header(alg: jsonwebtoken::Algorithm, kid: Option<&str>) -> Header {
    Header {
        kid: kid.map(str::to_owned),
        ..Header::new(alg)
    }
}
