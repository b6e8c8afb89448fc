//! The files pages load, embedded in the binary at build time: nothing is fetched at run time.

use axum::http::header;
use axum::response::IntoResponse;

/// Where the stylesheet is served.
pub const STYLESHEET_PATH: &str = "/assets/tokenmint.css";

/// Where the icon is served.
pub const ICON_PATH: &str = "/assets/favicon.svg";

/// Where the portal's script is served.
pub const PORTAL_SCRIPT_PATH: &str = "/assets/portal.js";

/// The one stylesheet of every page.
const STYLESHEET: &str = include_str!("assets/tokenmint.css");
/// The tab icon.
const ICON: &str = include_str!("assets/favicon.svg");
/// The portal's copy buttons.
const PORTAL_SCRIPT: &str = include_str!("assets/portal.js");

/// Serves the stylesheet (cacheable for an hour; it changes only with the binary).
pub async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

/// Serves the portal's script.
pub async fn portal_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", PORTAL_SCRIPT)
}

/// Serves the icon.
pub async fn icon() -> impl IntoResponse {
    asset("image/svg+xml", ICON)
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
