//! The exchange cache: what token exchange reads on every request (an issuer's trust policies,
//! the policy's client, and subject tokens that verified), kept while nothing changes.

use std::sync::Arc;

use serde_json::Value;

use super::{from_row, TrustPolicy, COLUMNS};
use crate::registry::{Client, ClientRegistry, RegistryError};

/// Trust policies by issuer and clients by id, as token exchange reads them on every request.
/// An entry keeps the registry's change count from before its database read and is used only
/// while that count is unchanged (a change here, or one another instance announces, counts) and
/// the caches are trusted, and for at most the verified-credential TTL.
pub(crate) struct ExchangeCache {
    policies: moka::sync::Cache<String, (u64, Arc<Vec<TrustPolicy>>)>,
    clients: moka::sync::Cache<String, (u64, Arc<Client>)>,
    /// Outside tokens that verified, by the SHA-256 of the token: their claims.
    subjects: moka::sync::Cache<String, (u64, Arc<serde_json::Map<String, Value>>)>,
}

impl ExchangeCache {
    /// A cache of at most `capacity` issuers and as many clients, each kept at most `ttl`.
    pub(crate) fn new(capacity: u64, ttl: std::time::Duration) -> Self {
        Self {
            policies: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            clients: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            subjects: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }
}

impl ClientRegistry {
    /// The policies for tokens of `issuer` (exactly), oldest first; only `client_id`'s when given.
    /// Served from the exchange cache while nothing changed (see [`ExchangeCache`]).
    pub async fn trust_policies_for(
        &self,
        issuer: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<TrustPolicy>, RegistryError> {
        let of_client = |policies: &[TrustPolicy]| -> Vec<TrustPolicy> {
            policies
                .iter()
                .filter(|p| client_id.is_none_or(|id| p.client_id.as_str() == id))
                .cloned()
                .collect()
        };
        let trusted = self.generations.trusted();
        let changes = self.generations.changes();
        if trusted {
            if let Some((seen, policies)) = self.exchange_cache.policies.get(issuer) {
                if seen == changes {
                    return Ok(of_client(&policies));
                }
            }
        }
        let sql = format!(
            "select {COLUMNS} from trust_policies where issuer = $1 order by created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(issuer)
            .fetch_all(self.db.pool())
            .await?;
        let policies = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        let found = of_client(&policies);
        if trusted {
            self.exchange_cache
                .policies
                .insert(issuer.to_owned(), (changes, Arc::new(policies)));
        }
        Ok(found)
    }

    /// The registry's change count now: read before verifying an outside token, and handed to
    /// [`Self::remember_subject_token`] with its claims.
    pub fn exchange_ticket(&self) -> u64 {
        self.generations.changes()
    }

    /// The claims of an outside token that verified under the policies of its issuer (by the
    /// SHA-256 of the token), while nothing changed since and for at most the verified-credential
    /// TTL; the caller still checks its `exp`. Like a secret that verified once, a subject token
    /// presented again (a CI job's several calls, a pod's hour) skips the signature check.
    pub fn verified_subject_token(
        &self,
        digest: &str,
    ) -> Option<Arc<serde_json::Map<String, Value>>> {
        if !self.generations.trusted() {
            return None;
        }
        let (seen, claims) = self.exchange_cache.subjects.get(digest)?;
        (seen == self.generations.changes()).then_some(claims)
    }

    /// Remembers an outside token's verified claims (see [`Self::verified_subject_token`]);
    /// `ticket` is [`Self::exchange_ticket`] from before its verification.
    pub fn remember_subject_token(
        &self,
        digest: String,
        ticket: u64,
        claims: Arc<serde_json::Map<String, Value>>,
    ) {
        if self.generations.trusted() {
            self.exchange_cache
                .subjects
                .insert(digest, (ticket, claims));
        }
    }

    /// A client by id for token exchange, served from the exchange cache while nothing changed.
    pub async fn exchange_client(&self, id: &str) -> Result<Arc<Client>, RegistryError> {
        let trusted = self.generations.trusted();
        let changes = self.generations.changes();
        if trusted {
            if let Some((seen, client)) = self.exchange_cache.clients.get(id) {
                if seen == changes {
                    return Ok(client);
                }
            }
        }
        let client = Arc::new(self.client(id).await?);
        if trusted {
            self.exchange_cache
                .clients
                .insert(id.to_owned(), (changes, Arc::clone(&client)));
        }
        Ok(client)
    }
}
