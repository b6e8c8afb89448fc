//! The verified-credential cache: a credential verified once is not re-verified (argon2id, a
//! database round trip) on every request.
//!
//! An entry is keyed by the credential and an HMAC of the presented secret under a key that
//! exists only in this process's memory, so a wrong secret is simply a miss and takes the full
//! path (one argon2 verification, as for an unknown credential: the timings stay
//! indistinguishable). Only successful authentications are cached, never refusals.
//!
//! Invalidation fails closed: every registry write that changes a client or revokes one of its
//! credentials bumps that client's *generation* after its commit, and an entry is valid only for
//! the generation current when it was filled. A fill takes a *ticket* (the count of all changes so
//! far) before its database read and is not cached at all if any change happened meanwhile, so a
//! change racing with a fill can never be cached as current.
//!
//! Changes made by another instance reach this one through change notifications
//! ([`crate::sync`]), which call the same invalidations. Whenever that channel is down the caches
//! are *distrusted*: every lookup is a miss and nothing is cached, so requests take the database
//! and argon2 path until the channel is back (and what was cached before is forgotten then). An
//! entry also lives at most the configured TTL and ends with the credential's own expiry.
//!
//! Misses of one key are filled once: [`VerifiedCache::lookup`] lets the first miss fill the
//! entry and makes concurrent misses of the same key wait for it, then look again. Without it,
//! the first burst of a client's connections would each run an argon2 verification.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How a cached authentication ends besides invalidation.
#[derive(Clone, Debug)]
pub(crate) struct Verified<T> {
    /// What the authentication returned.
    pub(crate) value: T,
    client_id: String,
    generation: u64,
    epoch: u64,
    valid_until: Option<DateTime<Utc>>,
}

/// The cache key of a credential and the secret presented with it: their HMAC-SHA256 under the
/// process's random key (no `Debug`: it is derived from a secret).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey([u8; 32]);

/// A bounded cache of successful authentications of one credential kind.
pub(crate) struct VerifiedCache<T> {
    entries: moka::sync::Cache<CacheKey, Arc<Verified<T>>>,
    /// One lock per key being filled, so concurrent misses of a key make one fill.
    filling: moka::sync::Cache<CacheKey, Arc<tokio::sync::Mutex<()>>>,
    generations: Arc<Generations>,
    /// HMAC-SHA256 under this process's random key, already keyed (its padded-key blocks hashed
    /// once), so each cache key costs a clone and the message's blocks only.
    keyed_digest: Hmac<Sha256>,
}

/// Per-client generations, a global epoch, a count of all changes and whether the caches may be
/// trusted at all, shared by every credential kind's cache.
#[derive(Default)]
pub(crate) struct Generations {
    by_client: Mutex<HashMap<String, u64>>,
    epoch: AtomicU64,
    changes: AtomicU64,
    /// Set while changes made elsewhere may go unseen (the notification channel is down).
    distrusted: AtomicBool,
}

impl Generations {
    /// A client's current generation.
    pub(crate) fn of(&self, client_id: &str) -> u64 {
        self.by_client
            .lock()
            .map(|map| map.get(client_id).copied().unwrap_or(0))
            .unwrap_or(u64::MAX)
    }

    /// Invalidates every cached authentication of a client (call after the change commits).
    pub(crate) fn forget_client(&self, client_id: &str) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut map) = self.by_client.lock() {
            *map.entry(client_id.to_owned()).or_insert(0) += 1;
        } else {
            self.forget_all();
        }
    }

    /// Invalidates every cached authentication (call after the change commits).
    pub(crate) fn forget_all(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops (`false`) or resumes (`true`) serving and filling the caches. Resuming after a gap
    /// must follow a [`Generations::forget_all`], as changes may have been missed meanwhile.
    pub(crate) fn set_trusted(&self, trusted: bool) {
        self.distrusted.store(!trusted, Ordering::SeqCst);
    }

    /// Whether the caches may be used: one atomic load on every lookup.
    pub(crate) fn trusted(&self) -> bool {
        !self.distrusted.load(Ordering::SeqCst)
    }

    /// How many changes were seen so far (any client's, or all): a value read before a database
    /// read and kept with what it filled tells, later, whether anything changed since.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }
}

