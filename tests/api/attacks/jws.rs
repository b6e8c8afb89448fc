//! The attacker's toolbox: compact JWS built by hand (any header, any signature), an attacker's
//! own ES256 key, HMAC, and the service's published JWKs turned into the byte strings a confused
//! verifier might use as an HMAC secret (SPKI PEM, DER, JWK JSON).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

/// base64url without padding, as JWS uses.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token's header and claims, decoded without any check.
pub fn decode_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next = || {
        let part = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        serde_json::from_slice(&part).unwrap()
    };
    (next(), next())
}

/// A compact JWS of `header` and `claims` with the signature `sign` makes of the signing input.
pub fn compact(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// An HS256 signature under `secret`.
pub fn hs256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::sign(&key, input).as_ref().to_vec()
}

/// An ES256 key pair: the attacker's own, or a stolen one.
pub struct EcKey(EcdsaKeyPair, Vec<u8>);

impl EcKey {
    /// A fresh key.
    pub fn generate() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Self {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).unwrap();
        Self(pair, der.to_vec())
    }

    /// A self-signed certificate for this key, DER (for an `x5c` header).
    pub fn certificate_der(&self) -> Vec<u8> {
        let key = rcgen::KeyPair::try_from(self.1.as_slice()).unwrap();
        let params = rcgen::CertificateParams::new(vec!["attacker.example".to_owned()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    /// An ES256 signature of `input`.
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        self.0
            .sign(&SystemRandom::new(), input)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    /// The public key as a JWK named `kid`.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let point = self.0.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }
}

/// The byte strings a verifier confusing a public key with an HMAC secret might use for `jwk`:
/// its SPKI PEM (with and without the final newline), its DER, and its JWK JSON.
pub fn public_key_secrets(jwk: &Value) -> Vec<(String, Vec<u8>)> {
    let der = spki_der(jwk);
    let body: Vec<String> = STANDARD
        .encode(&der)
        .as_bytes()
        .chunks(64)
        .map(|line| String::from_utf8(line.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        body.join("\n")
    );
    vec![
        ("PEM".to_owned(), pem.clone().into_bytes()),
        ("PEM without newline".to_owned(), pem.trim_end().into()),
        ("DER".to_owned(), der),
        ("JWK JSON".to_owned(), jwk.to_string().into_bytes()),
    ]
}

/// SubjectPublicKeyInfo DER of a published JWK (EC P-256, RSA or Ed25519).
fn spki_der(jwk: &Value) -> Vec<u8> {
    let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let (algorithm, key): (Vec<u8>, Vec<u8>) = match jwk["kty"].as_str().unwrap() {
        "EC" => {
            // id-ecPublicKey, prime256v1; the uncompressed point.
            let oids = [
                der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
                der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            ]
            .concat();
            (oids, [&[4u8][..], &field("x"), &field("y")].concat())
        }
        "RSA" => {
            // rsaEncryption, NULL; RSAPublicKey { n, e }.
            let oid = der(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            );
            let integer = |bytes: Vec<u8>| der(0x02, &[&[0u8][..], &bytes].concat());
            let rsa_key = der(0x30, &[integer(field("n")), integer(field("e"))].concat());
            ([oid, der(0x05, &[])].concat(), rsa_key)
        }
        "OKP" => (der(0x06, &[0x2b, 0x65, 0x70]), field("x")),
        other => panic!("unexpected key type {other}"),
    };
    let bit_string = der(0x03, &[&[0u8][..], &key].concat());
    der(0x30, &[der(0x30, &algorithm), bit_string].concat())
}

/// One DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A stored signing key's PKCS#8, opened with the master key (AES-256-GCM, nonce first, `kid` as
/// associated data), as someone holding the database and the master key could.
pub async fn unseal(pool: &sqlx::AnyPool, master_key: &str, kid: &str) -> Vec<u8> {
    let (sealed,): (String,) =
        sqlx::query_as("select private_key_sealed from signing_keys where kid = $1")
            .bind(kid)
            .fetch_one(pool)
            .await
            .unwrap();
    let raw = STANDARD.decode(sealed).unwrap();
    let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
    let master = STANDARD.decode(master_key).unwrap();
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &master).unwrap());
    let mut buffer = ciphertext.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).unwrap();
    let plain = key
        .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
        .unwrap();
    plain.to_vec()
}
