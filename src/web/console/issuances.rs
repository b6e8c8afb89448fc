//! **Issuance record**: the issued tokens (never a token itself), filtered by client, scheme and
//! issue time exactly as `GET /admin/issuances` filters them (the same parameters, checks and
//! query), and a server-rendered SVG chart of tokens per hour by scheme over the period.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, DurationRound, Utc};
use tower_sessions::Session;

use super::chart::{Chart, MAX_HOURS};
use super::Administrator;
use crate::admin::issuances::{issuance_page, IssuanceParams};
use crate::http::error::ApiError;
use crate::http::scheme::Scheme;
use crate::signing::report::IssuanceFilter;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::FieldErrors;
use crate::web::page::{render_with_status, Frame};
use crate::web::portal::when;

/// The page.
#[derive(Template)]
#[template(path = "console/issuances.html")]
struct IssuancesPage {
    frame: Frame,
    admin: Administrator,
    params: IssuanceParams,
    schemes: Vec<&'static str>,
    errors: FieldErrors,
    rows: Vec<IssuanceRow>,
    next_cursor: Option<String>,
    chart: Option<Chart>,
    chart_note: String,
}

/// One issued token, as listed.
struct IssuanceRow {
    jti: String,
    client_id: String,
    scheme: String,
    subject: String,
    scopes: String,
    issued: String,
    expires: String,
    revoked: bool,
}

/// Shows the record, filtered by the query's parameters.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
    schemes: &'static [Scheme],
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let names: Vec<&'static str> = schemes.iter().map(|s| s.name).collect();
    let params = IssuanceParams::from_query(query.as_deref().unwrap_or_default());
    let mut page = IssuancesPage {
        frame: Frame::new(state.settings.mode),
        admin,
        params: params.clone(),
        schemes: names.clone(),
        errors: FieldErrors::default(),
        rows: Vec::new(),
        next_cursor: None,
        chart: None,
        chart_note: String::new(),
    };
    let filter = match params.clone().into_filter(&names) {
        Ok(filter) => filter,
        Err(ApiError::InvalidRequest { message, field }) => {
            let field = match field.as_deref() {
                Some("client_id") => "client_id",
                Some("scheme") => "scheme",
                Some("since") => "since",
                Some("until") => "until",
                Some("limit") => "limit",
                _ => "cursor",
            };
            page.errors.add(field, message);
            return Ok(render_with_status(StatusCode::BAD_REQUEST, &page));
        }
        Err(other) => return Err(WebError::Internal(other.to_string())),
    };
    let listed = issuance_page(&state, params, &names)
        .await
        .map_err(|e| match e {
            ApiError::Unavailable => WebError::Unavailable,
            other => WebError::Internal(other.to_string()),
        })?;
    page.next_cursor = listed.next_cursor;
    page.rows = listed
        .items
        .into_iter()
        .map(|i| IssuanceRow {
            jti: i.jti,
            client_id: i.client_id,
            scheme: i.scheme,
            subject: i.subject,
            scopes: i.scopes.join(" "),
            issued: when(i.issued_at),
            expires: when(i.expires_at),
            revoked: i.revoked_at.is_some(),
        })
        .collect();
    let (since, until) = period(&filter, state.clock.now());
    let hours = (until - since).num_hours();
    if hours > MAX_HOURS {
        page.chart_note =
            format!("The chart shows at most {MAX_HOURS} hours: narrow Since and Until to see it.");
    } else {
        let counts = state.signer.hourly_counts(&filter, since, until).await?;
        page.chart = Some(Chart::new(since, until, &names, &counts));
    }
    Ok(render_with_status(StatusCode::OK, &page))
}

/// The chart's period: the filter's, whole hours, the last 24 hours where it names no bound.
fn period(filter: &IssuanceFilter, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let hour = |at: DateTime<Utc>| at.duration_trunc(Duration::hours(1)).unwrap_or(at);
    let until = filter.until.map_or_else(
        || hour(now) + Duration::hours(1),
        |at| hour(at - Duration::milliseconds(1)) + Duration::hours(1),
    );
    let since = filter.since.map_or(until - Duration::hours(24), hour);
    (since, until.max(since + Duration::hours(1)))
}
