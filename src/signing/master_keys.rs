//! The master keys an instance holds: `TOKENMINT_MASTER_KEY`, which seals everything new, and,
//! during a master-key rotation, `TOKENMINT_MASTER_KEY_PREVIOUS`, which only opens. A stored
//! value names the key that sealed it by fingerprint (`sealed_by`), so the right key opens it,
//! and a value sealed under a key this instance lacks is refused with that fingerprint, never
//! with anything of a key. Values stored before fingerprints were recorded (`sealed_by` null)
//! are opened by trying the current key, then the previous one.

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::master_key::MasterKey;
use crate::config::SigningSettings;

/// A value sealed under a master key, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// base64 of nonce, ciphertext and tag.
    pub value: String,
    /// The fingerprint of the master key that sealed it; `None` for values older than
    /// fingerprints.
    pub sealed_by: Option<String>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("sealed_by", &self.sealed_by)
            .finish_non_exhaustive()
    }
}

/// What [`MasterKeys::open`] found.
pub struct Opened<'k> {
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The key that opened it.
    pub key: &'k MasterKey,
    /// Whether it was sealed under the current key with its fingerprint recorded (nothing to
    /// re-seal).
    pub current: bool,
}

/// The current master key and, during a rotation, the previous one.
#[derive(Debug)]
pub struct MasterKeys {
    current: MasterKey,
    previous: Option<MasterKey>,
}

impl MasterKeys {
    /// The keys of `[signing] master_key` and `master_key_previous` (empty: none).
    pub fn from_settings(settings: &SigningSettings) -> anyhow::Result<Self> {
        use anyhow::Context;
        let current = MasterKey::from_base64(settings.master_key.expose_secret())
            .context("TOKENMINT_MASTER_KEY")?;
        let previous = settings.master_key_previous.expose_secret();
        let previous = match previous.trim() {
            "" => None,
            encoded => {
                Some(MasterKey::from_base64(encoded).context("TOKENMINT_MASTER_KEY_PREVIOUS")?)
            }
        };
        Ok(Self::new(current, previous))
    }

    /// A key ring of `current` and an optional `previous` (ignored when it is the same key).
    pub fn new(current: MasterKey, previous: Option<MasterKey>) -> Self {
        let previous = previous.filter(|p| p.fingerprint() != current.fingerprint());
        Self { current, previous }
    }

    /// The key that seals.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Whether this instance holds the key with fingerprint `fingerprint`.
    pub fn holds(&self, fingerprint: &str) -> bool {
        self.keys().any(|key| key.fingerprint() == fingerprint)
    }

