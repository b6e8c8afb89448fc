//! X.509 certificates of service accounts: parsing a PEM into what the registry keeps (validity,
//! fingerprint, subject) and the RSA public key that verifies assertions. Pure.
//!
//! Assertions are RS256 (RSASSA-PKCS1-v1_5 with SHA-256), so only certificates with an RSA key of
//! 2048 to 8192 bits are accepted: exactly what the verification algorithm can use. The key is
//! parsed into the verifier's own form once, when the certificate is read or registered
//! ([`CertificateKey`]), so verifying an assertion parses nothing.

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use x509_parser::pem::Pem;
use x509_parser::public_key::PublicKey;

use crate::registry::client::millis_to_time;

/// Smallest accepted RSA modulus, bits (RFC 7518 §3.3 asks for 2048 or more).
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus the verifier accepts, bits.
const MAX_RSA_BITS: usize = 8192;

/// A registered certificate as the registry shows it (never the PEM itself).
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate's id within tokenmint.
    pub id: String,
    /// Lowercase hex SHA-256 of the DER encoding.
    pub fingerprint: String,
    /// The subject's distinguished name.
    pub subject: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// The RSA public key, ready to verify assertions.
    pub public_key: CertificateKey,
}

/// A certificate's RSA public key, parsed once for RS256 verification (RSASSA-PKCS1-v1_5 with
/// SHA-256, 2048 to 8192 bits); cloning shares the parsed key.
#[derive(Clone)]
pub struct CertificateKey(ParsedPublicKey);

impl CertificateKey {
    /// Parses a DER `RSAPublicKey` (RFC 8017 A.1.1); `None` when the verifier cannot use it.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .ok()
            .map(Self)
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sig(message, signature).is_ok()
    }
}

/// Keys are equal when their DER encodings are.
impl PartialEq for CertificateKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_ref() == other.0.as_ref()
    }
}

impl Eq for CertificateKey {}

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateKey(RSA)")
    }
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("id", &self.id)
            .field("fingerprint", &self.fingerprint)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Whether the certificate is within its validity period at `now` (both ends inclusive, as
    /// RFC 5280 §4.1.2.5 defines validity).
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// What a PEM holds, parsed and checked.
#[derive(Clone, Debug)]
pub(super) struct Parsed {
    /// Lowercase hex SHA-256 of the DER encoding.
    pub fingerprint: String,
    /// The subject's distinguished name.
    pub subject: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// The RSA public key.
    pub public_key: CertificateKey,
}

/// Parses one PEM-encoded X.509 certificate with an RSA key; the error says what is wrong.
pub(super) fn parse(pem: &str) -> Result<Parsed, String> {
    let mut blocks = Pem::iter_from_buffer(pem.as_bytes());
    let block = match blocks.next() {
        Some(Ok(block)) => block,
        _ => return Err("is not a PEM-encoded X.509 certificate".into()),
    };
    if blocks.next().is_some() {
        return Err("must hold exactly one certificate".into());
    }
    if block.label != "CERTIFICATE" {
        return Err(format!(
            "is a PEM {:?} block, not a CERTIFICATE",
            block.label
        ));
    }
    let cert = block
        .parse_x509()
        .map_err(|_| "is not a valid X.509 certificate".to_owned())?;
    let spki = cert.public_key();
    let bits = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => modulus_bits(rsa.modulus),
        _ => return Err("must carry an RSA public key (assertions are RS256)".into()),
    };
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(format!(
            "has a {bits}-bit RSA key; {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are accepted"
        ));
    }
    let public_key = CertificateKey::from_der(&spki.subject_public_key.data)
        .ok_or_else(|| "has an RSA public key that cannot verify RS256 signatures".to_owned())?;
    let validity = cert.validity();
    Ok(Parsed {
        fingerprint: hex(&Sha256::digest(&block.contents)),
        subject: cert.subject().to_string(),
        not_before: seconds_to_time(validity.not_before.timestamp()),
        not_after: seconds_to_time(validity.not_after.timestamp()),
        public_key,
    })
}

