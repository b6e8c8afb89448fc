//! Cross-site request forgery, first line: a state-changing request to a page (anything but GET
//! and HEAD) must come from a page of this site. Current browsers say so in `Sec-Fetch-Site`
//! (`same-origin`; a page cannot set it); where it is absent, `Origin` must name the host the
//! request was sent to (`Host`). A request with neither is refused too. Signed-in
//! forms also carry the session's CSRF token ([`super::session::check_csrf`]), and the session
//! cookie is `SameSite=Strict`.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::WebError;

/// Passes safe methods, and others only from this site.
pub async fn require_same_origin(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if safe || from_this_site(request.headers()) {
        next.run(request).await
    } else {
        tracing::info!("web form refused: not sent from this site");
        WebError::Forbidden.into_response()
    }
}

/// Whether the headers say the request was sent by a page of the site it was sent to.
fn from_this_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(HeaderName::from_static("sec-fetch-site")) {
        return site == "same-origin";
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_requests_from_this_site_pass() {
        let host = ("host", "127.0.0.1:8080");
        assert!(from_this_site(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(from_this_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        for refused in [
            headers(&[host, ("origin", "https://evil.example")]),
            headers(&[host, ("origin", "http://127.0.0.1:8081")]),
            headers(&[host, ("origin", "null")]),
            headers(&[("origin", "http://127.0.0.1:8080")]),
            headers(&[host, ("sec-fetch-site", "cross-site")]),
            headers(&[
                host,
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "same-site"),
            ]),
            headers(&[host]),
        ] {
            assert!(!from_this_site(&refused), "{refused:?}");
        }
    }
}
