//! The master key: the one configured secret that seals private signing keys at rest
//! (AES-256-GCM, a random nonce before the ciphertext, the `kid` as associated data) and from
//! which other per-purpose subkeys are derived. Never printed: its `Debug` shows nothing.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

/// The key that seals private keys at rest.
pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
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
        anyhow::ensure!(
            bytes.len() == 32,
            "the master key must be 32 bytes (base64 of 32 random bytes)"
        );
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("the master key was rejected"))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A 32-byte subkey of a base64 master key for another purpose, named by `label`
    /// (HMAC-SHA256 of the label under the master key), so one configured secret serves several
    /// independent uses.
    pub fn derive_subkey(encoded: &str, label: &str) -> anyhow::Result<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| anyhow::anyhow!("the master key is not valid base64"))?,
        );
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&bytes)
            .map_err(|_| anyhow::anyhow!("the master key was rejected"))?;
        mac.update(label.as_bytes());
        Ok(mac.finalize().into_bytes().into())
    }

    /// A new random master key, base64.
    pub fn generate_base64() -> anyhow::Result<Zeroizing<String>> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| anyhow::anyhow!("no randomness for the master key"))?;
        Ok(Zeroizing::new(STANDARD.encode(bytes.as_ref())))
    }

    pub(super) fn seal(&self, kid: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut buffer = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| anyhow::anyhow!("sealing a private key failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(STANDARD.encode(out))
    }

    pub(super) fn open(&self, kid: &str, sealed: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let raw = STANDARD.decode(sealed)?;
        anyhow::ensure!(raw.len() > NONCE_LEN, "sealed key {kid} is truncated");
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plain_len = self
            .0
            .open_in_place(nonce, Aad::from(kid.as_bytes()), buffer.as_mut_slice())
            .map_err(|_| {
                anyhow::anyhow!("cannot decrypt signing key {kid}: wrong TOKENMINT_MASTER_KEY?")
            })?
            .len();
        buffer.truncate(plain_len);
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_under_its_kid_and_master_key() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64().unwrap()).unwrap();
        let sealed = master.seal("kid-1", b"private").unwrap();
        assert_eq!(
            master.open("kid-1", &sealed).unwrap().as_slice(),
            b"private"
        );
        assert!(master.open("kid-2", &sealed).is_err());
        let other = MasterKey::from_base64(&MasterKey::generate_base64().unwrap()).unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
    }

    #[test]
    fn a_master_key_must_be_32_bytes_of_base64() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }
}
