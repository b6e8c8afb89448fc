//! What the catalog says of a partitioned table's partitions, and how days are named: pure
//! functions, so the rules are tested without a database.

use chrono::{DateTime, NaiveTime, Utc};

/// One UTC day, in the partition key's unit (epoch milliseconds).
pub(super) const DAY_MS: i64 = 86_400_000;

/// A partition's bounds, as `pg_get_expr(relpartbound)` prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bounds {
    /// `DEFAULT`: rows no other partition takes.
    Default,
    /// `FOR VALUES FROM (from) TO (to)`; `None` is MINVALUE or MAXVALUE.
    Range(Option<i64>, Option<i64>),
}

impl Bounds {
    /// Parses `DEFAULT` or `FOR VALUES FROM ('a') TO ('b')`; `None` for anything else.
    pub(super) fn parse(expr: &str) -> Option<Self> {
        let expr = expr.trim();
        if expr == "DEFAULT" {
            return Some(Self::Default);
        }
        let rest = expr.strip_prefix("FOR VALUES FROM (")?;
        let (from, rest) = rest.split_once(") TO (")?;
        let to = rest.strip_suffix(')')?;
        Some(Self::Range(bound_value(from)?, bound_value(to)?))
    }
}

/// One range bound: `Some(None)` for MINVALUE/MAXVALUE, `Some(Some(n))` for `'n'` or `n`.
fn bound_value(text: &str) -> Option<Option<i64>> {
    match text.trim() {
        "MINVALUE" | "MAXVALUE" => Some(None),
        value => value.trim_matches('\'').parse().ok().map(Some),
    }
}

/// One partition of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Partition {
    pub(super) name: String,
    pub(super) bounds: Bounds,
}

impl Partition {
    pub(super) fn is_default(&self) -> bool {
        self.bounds == Bounds::Default
    }

    /// Whether its range ends at or before `at` (the default partition never does).
    pub(super) fn ends_by(&self, at: i64) -> bool {
        matches!(self.bounds, Bounds::Range(_, Some(to)) if to <= at)
    }

    /// Whether it holds rows pruned one by one: the default partition and a legacy one (every
    /// value below a bound).
    pub(super) fn pruned_by_rows(&self) -> bool {
        matches!(self.bounds, Bounds::Default | Bounds::Range(None, _))
    }

    /// Whether its range meets `[from, to)`.
    pub(super) fn overlaps(&self, from: i64, to: i64) -> bool {
        match self.bounds {
            Bounds::Default => false,
            Bounds::Range(lower, upper) => {
                lower.is_none_or(|l| l < to) && upper.is_none_or(|u| u > from)
            }
        }
    }
}

/// The first millisecond of `at`'s UTC day.
pub(super) fn start_of_day(at: DateTime<Utc>) -> i64 {
    at.date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
}

/// `<table>_pYYYYMMDD` for the day starting at `day` (epoch ms).
pub(super) fn day_partition_name(table: &str, day: i64) -> Result<String, sqlx::Error> {
    let date = DateTime::from_timestamp_millis(day)
        .ok_or_else(|| sqlx::Error::Protocol(format!("no UTC day starts at {day}")))?;
    identifier(&format!("{table}_p{}", date.format("%Y%m%d")))
}

/// `name`, checked to be a plain SQL identifier: only lower-case letters, digits and `_` are
/// expected (catalog names of this module's tables), and anything else is refused rather than
/// quoted.
pub(super) fn identifier(name: &str) -> Result<String, sqlx::Error> {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        Ok(name.to_owned())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "unexpected partition name {name:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_as_postgresql_prints_them() {
        assert_eq!(Bounds::parse("DEFAULT"), Some(Bounds::Default));
        assert_eq!(
            Bounds::parse("FOR VALUES FROM ('1797120000000') TO ('1797206400000')"),
            Some(Bounds::Range(
                Some(1_797_120_000_000),
                Some(1_797_206_400_000)
            ))
        );
        assert_eq!(
            Bounds::parse("FOR VALUES FROM (MINVALUE) TO ('1797206400000')"),
            Some(Bounds::Range(None, Some(1_797_206_400_000)))
        );
        assert_eq!(Bounds::parse("FOR VALUES IN ('a')"), None);
        assert_eq!(Bounds::parse("FOR VALUES FROM ('x') TO ('1')"), None);
    }

    #[test]
    fn partitions_know_their_ranges() {
        let partition = |name: &str, bounds| Partition {
            name: name.into(),
            bounds,
        };
        let day = partition("t_p20261210", Bounds::Range(Some(100), Some(200)));
        let legacy = partition("t_legacy", Bounds::Range(None, Some(100)));
        let default = partition("t_default", Bounds::Default);
        assert!(day.ends_by(200) && !day.ends_by(199));
        assert!(!day.pruned_by_rows() && legacy.pruned_by_rows() && default.pruned_by_rows());
        assert!(!default.ends_by(i64::MAX) && !default.overlaps(0, i64::MAX));
        assert!(day.overlaps(199, 300) && !day.overlaps(200, 300) && !day.overlaps(0, 100));
        assert!(legacy.overlaps(0, 1) && !legacy.overlaps(100, 200));
    }

    #[test]
    fn days_are_named_and_bounded_in_utc() {
        let at = DateTime::parse_from_rfc3339("2026-12-10T23:59:59.999Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = start_of_day(at);
        assert_eq!(day % DAY_MS, 0);
        assert_eq!(at.timestamp_millis() - day, DAY_MS - 1);
        assert_eq!(
            day_partition_name("issuances", day).unwrap(),
            "issuances_p20261210"
        );
        assert!(identifier("issuances; drop table x").is_err());
    }
}
