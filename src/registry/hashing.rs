//! argon2id on a bounded budget: at most one hash or verification per core at a time, each in a
//! memory block kept for the next one.
//!
//! A verification with the default parameters takes ~19 MiB and a core for tens of milliseconds.
//! Without a bound, a flood of wrong secrets (which the verified-credential cache cannot absorb)
//! would queue that much memory per request; without reuse, the allocator would keep the freed
//! blocks of every thread that ever ran one. Here the memory held for argon2 is at most one
//! block per permit, reused by every run.

use std::sync::Mutex;

use argon2::Block;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use super::{secret, RegistryError};

/// The argon2 budget: permits and the memory blocks that go with them.
pub(crate) struct Hasher {
    permits: Semaphore,
    memory: Mutex<Vec<Vec<Block>>>,
}

impl Hasher {
    /// A budget of `parallelism` concurrent runs.
    pub(crate) fn new(parallelism: usize) -> Self {
        Self {
            permits: Semaphore::new(parallelism.max(1)),
            memory: Mutex::new(Vec::new()),
        }
    }

    /// Whether `presented` matches the argon2id PHC string `hash` (constant-time).
    pub(crate) async fn verify(
        &self,
        presented: &str,
        hash: String,
    ) -> Result<bool, RegistryError> {
        let presented = zeroize::Zeroizing::new(presented.to_owned());
        self.run(move |memory| secret::verify_secret_in(&presented, &hash, memory))
            .await
    }

    /// The argon2id PHC string of a new secret.
    pub(crate) async fn hash(&self, secret: SecretString) -> Result<String, RegistryError> {
        Ok(self
            .run(move |memory| secret::hash_secret_in(&secret, memory))
            .await??)
    }

    /// Runs `work` on the blocking pool with a permit and a memory block.
    async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> R + Send + 'static,
    ) -> Result<R, RegistryError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| anyhow::anyhow!("argon2 permits closed: {e}"))?;
        let mut memory = self
            .memory
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = work(&mut memory);
            (result, memory)
        })
        .await
        .map_err(|e| anyhow::anyhow!("argon2 task failed: {e}"))?;
        if let Ok(mut free) = self.memory.lock() {
            free.push(memory);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[tokio::test]
    async fn memory_is_kept_for_reuse_and_bounded_by_the_permits() {
        let hasher = std::sync::Arc::new(Hasher::new(2));
        let secret = secret::generate_secret();
        let hash = hasher.hash(secret.clone()).await.unwrap();
        let runs = (0..4).map(|i| {
            let (hasher, hash) = (hasher.clone(), hash.clone());
            let presented = if i % 2 == 0 {
                secret.expose_secret().to_owned()
            } else {
                "wrong".into()
            };
            tokio::spawn(async move { hasher.verify(&presented, hash).await.unwrap() })
        });
        let outcomes: Vec<bool> = futures::future::join_all(runs)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(outcomes, [true, false, true, false]);
        let kept = hasher.memory.lock().unwrap().len();
        assert!((1..=2).contains(&kept), "{kept} blocks kept");
    }
}
