//! What is known about one source, and the pure decision of each lookup: answer from the cached
//! set, or fetch first. The rules (a refetch on a missing key at most once per refetch interval,
//! expiry after the max age, the last good set served a bounded time while refreshes fail) live
//! in [`SourceState::plan`], tested here without any network.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::Header;

use super::error::{Publisher, RemoteKeyError};
use super::jwks::{JwkSet, PublishedKey};
use super::settings::RemoteKeySettings;

/// The cached set of one source and the outcome of its last fetch.
#[derive(Default)]
pub(crate) struct SourceState {
    /// The last good set and when it was fetched.
    keys: Option<(Arc<JwkSet>, DateTime<Utc>)>,
    /// When the last fetch started, whatever its outcome.
    last_attempt: Option<DateTime<Utc>>,
    /// The last fetch's failure, until a fetch succeeds.
    last_error: Option<RemoteKeyError>,
    /// How many fetches have completed; a lookup that waited for another's fetch sees it moved.
    pub(crate) generation: u64,
}

/// What a lookup does next.
pub(crate) enum Plan {
    /// Answer now.
    Answer(Result<PublishedKey, RemoteKeyError>),
    /// Fetch the set first (unless a fetch completes meanwhile: `generation` is the one seen).
    Fetch { generation: u64 },
}

/// What is known about one source, for a status report.
#[derive(Clone, Debug)]
pub struct SourceStatus {
    /// When the keys being served were fetched.
    pub fetched_at: Option<DateTime<Utc>>,
    /// How many usable keys are being served.
    pub key_count: usize,
    /// The last fetch's failure, until a fetch succeeds.
    pub last_error: Option<RemoteKeyError>,
}

impl SourceState {
    /// Decides a lookup at `now`; `may_fetch` is false once the lookup has had its fetch.
    pub(crate) fn plan(
        &self,
        header: &Header,
        now: DateTime<Utc>,
        settings: &RemoteKeySettings,
        publisher: Publisher,
        may_fetch: bool,
    ) -> Plan {
        let fetch = Plan::Fetch {
            generation: self.generation,
        };
        let may_fetch = may_fetch && self.due(now, settings.refetch_interval);
        let fresh = self.keys_younger_than(now, settings.max_age);
        if let Some(set) = fresh {
            return match set.find(header) {
                Err(err) if err.is_miss() && may_fetch => fetch,
                found => Plan::Answer(found),
            };
        }
        if may_fetch {
            return fetch;
        }
        let stale_limit = settings.max_age.saturating_add(settings.serve_stale_for);
        match self.keys_younger_than(now, stale_limit) {
            Some(set) => Plan::Answer(set.find(header)),
            None => Plan::Answer(Err(self
                .last_error
                .clone()
                .unwrap_or(RemoteKeyError::Internal { publisher }))),
        }
    }

    /// Records a fetch that started at `started`.
    pub(crate) fn record(
        &mut self,
        outcome: Result<JwkSet, RemoteKeyError>,
        started: DateTime<Utc>,
    ) {
        self.last_attempt = Some(started);
        self.generation += 1;
        match outcome {
            Ok(set) => {
                self.keys = Some((Arc::new(set), started));
                self.last_error = None;
            }
            Err(err) => self.last_error = Some(err),
        }
    }

    /// A report of the source.
    pub(crate) fn status(&self) -> SourceStatus {
        SourceStatus {
            fetched_at: self.keys.as_ref().map(|(_, at)| *at),
            key_count: self.keys.as_ref().map_or(0, |(set, _)| set.keys().len()),
            last_error: self.last_error.clone(),
        }
    }

    /// Whether a fetch may start: never fetched, or the last attempt is at least `interval` old
    /// (or in the future: a wall clock set back must not stop refreshes for that long).
    fn due(&self, now: DateTime<Utc>, interval: Duration) -> bool {
        self.last_attempt
            .is_none_or(|last| now < last || now - last >= delta(interval))
    }

    fn keys_younger_than(&self, now: DateTime<Utc>, age: Duration) -> Option<&JwkSet> {
        let (set, at) = self.keys.as_ref()?;
        (now < *at || now - *at < delta(age)).then_some(set.as_ref())
    }
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
