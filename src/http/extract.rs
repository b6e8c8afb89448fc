//! Extractors shared by every route: JSON bodies that fail in our format, the presented access
//! token in its three accepted forms, and the caller's address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;

/// `Json<T>` whose rejection is an [`ApiError`] (400 `invalid_request` naming the problem).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

/// An access token as presented: `Authorization: Bearer <t>`, `Authorization: <t>` (documents
/// whose clients send the bare token), `?jwt=<t>` (a standalone application's load URL), or
/// `Authorization: DPoP <t>` (RFC 9449 §7.1; the second field is then true).
pub struct PresentedToken(pub String, pub bool);

impl std::fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedToken(..)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PresentedToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            let value = value.to_str().map_err(|_| ApiError::InvalidToken)?.trim();
            let (token, dpop) = match value.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
                    (rest.trim(), false)
                }
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("dpop") => (rest.trim(), true),
                _ => (value, false),
            };
            return non_empty(token, dpop);
        }
        let query = parts.uri.query().unwrap_or_default();
        let token = url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "jwt")
            .map(|(_, value)| value.into_owned())
            .ok_or(ApiError::InvalidToken)?;
        non_empty(&token, false)
    }
}

fn non_empty(token: &str, dpop: bool) -> Result<PresentedToken, ApiError> {
    if token.is_empty() {
        Err(ApiError::InvalidToken)
    } else {
        Ok(PresentedToken(token.to_owned(), dpop))
    }
}

/// The peer address of the connection, when the server was started with connect info.
#[derive(Clone, Copy, Debug)]
pub struct CallerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for CallerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}
