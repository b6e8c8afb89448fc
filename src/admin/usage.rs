//! `GET /admin/clients/{client_id}/usage`: a client's tokens issued and refused requests (by
//! reason) per UTC day and scheme, and how much of its quota the current minute and day hold.
//!
//! Tokens come from the issuance record's hourly figures, refusals from the usage counts
//! ([`crate::usage`]); both include this instance's counts not yet flushed, and other instances'
//! within their flush interval (a few seconds).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use chrono::{DateTime, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::paging::{fill, present};
use super::AdminError;
use crate::domain::Quota;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi;
use crate::registry::Client;
use crate::signing::report::IssuanceFilter;
use crate::signing::SigningError;
use crate::state::AppState;
use crate::usage::{date_of, day_number};

/// Days reported when `days` is absent.
pub const DEFAULT_DAYS: i64 = 30;
/// Most days one report covers (the retention job keeps [`crate::usage::KEPT_DAYS`]).
pub const MAX_DAYS: i64 = 90;

/// A client's usage over its last days.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    /// The client.
    pub client_id: String,
    /// How many UTC days the report covers, today included.
    #[schema(example = 30)]
    pub days: i64,
    /// The first day (UTC).
    #[schema(value_type = String, format = Date, example = "2026-11-07")]
    pub from: NaiveDate,
    /// The last day: today (UTC).
    #[schema(value_type = String, format = Date, example = "2026-12-06")]
    pub to: NaiveDate,
    /// The client's quota; `null`: unlimited.
    pub quota: Option<Quota>,
    /// Tokens counted against the quota in the current minute and day; `null` without a quota.
    pub quota_used: Option<QuotaUsed>,
    /// Sums over the whole report.
    pub totals: UsageTotals,
    /// One entry per day and scheme with any token or refusal, by day then scheme.
    pub per_day: Vec<UsageDay>,
}

/// Tokens counted against a quota so far, for each limit the quota sets.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaUsed {
    /// In the current UTC minute (with a `per_minute` limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minute: Option<i64>,
    /// In the current UTC day (with a `per_day` limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<i64>,
}

/// Sums over a report.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct UsageTotals {
    /// Tokens issued.
    pub tokens: i64,
    /// Requests refused.
    pub refusals: i64,
}

/// One day's usage of one scheme.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageDay {
    /// The UTC day.
    #[schema(value_type = String, format = Date, example = "2026-12-06")]
    pub date: NaiveDate,
    /// The scheme (`token_create`, `auth_jwt`, `oauth_token`, ...).
    #[schema(example = "oauth_token")]
    pub scheme: String,
    /// Tokens issued.
    #[schema(example = 1250)]
    pub tokens: i64,
    /// Refused requests by reason (`quota_exceeded`, `invalid_scope`, `invalid_client`, ...).
    #[schema(example = json!({"quota_exceeded": 12, "invalid_scope": 1}))]
    pub refusals: BTreeMap<String, i64>,
}

/// The `days` parameter, checked.
fn days(query: Option<&str>) -> Result<i64, ApiError> {
    let mut raw = None;
    fill(query.unwrap_or_default(), &mut [("days", &mut raw)]);
    let Some(raw) = present(raw) else {
        return Ok(DEFAULT_DAYS);
    };
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|days| (1..=MAX_DAYS).contains(days))
        .ok_or_else(|| {
            ApiError::invalid(
                "days",
                format!("days must be a whole number between 1 and {MAX_DAYS}"),
            )
        })
}

/// A client's tokens and refusals per day and scheme over its last `days` UTC days (default
/// 30, at most 90), and its quota's current use.
#[utoipa::path(get, path = "/admin/clients/{client_id}/usage", tag = openapi::ADMIN.name,
    security(("admin_token" = [])),
    params(("client_id" = String, Path),
        ("days" = Option<i64>, Query, minimum = 1, maximum = 90,
            description = "UTC days to cover, today included (1 to 90; default 30)")),
    responses((status = 200, body = UsageReport),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "Invalid days", body = ErrorBody)))]
pub async fn client_usage(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<UsageReport>, AdminError> {
    let days = days(query.as_deref())?;
    let client = state.registry.client(&client_id).await?;
    Ok(Json(report(&state, &client, days).await?))
}

/// A client's usage over its last `days` UTC days, today included (also the console's).
pub async fn report(
    state: &AppState,
    client: &Client,
    days: i64,
) -> Result<UsageReport, SigningError> {
    let now = state.clock.now();
    let last = day_number(now);
    let first = last - (days - 1);
    let start = DateTime::from_timestamp(first * 86_400, 0).unwrap_or(now);
    let filter = IssuanceFilter {
        client_id: Some(client.id.to_string()),
        ..IssuanceFilter::default()
    };
    let hours = state.signer.hourly_counts(&filter, start, now).await?;
    let refusals = state
        .refusals
        .per_day(client.id.as_str(), first, last)
        .await?;
    let mut per_day: BTreeMap<(NaiveDate, String), UsageDay> = BTreeMap::new();
    let mut totals = UsageTotals::default();
    for hour in hours {
        let date = hour.hour.date_naive();
        totals.tokens += hour.tokens;
        per_day
            .entry((date, hour.scheme.clone()))
            .or_insert_with(|| UsageDay::empty(date, &hour.scheme))
            .tokens += hour.tokens;
    }
    for refusal in refusals {
        totals.refusals += refusal.refusals;
        *per_day
            .entry((refusal.day, refusal.scheme.clone()))
            .or_insert_with(|| UsageDay::empty(refusal.day, &refusal.scheme))
            .refusals
            .entry(refusal.reason)
            .or_default() += refusal.refusals;
    }
    let quota = client.policy.quota;
    let quota_used = if quota.is_unlimited() {
        None
    } else {
        let (minute, day) = state.signer.quota_used(client.id.as_str(), now).await?;
        Some(QuotaUsed {
            minute: quota.per_minute.map(|_| minute),
            day: quota.per_day.map(|_| day),
        })
    };
    Ok(UsageReport {
        client_id: client.id.to_string(),
        days,
        from: date_of(first).unwrap_or_default(),
        to: date_of(last).unwrap_or_default(),
        quota: (!quota.is_unlimited()).then_some(quota),
        quota_used,
        totals,
        per_day: per_day.into_values().collect(),
    })
}

impl UsageDay {
    fn empty(date: NaiveDate, scheme: &str) -> Self {
        Self {
            date,
            scheme: scheme.to_owned(),
            tokens: 0,
            refusals: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_defaults_to_thirty_and_refuses_what_is_out_of_range() {
        assert_eq!(days(None).unwrap(), DEFAULT_DAYS);
        assert_eq!(days(Some("days=")).unwrap(), DEFAULT_DAYS);
        assert_eq!(days(Some("days=7&days=100")).unwrap(), 7);
        for bad in ["days=0", "days=91", "days=seven", "days=1.5", "days=-3"] {
            assert!(days(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(days(Some("days=90")).unwrap(), MAX_DAYS);
    }
}
