//! Web pages: server-rendered HTML for people in a browser, adapters like the schemes over the
//! same registry and signing core. Templates are askama's (checked at compile time, escaping by
//! default, in `templates/`); the one stylesheet is embedded in the binary and served from
//! `/assets/`, so a page needs no network access and no JavaScript build step.
//!
//! Every page answers with a strict Content-Security-Policy (no inline script or style, no
//! framing: `frame-ancestors 'none'`), `X-Content-Type-Options: nosniff` and no referrer to other sites. The
//! signed-in pages (the portal) keep their session in the shared database (`store`), with an
//! HttpOnly, `SameSite=Strict` cookie (`Secure` when the public URL is https) that expires after
//! `[web] session_idle_minutes` without a request; their state-changing requests must come from
//! this site (`origin`) and carry the session's CSRF token, which the `form::CheckedForm`
//! extractor every such handler takes checks. Pages are not part of the
//! OpenAPI document: the app merges this router after the API's.

mod assets;
mod console;
mod error;
pub use error::render as render_error;
mod form;
mod landing;
mod origin;
mod page;
mod portal;
mod session;
mod store;

use axum::http::{header, HeaderName, HeaderValue};
use axum::routing::get;
use axum::{middleware, Router};
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::http::scheme::Scheme;
use crate::state::AppState;
use store::DatabaseStore;

/// What a page may load: only this service's own stylesheet, images and scripts; forms post
/// only to this service; no page may be framed (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
    img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'";

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tokenmint_session";

/// Whether a path belongs to the web pages (the landing page, the portal, the console and their
/// assets): the app answers them in HTML and without CORS (no other site may call them).
pub fn is_page(path: &str) -> bool {
    path == "/"
        || ["/portal", "/console", "/assets"].iter().any(|folder| {
            path.strip_prefix(folder)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// The pages and their assets; `schemes` is the scheme list, whose token routes the landing
/// page shows.
pub fn router(state: &AppState, schemes: &'static [Scheme]) -> Router<AppState> {
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            // Not `no-referrer`: with it, browsers send `Origin: null` on this site's own forms.
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ));
    Router::new()
        .route("/", get(move |state| landing::show(state, schemes)))
        .route(assets::STYLESHEET_PATH, get(assets::stylesheet))
        .route(assets::ICON_PATH, get(assets::icon))
        .route(assets::PORTAL_SCRIPT_PATH, get(assets::portal_script))
        .merge(signed_in_pages(state, schemes))
        // Route layers: they wrap these pages only, never the service's other routes or the
        // fallback (an unknown path stays the API's 404).
        .route_layer(headers)
}

/// The pages behind a session: the portal and the console.
fn signed_in_pages(state: &AppState, schemes: &'static [Scheme]) -> Router<AppState> {
    let idle = i64::from(state.settings.web.session_idle_minutes.max(1));
    let sessions = SessionManagerLayer::new(DatabaseStore::new(
        state.registry.clone(),
        state.clock.clone(),
    ))
    .with_name(SESSION_COOKIE)
    .with_path("/")
    .with_http_only(true)
    .with_same_site(SameSite::Strict)
    .with_secure(state.settings.http.public_url.starts_with("https://"))
    .with_expiry(Expiry::OnInactivity(
        tower_sessions::cookie::time::Duration::minutes(idle),
    ))
    // Every request moves the stored expiry forward, as the cookie's: idle expiry, not absolute.
    .with_always_save(true);
    portal::router()
        .merge(console::router(schemes))
        .route_layer(sessions)
        .route_layer(middleware::from_fn(origin::require_same_origin))
}