/// Parses a PEM and checks it is valid at `now`: what registration requires.
pub(super) fn parse_current(pem: &str, now: DateTime<Utc>) -> Result<Parsed, String> {
    let parsed = parse(pem)?;
    if parsed.not_after < now {
        return Err(format!("has expired (not after {})", parsed.not_after));
    }
    if parsed.not_before > now {
        return Err(format!(
            "is not yet valid (not before {})",
            parsed.not_before
        ));
    }
    Ok(parsed)
}

fn modulus_bits(modulus: &[u8]) -> usize {
    let trimmed: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(start) => &modulus[start..],
        None => &[],
    };
    trimmed.first().map_or(0, |first| {
        trimmed.len() * 8 - first.leading_zeros() as usize
    })
}

fn seconds_to_time(seconds: i64) -> DateTime<Utc> {
    millis_to_time(seconds.saturating_mul(1000))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use rcgen::{CertificateParams, KeyPair, RsaKeySize, PKCS_RSA_SHA256};

    fn self_signed(key: &KeyPair) -> String {
        let params = CertificateParams::new(vec!["svc.example".to_owned()]).unwrap();
        params.self_signed(key).unwrap().pem()
    }

    #[test]
    fn an_rsa_certificate_yields_its_validity_fingerprint_and_public_key() {
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let parsed = parse_current(&self_signed(&key), now).unwrap();
        assert_eq!(parsed.fingerprint.len(), 64);
        assert!(parsed.not_before < parsed.not_after);
        // The parsed key verifies the certificate key's RS256 signatures, and only those.
        let signer = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap();
        let mut signature = vec![0; signer.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let rs256 = &aws_lc_rs::signature::RSA_PKCS1_SHA256;
        signer
            .sign(rs256, &rng, b"header.claims", &mut signature)
            .unwrap();
        assert!(parsed.public_key.verifies(b"header.claims", &signature));
        assert!(!parsed.public_key.verifies(b"header.claimz", &signature));
        let other = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
        let other = parse(&self_signed(&other)).unwrap();
        assert!(!other.public_key.verifies(b"header.claims", &signature));
        assert_ne!(other.public_key, parsed.public_key);
    }

    #[test]
    fn other_keys_other_blocks_and_garbage_are_refused_with_a_reason() {
        let ec = KeyPair::generate().unwrap();
        assert!(parse(&self_signed(&ec)).unwrap_err().contains("RSA"));
        assert!(parse(&ec.serialize_pem())
            .unwrap_err()
            .contains("PRIVATE KEY"));
        assert!(parse("hello").is_err());
        let rsa = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
        let twice = format!("{}\n{}", self_signed(&rsa), self_signed(&rsa));
        assert!(parse(&twice).unwrap_err().contains("exactly one"));
    }

    #[test]
    fn an_rsa_key_the_verifier_cannot_use_is_refused() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
        let pem = Pem::iter_from_buffer(self_signed(&key).as_bytes())
            .next()
            .unwrap()
            .unwrap();
        // The public exponent 65537 (INTEGER 01 00 01) becomes 65538: an X.509 parser still
        // reads a 2048-bit RSA key, but an even exponent cannot verify anything.
        let mut der = pem.contents;
        let exponent = der
            .windows(5)
            .rposition(|w| w == [0x02, 0x03, 0x01, 0x00, 0x01]);
        der[exponent.unwrap() + 4] = 0x02;
        let body = STANDARD.encode(&der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect();
        let tampered = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        let why = parse(&tampered).unwrap_err();
        assert!(why.contains("cannot verify RS256 signatures"), "{why}");
    }

    #[test]
    fn validity_is_checked_at_registration_time() {
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
        let pem = self_signed(&key);
        let parsed = parse(&pem).unwrap();
        let late = parsed.not_after + Duration::seconds(1);
        assert!(parse_current(&pem, late).unwrap_err().contains("expired"));
        let early = parsed.not_before - Duration::seconds(1);
        assert!(parse_current(&pem, early)
            .unwrap_err()
            .contains("not yet valid"));
    }

    #[test]
    fn modulus_bits_ignore_leading_zero_bytes() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(modulus_bits(&[0x01]), 1);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