/// A ticket taken before the database read that will fill the cache: the count of changes then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket {
    changes: u64,
}

/// The right to fill one key after a miss: other misses of the key wait until it is dropped
/// (after [`VerifiedCache::insert`], or on a refusal, when the next waiter tries itself).
pub(crate) struct Fill {
    ticket: Ticket,
    /// `None` while the caches are distrusted: nothing will be cached, so nobody waits.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// What [`VerifiedCache::lookup`] found.
pub(crate) enum Lookup<T> {
    /// A valid cached authentication.
    Hit(T),
    /// A miss: authenticate the slow way, then [`VerifiedCache::insert`] with this.
    Miss(Fill),
}

impl<T: Clone + Send + Sync + 'static> VerifiedCache<T> {
    /// A cache of at most `capacity` entries living at most `ttl`.
    pub(crate) fn new(generations: Arc<Generations>, capacity: u64, ttl: Duration) -> Self {
        let mut digest_key = [0u8; 32];
        // Without randomness the key stays all zeros; entries are still keyed per secret, and a
        // process that cannot draw randomness cannot sign tokens either.
        let _ = SystemRandom::new().fill(&mut digest_key);
        let keyed_digest = <Hmac<Sha256> as Mac>::new_from_slice(&digest_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            filling: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(60))
                .build(),
            generations,
            keyed_digest,
        }
    }

    /// Entries held, for metrics (moka counts lazily: its pending bookkeeping is applied first,
    /// which changes no entry but may drop expired ones a little earlier).
    pub(crate) fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// The cache key of a credential id and the secret presented with it.
    pub(crate) fn key(&self, credential: &str, secret: &str) -> CacheKey {
        let mut mac = self.keyed_digest.clone();
        mac.update(credential.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        CacheKey(mac.finalize().into_bytes().into())
    }

    /// Takes a ticket; take it *before* the database read whose result will be cached.
    fn ticket(&self) -> Ticket {
        Ticket {
            changes: self.generations.changes(),
        }
    }

    /// A valid cached authentication, or the turn to fill the key: a miss waits while another
    /// miss of the same key is being filled, then looks again, so a burst of requests with one
    /// credential costs one verification. The ticket is taken once the turn is ours.
    pub(crate) async fn lookup(&self, key: &CacheKey, now: DateTime<Utc>) -> Lookup<T> {
        if !self.generations.trusted() {
            return Lookup::Miss(Fill {
                ticket: self.ticket(),
                _turn: None,
            });
        }
        if let Some(hit) = self.get(key, now) {
            return Lookup::Hit(hit);
        }
        let lock = self
            .filling
            .get_with_by_ref(key, || Arc::new(tokio::sync::Mutex::new(())));
        let turn = lock.lock_owned().await;
        if let Some(hit) = self.get(key, now) {
            return Lookup::Hit(hit);
        }
        Lookup::Miss(Fill {
            ticket: self.ticket(),
            _turn: Some(turn),
        })
    }

    /// A still-valid cached authentication.
    pub(crate) fn get(&self, key: &CacheKey, now: DateTime<Utc>) -> Option<T> {
        if !self.generations.trusted() {
            return None;
        }
        let hit = self.entries.get(key)?;
        let current = hit.generation == self.generations.of(&hit.client_id)
            && hit.epoch == self.generations.epoch()
            && hit.valid_until.is_none_or(|until| now < until);
        if current {
            Some(hit.value.clone())
        } else {
            self.entries.invalidate(key);
            None
        }
    }

    /// Caches a successful authentication of `client_id` until it changes or `valid_until` (the
    /// credential's own expiry); nothing is cached if anything changed since the ticket.
    pub(crate) fn insert(
        &self,
        key: CacheKey,
        client_id: &str,
        fill: Fill,
        valid_until: Option<DateTime<Utc>>,
        value: T,
    ) {
        let ticket = fill.ticket;
        let generation = self.generations.of(client_id);
        let epoch = self.generations.epoch();
        if self.generations.changes() != ticket.changes || !self.generations.trusted() {
            return;
        }
        let verified = Verified {
            value,
            client_id: client_id.to_owned(),
            generation,
            epoch,
            valid_until,
        };
        self.entries.insert(key, Arc::new(verified));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn cache() -> VerifiedCache<&'static str> {
        VerifiedCache::new(Arc::default(), 100, Duration::from_secs(60))
    }

    /// The turn to fill `key`, which must be a miss.
    async fn miss(cache: &VerifiedCache<&'static str>, key: &CacheKey) -> Fill {
        match cache.lookup(key, now()).await {
            Lookup::Miss(fill) => fill,
            Lookup::Hit(value) => panic!("expected a miss, found {value}"),
        }
    }

    #[tokio::test]
    async fn a_hit_needs_the_same_secret() {
        let cache = cache();
        let key = cache.key("c1", "right");
        let fill = miss(&cache, &key).await;
        cache.insert(key, "c1", fill, None, "client");
        let now = now();
        assert_eq!(cache.get(&cache.key("c1", "right"), now), Some("client"));
        assert_eq!(cache.get(&cache.key("c1", "wrong"), now), None);
    }

    #[tokio::test]
    async fn forgetting_a_client_invalidates_even_a_fill_that_raced_with_the_change() {
        let cache = cache();
        let key = cache.key("c1", "s");
        let fill = miss(&cache, &key).await; // its ticket is taken before the database read
        cache.generations.forget_client("c1"); // the change commits meanwhile
        cache.insert(key, "c1", fill, None, "stale");
        assert_eq!(cache.get(&key, now()), None);
        let fresh = miss(&cache, &key).await;
        cache.insert(key, "c1", fresh, None, "fresh");
        assert_eq!(cache.get(&key, now()), Some("fresh"));
        cache.generations.forget_all();
        assert_eq!(cache.get(&key, now()), None);
    }

    #[tokio::test]
    async fn distrusted_caches_neither_serve_nor_fill_until_trusted_again() {
        let cache = cache();
        let key = cache.key("c1", "s");
        let fill = miss(&cache, &key).await;
        cache.insert(key, "c1", fill, None, "cached");
        cache.generations.set_trusted(false);
        assert_eq!(
            cache.get(&key, now()),
            None,
            "a distrusted cache serves nothing"
        );
        let during = miss(&cache, &key).await;
        let _concurrent = miss(&cache, &key).await; // nobody waits for a fill that caches nothing
        cache.insert(key, "c1", during, None, "filled while distrusted");
        cache.generations.forget_all();
        cache.generations.set_trusted(true);
        assert_eq!(
            cache.get(&key, now()),
            None,
            "nothing from before or during the gap"
        );
    }

    #[tokio::test]
    async fn an_entry_ends_with_the_credentials_expiry() {
        let cache = cache();
        let now = now();
        let key = cache.key("c1", "s");
        let fill = miss(&cache, &key).await;
        let until = Some(now + chrono::Duration::seconds(5));
        cache.insert(key, "c1", fill, until, "c");
        assert_eq!(cache.get(&key, now), Some("c"));
        assert_eq!(cache.get(&key, now + chrono::Duration::seconds(5)), None);
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_wait_for_the_first_fill() {
        let cache = Arc::new(cache());
        let key = cache.key("c1", "s");
        let fill = miss(&cache, &key).await;
        let waiter = tokio::spawn({
            let (cache, key) = (Arc::clone(&cache), key);
            async move {
                match cache.lookup(&key, now()).await {
                    Lookup::Hit(value) => Some(value),
                    Lookup::Miss(_) => None,
                }
            }
        });
        // Another key is not held up by this fill.
        let other = cache.key("c2", "s");
        assert!(matches!(cache.lookup(&other, now()).await, Lookup::Miss(_)));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "the waiter must wait for the fill");
        cache.insert(key, "c1", fill, None, "filled");
        assert_eq!(waiter.await.unwrap(), Some("filled"));
    }

    #[tokio::test]
    async fn a_refused_fill_hands_the_turn_to_the_next_miss() {
        let cache = Arc::new(cache());
        let key = cache.key("c1", "wrong");
        let fill = miss(&cache, &key).await;
        let waiter = tokio::spawn({
            let (cache, key) = (Arc::clone(&cache), key);
            async move { matches!(cache.lookup(&key, now()).await, Lookup::Miss(_)) }
        });
        drop(fill); // a refusal caches nothing
        assert!(waiter.await.unwrap(), "the next miss gets its own turn");
    }
}
