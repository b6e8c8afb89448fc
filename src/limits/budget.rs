//! `FailureBudget`: one keyed GCRA limiter (`governor`) of failed authentications, whose budget
//! can also be *looked at* without being spent.
//!
//! governor only offers "test and update" (`check_key`), which spends a cell when it conforms.
//! Only failures may spend budget, yet the decision to refuse must come before the secret is
//! checked, so [`FailureBudget::wait`] reads a key's theoretical arrival time (TAT) from the
//! shared state store and applies GCRA's own conformance test (`now >= TAT - tau`, where `tau`
//! is the burst tolerance `(burst - 1) * t`) without writing anything. [`FailureBudget::spend`]
//! is plain `check_key`. Both read time from the application's [`Clock`], so tests move it.
//! Only `spend` creates entries; `wait` on an unknown key is one map lookup.

use std::hash::Hash;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::{NotKeyed, StateStore};
use governor::{Quota, RateLimiter};

use crate::clock::Clock;

/// A keyed budget of failures: `per_minute` earned back per minute, `burst` in a row.
pub struct FailureBudget<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, SharedStore<K>, ElapsedClock, NoOpMiddleware<Nanos>>,
    store: SharedStore<K>,
    clock: ElapsedClock,
    /// The burst tolerance: how far a key's TAT may run ahead of now and still conform.
    tau: Nanos,
}

impl<K: Hash + Eq + Clone> FailureBudget<K> {
    /// A budget whose time comes from `clock`.
    pub fn new(quota: Quota, clock: Arc<dyn Clock>) -> Self {
        let store = SharedStore(Arc::new(DashMapStateStore::default()));
        let clock = ElapsedClock::new(clock);
        let tau = Nanos::from(quota.replenish_interval()) * u64::from(quota.burst_size().get() - 1);
        // governor reads the clock once here, for the limiter's start: the clock's first reading,
        // which is zero by construction, so stored TATs are offsets from the clock's origin.
        let limiter = RateLimiter::new(quota, store.clone(), clock.clone());
        Self {
            limiter,
            store,
            clock,
            tau,
        }
    }

    /// How long `key` must wait before its next failure would conform; `None` while it is within
    /// its budget (including when it has never failed). Spends nothing.
    pub fn wait(&self, key: &K) -> Option<Duration> {
        let entry = self.store.0.get(key)?;
        let tat = entry
            .measure_and_replace(&NotKeyed::NonKey, Err::<((), Nanos), _>)
            .err()
            .flatten()?;
        drop(entry);
        let now = self.clock.elapsed();
        let earliest = tat.saturating_sub(self.tau);
        (now < earliest).then(|| Duration::from(earliest.saturating_sub(now)))
    }

    /// Spends one failure of `key`'s budget (nothing when it is already spent).
    pub fn spend(&self, key: &K) {
        let _ = self.limiter.check_key(key);
    }

    /// Forgets keys whose budget is full again (indistinguishable from keys never seen).
    pub fn retain_recent(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Number of keys remembered.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether no key is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

/// governor's DashMap state store behind an `Arc`, so [`FailureBudget::wait`] can read what the
/// limiter writes.
struct SharedStore<K: Hash + Eq + Clone>(Arc<DashMapStateStore<K>>);

impl<K: Hash + Eq + Clone> Clone for SharedStore<K> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<K: Hash + Eq + Clone> StateStore for SharedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for SharedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&*self.0, drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.0);
    }

    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&*self.0)
    }

    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&*self.0)
    }
}

/// The application's clock as governor's: time elapsed since the first reading (so that first
/// reading, the limiter's start, is zero). A wall clock set back reads as no time passing.
#[derive(Clone)]
struct ElapsedClock {
    clock: Arc<dyn Clock>,
    origin: Arc<OnceLock<DateTime<Utc>>>,
}

impl ElapsedClock {
    fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            origin: Arc::new(OnceLock::new()),
        }
    }

    fn elapsed(&self) -> Nanos {
        let now = self.clock.now();
        let origin = *self.origin.get_or_init(|| now);
        let elapsed = (now - origin).to_std().unwrap_or_default();
        Nanos::from(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl governor::clock::Clock for ElapsedClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        self.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use chrono::TimeZone;

    use super::*;
    use crate::clock::FixedClock;

    fn budget(per_minute: u32, burst: u32) -> (FailureBudget<u64>, Arc<FixedClock>) {
        let clock = Arc::new(FixedClock::at(Utc.timestamp_opt(1_800_000_000, 0).unwrap()));
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap())
            .allow_burst(NonZeroU32::new(burst).unwrap());
        (FailureBudget::new(quota, clock.clone()), clock)
    }

    #[test]
    fn a_key_is_refused_once_its_burst_is_spent_and_only_then() {
        let (budget, _clock) = budget(10, 3);
        for _ in 0..3 {
            assert_eq!(budget.wait(&1), None);
            budget.spend(&1);
        }
        assert_eq!(budget.wait(&1), Some(Duration::from_secs(6)));
        assert_eq!(budget.wait(&2), None, "other keys keep their budget");
    }

    #[test]
    fn looking_spends_nothing_and_creates_no_entry() {
        let (budget, _clock) = budget(10, 1);
        for _ in 0..100 {
            assert_eq!(budget.wait(&7), None);
        }
        assert!(budget.is_empty());
    }

    #[test]
    fn the_budget_refills_with_time_and_full_keys_are_forgotten() {
        let (budget, clock) = budget(60, 2);
        budget.spend(&1);
        budget.spend(&1);
        assert_eq!(budget.wait(&1), Some(Duration::from_secs(1)));
        clock.advance_seconds(1);
        assert_eq!(budget.wait(&1), None);
        budget.spend(&1);
        assert!(budget.wait(&1).is_some());
        clock.advance_seconds(10);
        budget.retain_recent();
        assert!(budget.is_empty());
    }

    #[test]
    fn looking_agrees_with_governors_own_decision() {
        let (budget, clock) = budget(30, 4);
        for step in 0..40 {
            if step % 3 == 0 {
                clock.advance_seconds(1);
            }
            let refused = budget.wait(&9).is_some();
            assert_eq!(
                refused,
                budget.limiter.check_key(&9).is_err(),
                "step {step}"
            );
        }
    }
}
