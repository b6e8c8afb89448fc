//! What the admin API's paged reports (the issuance record, the audit trail) read alike from
//! their query strings: the first value of each known parameter, and the page window (time
//! bounds, cursor and limit), each invalid one refused naming its parameter.

use chrono::{DateTime, Utc};

use crate::db::keyset::Cursor;
use crate::http::error::ApiError;
use crate::signing::report::{DEFAULT_LIMIT, MAX_LIMIT};

/// Fills each named slot with the first value of its parameter in a raw query string (repeated
/// names: the first counts; unknown names are ignored).
pub fn fill(query: &str, slots: &mut [(&str, &mut Option<String>)]) {
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if let Some((_, slot)) = slots.iter_mut().find(|(known, _)| *known == name) {
            if slot.is_none() {
                **slot = Some(value.into_owned());
            }
        }
    }
}

/// A value, unless it is absent or blank (empty parameters count as absent).
pub fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A report's page window, checked.
#[derive(Debug)]
pub struct Window {
    /// Only rows at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only rows before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only rows after this position.
    pub after: Option<Cursor>,
    /// Most rows.
    pub limit: u32,
}

impl Window {
    /// Reads `since`, `until`, `cursor` and `limit` as given; `report` names the report a
    /// cursor must come from, for the refusal's message.
    pub fn parse(
        since: Option<String>,
        until: Option<String>,
        cursor: Option<String>,
        limit: Option<String>,
        report: &str,
    ) -> Result<Self, ApiError> {
        let since = present(since)
            .map(|raw| parse_time("since", &raw))
            .transpose()?;
        let until = present(until)
            .map(|raw| parse_time("until", &raw))
            .transpose()?;
        if let (Some(since), Some(until)) = (since, until) {
            if since > until {
                return Err(ApiError::invalid("until", "until must not be before since"));
            }
        }
        let after = present(cursor)
            .map(|raw| {
                Cursor::decode(&raw).ok_or_else(|| {
                    ApiError::invalid("cursor", format!("cursor is not a next_cursor of {report}"))
                })
            })
            .transpose()?;
        let limit = match present(limit) {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid("limit", format!("limit must be between 1 and {MAX_LIMIT}"))
                })?,
        };
        Ok(Self {
            since,
            until,
            after,
            limit,
        })
    }
}

/// An RFC 3339 time; a `+` offset that arrived unencoded (read as a space) is accepted too.
fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.trim();
    let repaired = match raw.get(..19).zip(raw.get(19..)) {
        Some((date_time, rest)) => format!("{date_time}{}", rest.replace(' ', "+")),
        None => raw.to_owned(),
    };
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc3339(&repaired))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid(
                field,
                format!("{field} must be an RFC 3339 time, e.g. 2026-11-22T09:00:00Z"),
            )
        })
}
