//! The admin API under `/admin/`: clients, secrets, signing keys, API groups, access requests,
//! trust policies, administrators, the audit trail, the issuance record and each client's usage, over the registry and
//! the signing core like a scheme. Guarded as a whole by [`auth`] (an administrator's token; a
//! viewer only reads); each handler passes the caller's actor to the registry, which records the
//! change in the audit trail. JSON in snake_case; invalid input is 422 `{"error":
//! "invalid_request", "message", "field"}`.

pub mod access;
pub mod administrators;
pub mod api_keys;
pub mod audit;
pub mod auth;
mod clients;
pub mod issuances;
mod keys;
mod paging;
pub mod service_accounts;
pub mod trust_policies;
pub mod usage;
pub mod views;

use std::sync::Arc;

use axum::extract::FromRequest;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::state::AppState;

/// An [`ApiError`] in the admin API's format: invalid input is 422 and names the field.
#[derive(Debug)]
pub struct AdminError(pub ApiError);

impl<E: Into<ApiError>> From<E> for AdminError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            ApiError::InvalidRequest { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            other => other.status(),
        };
        self.0.respond_with(status, Json(self.0.body()))
    }
}

/// `Json<T>` whose rejection is a 422 in the admin format.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AdminError))]
pub struct AdminJson<T>(pub T);

/// The scheme names the issuance filters accept, handed over by the app: admin imports no
/// scheme.
#[derive(Clone, Debug)]
pub struct KnownSchemes(Arc<[&'static str]>);

impl KnownSchemes {
    /// The names of every scheme.
    pub fn new(names: Vec<&'static str>) -> Self {
        Self(names.into())
    }

    /// The names, in the scheme list's order.
    pub fn names(&self) -> &[&'static str] {
        &self.0
    }
}

/// Every admin route, behind the admin-token guard, never cached; `known` names the schemes.
pub fn router(known: KnownSchemes) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(clients::create_client, clients::list_clients))
        .routes(routes!(clients::show_client, clients::update_client))
        .routes(routes!(clients::add_secret, clients::list_secrets))
        .routes(routes!(clients::revoke_secret))
        .routes(routes!(usage::client_usage))
        .routes(routes!(keys::list_keys))
        .routes(routes!(keys::rotate_keys))
        .routes(routes!(keys::revoke_key))
        .routes(routes!(issuances::list_issuances))
        .merge(administrators::router())
        .merge(audit::router())
        .merge(api_keys::router())
        .merge(access::router())
        .merge(service_accounts::router())
        .merge(trust_policies::router())
        .layer(Extension(known))
        .layer(middleware::from_fn(auth::require_admin))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// Parses an optional JSON body: empty means `T::default()`.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        AdminError(ApiError::InvalidRequest {
            message: e.to_string(),
            field: None,
        })
    })
}
