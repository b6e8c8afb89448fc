//! How a token scheme declares itself: one [`Scheme`] value beside its code, listed once in
//! `schemes::ALL`. Everything else that must know the schemes (the observe layer's refusal
//! counts, the RFC 8414 metadata, the admin issuance filters, the CLI, the OpenAPI tags) is
//! derived from that list by the app, so adding a scheme is one folder and one line; so are
//! the error formats the app's edge layer answers in for its routes.
//!
//! This module only defines the shape; it names no scheme.

use utoipa_axum::router::OpenApiRouter;

use crate::config::Mode;
use crate::http::error::RenderError;
use crate::state::AppState;

/// A token scheme: its name, its routes and what it adds to the service's documents.
pub struct Scheme {
    /// The scheme's name in the issuance record, the metrics and the admin filters.
    pub name: &'static str,
    /// Every route of the scheme that hands out a token (or a credential for one).
    pub routes: &'static [TokenRoute],
    /// The RFC 6749 grant types of the token endpoint this scheme provides (RFC 8414
    /// `grant_types_supported`); empty when it has no RFC 6749 token endpoint.
    pub grant_types: &'static [&'static str],
    /// Whether the whole scheme exists only in sandbox mode.
    pub sandbox_only: bool,
    /// What the scheme is for: the description of its one OpenAPI tag, which is its `name`
    /// (Markdown: angle brackets only inside code spans).
    pub description: &'static str,
    /// Its routes in a mode, with their OpenAPI description.
    pub router: fn(Mode) -> OpenApiRouter<AppState>,
    /// The error formats of its routes, by path prefix: the app's edge layer answers what the
    /// framework refuses before a handler runs (a wrong method, a body over the limit or of
    /// the wrong type, a NUL character in any text) in the format of the longest prefix.
    pub error_formats: &'static [ErrorScope],
}

/// The routes under one path prefix, answering failures in one format.
pub struct ErrorScope {
    /// A path prefix: a route's whole path, or a folder such as `/oauth/`.
    pub prefix: &'static str,
    /// The format (a scheme's `ErrorFormat::render`).
    pub render: RenderError,
    /// Whether the app's edge layer refuses a NUL character in these routes' text (the
    /// default). Off only for routes whose documented checks already refuse one in their own
    /// words, and which never store or look up the raw text.
    pub screens_nul: bool,
}

impl ErrorScope {
    /// The routes under `prefix`, answering in `render`'s format.
    pub const fn new(prefix: &'static str, render: RenderError) -> Self {
        Self {
            prefix,
            render,
            screens_nul: true,
        }
    }

    /// [`Self::new`], for routes that refuse a NUL themselves (see [`Self::screens_nul`]).
    pub const fn refusing_nul_itself(prefix: &'static str, render: RenderError) -> Self {
        Self {
            prefix,
            render,
            screens_nul: false,
        }
    }
}

impl Scheme {
    /// Whether the scheme exists in `mode`.
    pub fn available_in(&self, mode: Mode) -> bool {
        mode == Mode::Sandbox || !self.sandbox_only
    }
}

/// One route that hands out a token, as the metadata's `tokenmint_token_routes` lists it.
pub struct TokenRoute {
    /// The route's path (an axum route template).
    pub path: &'static str,
    /// Its HTTP methods.
    pub methods: &'static [&'static str],
    /// What the caller presents: a grant type URI or a tokenmint name.
    pub grant: &'static str,
    /// What it hands out.
    pub issues: Issues,
    /// Whether the route exists only in sandbox mode.
    pub sandbox_only: bool,
}

impl TokenRoute {
    /// An access-token route available in every mode.
    pub const fn new(
        path: &'static str,
        methods: &'static [&'static str],
        grant: &'static str,
    ) -> Self {
        Self {
            path,
            methods,
            grant,
            issues: Issues::AccessToken,
            sandbox_only: false,
        }
    }

    /// Whether the route exists in `mode`.
    pub fn available_in(&self, mode: Mode) -> bool {
        mode == Mode::Sandbox || !self.sandbox_only
    }
}

/// What a token route hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Issues {
    /// An access token: its outcomes are counted under the scheme's name.
    AccessToken,
    /// An API key (`POST /test-api-keys`), itself exchanged for tokens elsewhere.
    ApiKey,
}

impl Issues {
    /// The name the metadata uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::ApiKey => "api_key",
        }
    }
}
