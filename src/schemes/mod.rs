//! Token schemes: one thin adapter per documented token route.
//!
//! Each parses its documented request, asks the registry to authenticate the credential, builds a
//! `Grant`, hands it to the signing core and renders its documented response and errors. Adding
//! a scheme is one file here and one `.merge(..)` line below.

use utoipa_axum::router::OpenApiRouter;

use crate::config::Mode;
use crate::state::AppState;

/// The routes of every scheme available in `mode`.
pub fn router(_mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
