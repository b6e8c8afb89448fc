//! The admin credential: SHA-256 of the presented bearer token compared in constant time with
//! the configured one. No configured token means every admin request is refused. The admin
//! API's guard (`admin::auth`) asks it; it knows nothing of HTTP.

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::AdminSettings;

/// The configured admin credential, as a digest.
#[derive(Clone)]
pub struct AdminCredential {
    digest: Option<[u8; 32]>,
}

impl std::fmt::Debug for AdminCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCredential")
            .field("configured", &self.digest.is_some())
            .finish()
    }
}

impl AdminCredential {
    /// From settings: the token in clear wins over its configured SHA-256 (hex).
    pub fn from_settings(admin: &AdminSettings) -> anyhow::Result<Self> {
        let token = admin.token.expose_secret();
        let digest = if !token.is_empty() {
            Some(Sha256::digest(token.as_bytes()).into())
        } else if !admin.token_sha256.trim().is_empty() {
            let hex = admin.token_sha256.trim();
            anyhow::ensure!(
                hex.len() == 64,
                "admin.token_sha256 must be 64 hex characters"
            );
            let mut digest = [0u8; 32];
            for (i, byte) in digest.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                    .map_err(|_| anyhow::anyhow!("admin.token_sha256 is not hex"))?;
            }
            Some(digest)
        } else {
            None
        };
        Ok(Self { digest })
    }

    /// Whether `presented` is the admin token.
    pub fn accepts(&self, presented: &str) -> bool {
        let Some(expected) = &self.digest else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(digest.ct_eq(expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(token: &str, sha: &str) -> AdminSettings {
        AdminSettings {
            token: token.to_owned().into(),
            token_sha256: sha.to_owned(),
        }
    }

    #[test]
    fn the_token_or_its_digest_is_accepted_and_nothing_else() {
        let plain = AdminCredential::from_settings(&settings("s3cret", "")).unwrap();
        assert!(plain.accepts("s3cret"));
        assert!(!plain.accepts("s3cret "));
        let hex: String = Sha256::digest(b"s3cret")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let hashed = AdminCredential::from_settings(&settings("", &hex)).unwrap();
        assert!(hashed.accepts("s3cret"));
        assert!(!hashed.accepts("other"));
    }

    #[test]
    fn without_a_configured_token_nothing_is_accepted() {
        let none = AdminCredential::from_settings(&settings("", "")).unwrap();
        assert!(!none.accepts(""));
    }
}