    /// Seals `plaintext`, bound to `aad`, under the current key.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> anyhow::Result<Sealed> {
        Ok(Sealed {
            value: self.current.seal(aad, plaintext)?,
            sealed_by: Some(self.current.fingerprint().to_owned()),
        })
    }

    /// Opens `sealed` (bound to `aad`) with the key that sealed it; `what` names it in errors
    /// ("signing key <kid>").
    pub fn open(&self, what: &str, aad: &str, sealed: &Sealed) -> anyhow::Result<Opened<'_>> {
        match &sealed.sealed_by {
            Some(fingerprint) => {
                let key = self
                    .keys()
                    .find(|key| key.fingerprint() == fingerprint)
                    .ok_or_else(|| self.unknown(&format!("{what} is"), fingerprint))?;
                let plaintext = key.open(aad, &sealed.value).ok_or_else(|| {
                    anyhow::anyhow!(
                        "cannot decrypt {what} with master key {fingerprint}: altered in the \
                         database?"
                    )
                })?;
                let current = key.fingerprint() == self.current.fingerprint();
                Ok(Opened {
                    plaintext,
                    key,
                    current,
                })
            }
            None => self
                .keys()
                .find_map(|key| {
                    let plaintext = key.open(aad, &sealed.value)?;
                    Some(Opened {
                        plaintext,
                        key,
                        current: false,
                    })
                })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "cannot decrypt {what} with the master keys this instance holds ({}): \
                         wrong TOKENMINT_MASTER_KEY, or TOKENMINT_MASTER_KEY_PREVIOUS missing?",
                        self.describe()
                    )
                }),
        }
    }

    /// The error for a value sealed under a key this instance lacks; `what` is the subject with
    /// its verb ("signing key <kid> is").
    pub fn unknown(&self, what: &str, fingerprint: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{what} sealed under master key {fingerprint}, which this instance does not hold \
             ({}): give it that key as TOKENMINT_MASTER_KEY, or as TOKENMINT_MASTER_KEY_PREVIOUS \
             until `tokenmint master-key rotate` has re-sealed everything",
            self.describe()
        )
    }

    /// The fingerprints this instance holds, for messages: "TOKENMINT_MASTER_KEY is <fp>,
    /// TOKENMINT_MASTER_KEY_PREVIOUS is not set".
    pub fn describe(&self) -> String {
        let previous = match &self.previous {
            Some(key) => format!("is {}", key.fingerprint()),
            None => "is not set".to_owned(),
        };
        format!(
            "TOKENMINT_MASTER_KEY is {}, TOKENMINT_MASTER_KEY_PREVIOUS {previous}",
            self.current.fingerprint()
        )
    }

    /// The previous key, if any.
    pub fn previous(&self) -> Option<&MasterKey> {
        self.previous.as_ref()
    }

    fn keys(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (String, MasterKey) {
        let encoded = MasterKey::generate_base64().unwrap().to_string();
        let key = MasterKey::from_base64(&encoded).unwrap();
        (encoded, key)
    }

    #[test]
    fn seals_under_the_current_key_and_opens_what_either_key_sealed() {
        let (old_encoded, old) = key();
        let (new_encoded, new) = key();
        let old_fingerprint = old.fingerprint().to_owned();
        let before = MasterKeys::new(old, None)
            .seal("kid-1", b"private")
            .unwrap();
        assert_eq!(before.sealed_by.as_deref(), Some(old_fingerprint.as_str()));
        let both = MasterKeys::new(
            MasterKey::from_base64(&new_encoded).unwrap(),
            Some(MasterKey::from_base64(&old_encoded).unwrap()),
        );
        let opened = both.open("signing key kid-1", "kid-1", &before).unwrap();
        assert_eq!(opened.plaintext.as_slice(), b"private");
        assert!(!opened.current);
        let after = both.seal("kid-1", b"private").unwrap();
        assert_eq!(after.sealed_by.as_deref(), Some(new.fingerprint()));
        let opened = both.open("signing key kid-1", "kid-1", &after).unwrap();
        assert!(opened.current);
        assert_eq!(opened.plaintext.as_slice(), b"private");
    }

    #[test]
    fn a_value_sealed_under_a_key_not_held_is_refused_naming_its_fingerprint_only() {
        let (old_encoded, old) = key();
        let (new_encoded, new) = key();
        let sealed = MasterKeys::new(new, None)
            .seal("kid-1", b"private")
            .unwrap();
        let fingerprint = sealed.sealed_by.clone().unwrap();
        let only_old = MasterKeys::new(old, None);
        let err = only_old
            .open("signing key kid-1", "kid-1", &sealed)
            .err()
            .unwrap();
        let message = format!("{err:#}");
        assert!(message.contains(&fingerprint), "{message}");
        assert!(message.contains("signing key kid-1"), "{message}");
        assert!(
            message.contains("TOKENMINT_MASTER_KEY_PREVIOUS is not set"),
            "{message}"
        );
        assert!(!message.contains(&old_encoded) && !message.contains(&new_encoded));
    }

    #[test]
    fn a_value_older_than_fingerprints_opens_with_whichever_key_sealed_it() {
        let (_, old) = key();
        let (_, new) = key();
        let old_fingerprint = old.fingerprint().to_owned();
        let legacy = Sealed {
            value: old.seal("kid-1", b"private").unwrap(),
            sealed_by: None,
        };
        let both = MasterKeys::new(new, Some(old));
        let opened = both.open("signing key kid-1", "kid-1", &legacy).unwrap();
        assert_eq!(opened.key.fingerprint(), old_fingerprint);
        assert!(!opened.current);
        let (_, stranger) = key();
        let strangers = MasterKeys::new(stranger, None);
        let err = strangers
            .open("signing key kid-1", "kid-1", &legacy)
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("wrong TOKENMINT_MASTER_KEY"));
    }

    #[test]
    fn a_previous_key_equal_to_the_current_one_is_ignored() {
        let (encoded, current) = key();
        let keys = MasterKeys::new(current, Some(MasterKey::from_base64(&encoded).unwrap()));
        assert!(keys.previous().is_none());
        assert!(!format!("{keys:?}").contains(&encoded));
    }
}
