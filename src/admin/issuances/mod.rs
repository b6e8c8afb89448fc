//! Admin route for the issuance record: `GET /admin/issuances`, filtered by client, scheme and
//! issue time, newest first, in pages linked by an opaque cursor. Query parameters are parsed
//! here (invalid input is 422 naming the field); the query itself is `signing::report`'s. The
//! CLI (`tokenmint issuances list`) parses and prints through the same types.

mod views;

use axum::extract::{RawQuery, State};
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::IntoParams;

pub use views::{IssuancePageView, IssuanceView, SchemeName};

use super::paging::{self, present, Window};
use super::{AdminError, KnownSchemes};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi;
use crate::signing::report::{self, IssuanceFilter};
use crate::state::AppState;

/// The query parameters of `GET /admin/issuances`, as given (empty values count as absent).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IssuanceParams {
    /// Only tokens issued to this client.
    pub client_id: Option<String>,
    /// Only tokens issued by this scheme: `token_create`, `auth_jwt`, `api_key`, `sign_in` or
    /// `authtoken`.
    #[param(value_type = Option<SchemeName>)]
    pub scheme: Option<String>,
    /// Only tokens issued at or after this time (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-22T00:00:00Z")]
    pub since: Option<String>,
    /// Only tokens issued before this time (RFC 3339, exclusive); not before `since`.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-23T00:00:00Z")]
    pub until: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Most items per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

impl IssuanceParams {
    /// The parameters of a raw query string (the first of repeated names counts).
    pub fn from_query(query: &str) -> Self {
        let mut params = Self::default();
        paging::fill(
            query,
            &mut [
                ("client_id", &mut params.client_id),
                ("scheme", &mut params.scheme),
                ("since", &mut params.since),
                ("until", &mut params.until),
                ("cursor", &mut params.cursor),
                ("limit", &mut params.limit),
            ],
        );
        params
    }

    /// The report filter, or an invalid-request error naming the parameter at fault; `known`
    /// is every scheme name the record may hold.
    pub fn into_filter(self, known: &[&str]) -> Result<IssuanceFilter, ApiError> {
        let scheme = present(self.scheme)
            .map(|raw| {
                let raw = raw.trim();
                known
                    .iter()
                    .find(|name| **name == raw)
                    .map(|name| (*name).to_owned())
                    .ok_or_else(|| {
                        ApiError::invalid("scheme", format!("scheme must be one of {known:?}"))
                    })
            })
            .transpose()?;
        let window = Window::parse(
            self.since,
            self.until,
            self.cursor,
            self.limit,
            "this report",
        )?;
        Ok(IssuanceFilter {
            client_id: present(self.client_id),
            scheme,
            since: window.since,
            until: window.until,
            after: window.after,
            limit: window.limit,
        })
    }
}

/// Reads one page of the issuance record (never a token).
pub async fn issuance_page(
    state: &AppState,
    params: IssuanceParams,
    known: &[&str],
) -> Result<IssuancePageView, ApiError> {
    let filter = params.into_filter(known)?;
    let page = report::list(state.db.pool(), &filter).await?;
    Ok(page.into())
}

/// Lists issued tokens as recorded, newest first, filtered by client, scheme and issue time,
/// in pages: pass `next_cursor` back as `cursor` until it is `null`.
#[utoipa::path(get, path = "/admin/issuances", tag = openapi::ADMIN.name, security(("admin_token" = [])),
    params(IssuanceParams),
    responses((status = 200, description = "One page, newest first", body = IssuancePageView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 422, description = "Invalid parameter, named by `field`", body = ErrorBody,
            example = json!({"error": "invalid_request",
                "message": "limit must be between 1 and 1000", "field": "limit"}))))]
#[tracing::instrument(skip_all)]
pub async fn list_issuances(
    State(state): State<AppState>,
    Extension(known): Extension<KnownSchemes>,
    RawQuery(query): RawQuery,
) -> Result<Json<IssuancePageView>, AdminError> {
    let params = IssuanceParams::from_query(query.as_deref().unwrap_or_default());
    Ok(Json(issuance_page(&state, params, known.names()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::report::DEFAULT_LIMIT;

    const KNOWN: &[&str] = &["token_create", "auth_jwt"];

    #[test]
    fn each_bad_parameter_is_named() {
        let field = |query: &str| match IssuanceParams::from_query(query).into_filter(KNOWN) {
            Err(ApiError::InvalidRequest { field, .. }) => field,
            other => panic!("{query}: {other:?}"),
        };
        assert_eq!(field("scheme=nope").as_deref(), Some("scheme"));
        assert_eq!(field("since=yesterday").as_deref(), Some("since"));
        assert_eq!(
            field("until=2026-13-01T00:00:00Z").as_deref(),
            Some("until")
        );
        let reversed = "since=2026-11-22T10:00:00Z&until=2026-11-22T09:00:00Z";
        assert_eq!(field(reversed).as_deref(), Some("until"));
        assert_eq!(field("cursor=abc").as_deref(), Some("cursor"));
        for limit in ["0", "1001", "-1", "ten", "1.5"] {
            assert_eq!(field(&format!("limit={limit}")).as_deref(), Some("limit"));
        }
    }

    #[test]
    fn empty_parameters_are_absent_and_unencoded_offsets_are_read() {
        let query = "client_id=&scheme=&since=2026-11-22T10:00:00+01:00&until=&cursor=&limit=";
        let filter = IssuanceParams::from_query(query)
            .into_filter(KNOWN)
            .unwrap();
        assert_eq!(filter.client_id, None);
        assert_eq!(filter.limit, DEFAULT_LIMIT);
        assert_eq!(
            filter.since.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-22T09:00:00+00:00")
        );
    }
}
