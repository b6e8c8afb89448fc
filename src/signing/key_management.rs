//! The signing core's key management on a [`Signer`]: reloading this instance's key set,
//! rotation, emergency revocation and the key listing. The storage itself is [`super::keystore`]
//! and [`super::key_revocation`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::keystore::{self, KeyInfo};
use super::{key_revocation, Signer, SigningError};
use crate::audit::Actor;
use crate::domain::Algorithm;

impl Signer {
    /// Re-reads the key set (other instances may have rotated).
    pub async fn reload(&self, now: DateTime<Utc>) -> Result<(), SigningError> {
        // One reload at a time, each reading the database after the one before and never at an
        // earlier time: otherwise a reload that read the keys before a rotation (or with an older
        // `now`) could finish after a newer one and put the retired key back to signing, or an
        // unpublished key back in the JWKS, until the next reload.
        let mut latest = self.reloading.lock().await;
        let now = now.max(*latest);
        *latest = now;
        let previous = self.keys.load_full();
        let keys = keystore::load(&self.pool, &self.master, now, Some(&previous)).await?;
        self.keys.store(Arc::new(keys));
        Ok(())
    }

    /// Rotates one algorithm's keys, or every algorithm's when `None`, in one transaction
    /// recorded as one audit event by `actor`; each retired key stays published as long as any
    /// token it signed can live. Returns the new active kid of each.
    pub async fn rotate_some(
        &self,
        algorithm: Option<Algorithm>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Algorithm, String)>, SigningError> {
        let algorithms = algorithm.map_or(Algorithm::ALL.to_vec(), |a| vec![a]);
        // Its last token can live the TTL cap, and be presented for a refresh that long again.
        let publish_until = now
            + Duration::minutes(self.max_ttl_cap_minutes)
            + Duration::seconds(self.verify_after_expiry_seconds)
            + Duration::seconds(self.leeway_seconds);
        let rotated = keystore::rotate(
            &self.pool,
            &self.master,
            &algorithms,
            publish_until,
            actor,
            now,
        )
        .await?;
        self.reload(now).await?;
        Ok(rotated)
    }

    /// Revokes a signing key at once (see [`key_revocation`]) and reloads this instance's key
    /// set; `None` when no stored key has that kid.
    pub async fn revoke_key(
        &self,
        kid: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<key_revocation::Revoked>, SigningError> {
        let revoked = key_revocation::revoke(&self.pool, &self.master, kid, actor, now).await?;
        self.reload(now).await?;
        Ok(revoked)
    }

    /// Every stored key, newest first.
    pub async fn keys(&self) -> Result<Vec<KeyInfo>, SigningError> {
        keystore::list(&self.pool).await
    }
}
