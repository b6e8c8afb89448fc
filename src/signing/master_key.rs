//! The master key: the configured secret that seals private signing keys and the service's own
//! secrets at rest (AES-256-GCM, a random nonce before the ciphertext, a name of the value as
//! associated data). Each master key has a public fingerprint, stored beside every value it
//! sealed, so an instance holding two keys during a master-key rotation knows which one opens
//! it (see `master_keys`). Never printed: its `Debug` shows the fingerprint only.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

/// The label whose HMAC under the key is the fingerprint: fixed, so a key's fingerprint is the
/// same on every instance and in every release.
const FINGERPRINT_LABEL: &str = "tokenmint master key fingerprint v1";
/// Bytes of the HMAC kept in a fingerprint (16 hex characters): enough to tell a handful of keys
/// apart, and, being an HMAC output, nothing about the key.
const FINGERPRINT_BYTES: usize = 8;

/// A key that seals values at rest.
pub struct MasterKey {
    aead: LessSafeKey,
    raw: Zeroizing<[u8; 32]>,
    fingerprint: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint)
    }
}

impl MasterKey {
    /// Parses base64 of exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> anyhow::Result<Self> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| anyhow::anyhow!("the master key is not valid base64"))?,
        );
        let raw: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!("the master key must be 32 bytes (base64 of 32 random bytes)")
        })?;
        let raw = Zeroizing::new(raw);
        let key = UnboundKey::new(&AES_256_GCM, raw.as_slice())
            .map_err(|_| anyhow::anyhow!("the master key was rejected"))?;
        let fingerprint = hex::encode(&hmac(&raw, FINGERPRINT_LABEL)[..FINGERPRINT_BYTES]);
        Ok(Self {
            aead: LessSafeKey::new(key),
            raw,
            fingerprint,
        })
    }

    /// The key's public fingerprint (16 hex characters), recorded beside what it seals.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A 32-byte subkey for another purpose, named by `label` (HMAC-SHA256 of the label under
    /// the key). Only the credential pepper of deployments older than stored peppers is made
    /// this way (see `sealed_secrets`): a subkey changes with the master key.
    pub fn derive_subkey(&self, label: &str) -> Zeroizing<[u8; 32]> {
        hmac(&self.raw, label)
    }

    /// A new random master key, base64.
    pub fn generate_base64() -> anyhow::Result<Zeroizing<String>> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| anyhow::anyhow!("no randomness for the master key"))?;
        Ok(Zeroizing::new(STANDARD.encode(bytes.as_ref())))
    }

    /// Seals `plaintext` bound to `aad` (a signing key's `kid`, a secret's name): base64 of the
    /// nonce followed by the ciphertext and tag.
    pub(super) fn seal(&self, aad: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut buffer = plaintext.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| anyhow::anyhow!("sealing {aad} failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(STANDARD.encode(out))
    }

    /// Opens a value [`seal`](Self::seal) made under this key with the same `aad`; `None` when
    /// it does not open (another key, another `aad`, or tampered with).
    pub(super) fn open(&self, aad: &str, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
        let raw = STANDARD.decode(sealed).ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plain_len = self
            .aead
            .open_in_place(nonce, Aad::from(aad.as_bytes()), buffer.as_mut_slice())
            .ok()?
            .len();
        buffer.truncate(plain_len);
        Some(buffer)
    }
}

fn hmac(key: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    // A 32-byte key always suits HMAC-SHA256 (any length does).
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(label.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> MasterKey {
        MasterKey::from_base64(&MasterKey::generate_base64().unwrap()).unwrap()
    }

    #[test]
    fn a_sealed_key_opens_only_under_its_aad_and_master_key() {
        let master = fresh();
        let sealed = master.seal("kid-1", b"private").unwrap();
        assert_eq!(
            master.open("kid-1", &sealed).unwrap().as_slice(),
            b"private"
        );
        assert!(master.open("kid-2", &sealed).is_none());
        assert!(fresh().open("kid-1", &sealed).is_none());
    }

    #[test]
    fn a_master_key_must_be_32_bytes_of_base64() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }

    #[test]
    fn the_fingerprint_is_a_stable_hmac_that_shows_nothing_of_the_key() {
        // 32 zero bytes: the fingerprint is the first 8 bytes of HMAC-SHA256(key, label).
        let zero = MasterKey::from_base64(&STANDARD.encode([0u8; 32])).unwrap();
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap();
        mac.update(FINGERPRINT_LABEL.as_bytes());
        let expected = hex::encode(&mac.finalize().into_bytes()[..8]);
        assert_eq!(zero.fingerprint(), expected);
        assert_eq!(zero.fingerprint().len(), 16);
        let encoded = MasterKey::generate_base64().unwrap();
        let (one, again) = (
            MasterKey::from_base64(&encoded).unwrap(),
            MasterKey::from_base64(&encoded).unwrap(),
        );
        assert_eq!(one.fingerprint(), again.fingerprint());
        assert_ne!(one.fingerprint(), fresh().fingerprint());
        assert_eq!(
            format!("{one:?}"),
            format!("MasterKey({})", one.fingerprint())
        );
        assert!(!format!("{one:?}").contains(encoded.as_str()));
    }

    #[test]
    fn a_subkey_is_the_hmac_of_its_label_as_before_stored_peppers() {
        // What `derive_subkey(encoded, label)` computed before peppers were stored.
        let encoded = MasterKey::generate_base64().unwrap();
        let raw = STANDARD.decode(encoded.as_str()).unwrap();
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&raw).unwrap();
        mac.update(b"tokenmint credential digest v1");
        let before: [u8; 32] = mac.finalize().into_bytes().into();
        let key = MasterKey::from_base64(&encoded).unwrap();
        assert_eq!(*key.derive_subkey("tokenmint credential digest v1"), before);
    }
}
