//! Client secrets: generation, argon2id hashing and constant-time verification.
//!
//! A secret is 32 random bytes (base64url). It is stored as an argon2id hash plus a *locator*, a
//! short SHA-256 prefix that picks which of a client's live secrets to verify, so each attempt
//! costs exactly one argon2 verification, whether the client exists, has one secret or five. The
//! locator cannot help guess a 256-bit secret; argon2id remains the verifier.

use argon2::password_hash::{
    Output, ParamsString, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Generates a new random secret: 256 bits, base64url without padding (43 characters).
pub fn generate_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// The locator of a secret: 16 hex characters of its SHA-256, domain-separated.
pub fn locator(secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"tokenmint secret locator\0")
        .chain_update(secret.as_bytes())
        .finalize();
    hex::encode(&digest[..8])
}

/// Hashes a secret with argon2id (PHC string). CPU-heavy: call from a blocking thread.
pub fn hash_secret(secret: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(secret.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a secret: {e}"))
}

/// Verifies a secret against a PHC hash in constant time. CPU-heavy: call from a blocking thread.
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// [`hash_secret`] in caller-provided argon2 memory (grown as needed, then reused), so that
/// repeated hashing does not allocate and free ~19 MiB each time.
pub fn hash_secret_in(secret: &SecretString, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let argon = Argon2::default();
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("decoding a salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    fill(
        &argon,
        secret.expose_secret().as_bytes(),
        raw_salt,
        &mut out,
        memory,
    )
    .map_err(|e| anyhow::anyhow!("hashing a secret: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())
            .map_err(|e| anyhow::anyhow!("encoding argon2 parameters: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(hash.to_string())
}

/// [`verify_secret`] in caller-provided argon2 memory (grown as needed, then reused). The
/// parameters, salt and algorithm come from the PHC string; the comparison is constant-time.
pub fn verify_secret_in(secret: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    fill(&argon, secret.as_bytes(), raw_salt, out, memory).is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

/// Runs argon2 into `out` using `memory`, grown to the parameters' size when smaller. Every
/// block is written before it is read, so reused memory needs no clearing between runs.
fn fill(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), argon2::Error> {
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// Picks, in constant time over all candidates, the one (a hash, with what goes with it) whose
/// locator matches; `None` if none.
pub fn select_candidate<'a, T>(locator: &str, candidates: &'a [(String, T)]) -> Option<&'a T> {
    let mut chosen = None;
    for (candidate_locator, candidate) in candidates {
        if bool::from(candidate_locator.as_bytes().ct_eq(locator.as_bytes())) {
            chosen = Some(candidate);
        }
    }
    chosen
}

/// A hash of a random throwaway secret, verified against when there is no real candidate so that
/// an unknown client costs the same time as a wrong secret.
pub fn decoy_hash() -> anyhow::Result<String> {
    hash_secret(&generate_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_verifies_against_its_hash_and_nothing_else() {
        let secret = generate_secret();
        let hash = hash_secret(&secret).unwrap();
        assert!(verify_secret(secret.expose_secret(), &hash));
        assert!(!verify_secret("wrong", &hash));
        assert!(!verify_secret(secret.expose_secret(), "not a phc string"));
    }

    #[test]
    fn reused_memory_hashes_and_verifies_like_the_reference_implementation() {
        let mut memory = Vec::new();
        let secret = generate_secret();
        let ours = hash_secret_in(&secret, &mut memory).unwrap();
        let reference = hash_secret(&secret).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        for phc in [&ours, &reference] {
            assert!(verify_secret(secret.expose_secret(), phc));
            assert!(verify_secret_in(secret.expose_secret(), phc, &mut memory));
            assert!(!verify_secret_in("wrong", phc, &mut memory));
        }
        assert!(!verify_secret_in(
            secret.expose_secret(),
            "$argon2id$v=19$garbage",
            &mut memory
        ));
        assert!(!verify_secret_in(
            secret.expose_secret(),
            "not a phc string",
            &mut memory
        ));
        assert_eq!(memory.len(), Params::DEFAULT_M_COST as usize);
    }

    #[test]
    fn secrets_are_256_bit_and_distinct() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn the_locator_selects_the_matching_candidate() {
        let candidates = vec![
            (locator("one"), "hash-one".to_owned()),
            (locator("two"), "hash-two".to_owned()),
        ];
        assert_eq!(
            select_candidate(&locator("two"), &candidates).map(String::as_str),
            Some("hash-two")
        );
        assert_eq!(select_candidate(&locator("three"), &candidates), None);
    }
}
