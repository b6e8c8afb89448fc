//! Token schemes: one thin adapter per documented token route, and the one list of them.
//!
//! Each parses its documented request, authenticates the credential through the one guarded
//! path (`http::guard`), builds a `Grant`, hands it to the signing core and renders its
//! documented response and errors. Each declares itself once, as a `SCHEME` value beside its
//! code ([`Scheme`]: name, routes, grant types, sandbox-only flag, description, router), and
//! [`ALL`] lists them: the app derives the observe layer's token routes, the RFC 8414 metadata,
//! the admin issuance filters, the CLI's choices and the OpenAPI tags from it (one tag a scheme,
//! named by its name, over every route of the scheme). Adding a scheme is one folder here and
//! one line in [`ALL`]. [`oauth`] holds the standard token endpoint (a
//! scheme: `oauth::token`) and the standard routes over every scheme's tokens: introspection and
//! revocation.

pub mod api_key;
pub mod auth_jwt;
pub mod authtoken;
pub mod oauth;
pub mod sign_in;
pub mod token_create;

use utoipa_axum::router::OpenApiRouter;

use crate::config::Mode;
use crate::http::scheme::{Issues, Scheme};
use crate::state::AppState;

/// Every token scheme, in the order the documents list them (the standard endpoint last).
pub const ALL: &[Scheme] = &[
    token_create::SCHEME,
    auth_jwt::SCHEME,
    api_key::SCHEME,
    sign_in::SCHEME,
    authtoken::SCHEME,
    oauth::token::SCHEME,
];

/// The name of every scheme, as the issuance record stores them.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|scheme| scheme.name).collect()
}

/// The routes that issue access tokens (templates), with the scheme their outcomes are counted
/// under.
pub fn token_routes() -> Vec<(&'static str, &'static str)> {
    ALL.iter()
        .flat_map(|scheme| {
            scheme
                .routes
                .iter()
                .filter(|route| route.issues == Issues::AccessToken)
                .map(|route| (route.path, scheme.name))
        })
        .collect()
}

/// The routes of every scheme available in `mode`, and the standard OAuth routes.
pub fn router(mode: Mode) -> OpenApiRouter<AppState> {
    ALL.iter()
        .filter(|scheme| scheme.available_in(mode))
        .fold(OpenApiRouter::new(), |router, scheme| {
            router.merge((scheme.router)(mode))
        })
        .merge(oauth::router())
}
