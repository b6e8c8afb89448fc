//! Token schemes: one thin adapter per documented token route.
//!
//! Each parses its documented request, asks the registry to authenticate the credential, builds a
//! `Grant`, hands it to the signing core and renders its documented response and errors. Adding
//! a scheme is one file here and one `.merge(..)` line below. [`oauth`] adds the standard routes
//! over every scheme's tokens: introspection, revocation and authorization server metadata.

pub mod api_key;
pub mod auth_jwt;
pub mod authtoken;
pub mod oauth;
pub mod sign_in;
pub mod token_create;

use utoipa_axum::router::OpenApiRouter;

use crate::config::Mode;
use crate::state::AppState;

/// The routes that issue tokens (templates), with the scheme their outcomes are counted under.
pub const TOKEN_ROUTES: [(&str, &str); 6] = [
    ("/auth/token/create", token_create::SCHEME),
    ("/auth/jwt", auth_jwt::SCHEME),
    ("/clients/authorization", api_key::SCHEME),
    ("/auth/authtoken", authtoken::SCHEME),
    ("/auth/authtoken/refresh", authtoken::SCHEME),
    (sign_in::TOKEN_PATH, sign_in::SCHEME),
];

/// The scheme of a token route, or `None` for any other route.
pub fn scheme_of_route(route: &str) -> Option<&'static str> {
    TOKEN_ROUTES
        .iter()
        .find(|(path, _)| *path == route)
        .map(|(_, scheme)| *scheme)
}

/// The routes of every scheme available in `mode`.
pub fn router(mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(token_create::router())
        .merge(auth_jwt::router())
        .merge(api_key::router(mode))
        .merge(sign_in::router())
        .merge(authtoken::router())
        .merge(oauth::router())
}
