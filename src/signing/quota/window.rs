//! A quota's windows (a UTC minute, a UTC day) and the refusal of a token past one: plain
//! values and time arithmetic, below the signing core's errors.

use chrono::{DateTime, Utc};

const MINUTE_MILLIS: i64 = 60_000;
const DAY_MILLIS: i64 = 86_400_000;

/// A quota's window length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// A UTC clock minute.
    Minute,
    /// A UTC calendar day.
    Day,
}

impl Period {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Day => "day",
        }
    }

    fn millis(self) -> i64 {
        match self {
            Self::Minute => MINUTE_MILLIS,
            Self::Day => DAY_MILLIS,
        }
    }

    pub(super) fn parse(stored: &str) -> Option<Self> {
        match stored {
            "minute" => Some(Self::Minute),
            "day" => Some(Self::Day),
            _ => None,
        }
    }

    /// The start (epoch milliseconds) of the window holding `at`.
    pub fn window_start(self, at: DateTime<Utc>) -> i64 {
        let millis = at.timestamp_millis();
        millis - millis.rem_euclid(self.millis())
    }

    /// Whole seconds (at least 1) from `at` until the window holding it ends.
    pub fn seconds_left(self, at: DateTime<Utc>) -> u64 {
        let end = self.window_start(at) + self.millis();
        let millis = (end - at.timestamp_millis()).max(1);
        u64::try_from((millis + 999) / 1000).unwrap_or(1).max(1)
    }
}

/// A token refused because its client has used up one of its quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the client's token quota ({limit} per {}) is used up; retry after the number of seconds in \
     Retry-After",
    period.as_str()
)]
pub struct OverQuota {
    /// The window that is full.
    pub period: Period,
    /// Its limit.
    pub limit: i64,
    /// Whole seconds until it ends.
    pub retry_after_seconds: u64,
}
