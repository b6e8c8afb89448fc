//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), not part of the service's API.
//!
//! Each function feeds untrusted bytes to one parser of request input exactly as its handler
//! does, and discards the outcome: refusing bad input is the parsers' job and is tested
//! elsewhere; a fuzzer's finding here is a panic, a hang or runaway memory.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Request};
use chrono::{DateTime, Utc};

use crate::domain::Algorithm;
use crate::http::extract::PresentedToken;
use crate::http::grant_types::JWT_BEARER;
use crate::schemes::api_key::request::{AuthorizationQuery, TestApiKeyRequest};
use crate::schemes::sign_in::request::TokenParams;
use crate::schemes::sign_in::validate;
use crate::signing::keys::{KeyMaterial, KeySet};

/// `[schemes.sign_in] max_assertion_bytes` by default.
const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// `POST /v0/sign_in/token`: the parameters from query, content type and body, then checks 1 to
/// 4 (the grant, the assertion's form, the id naming its config).
pub fn sign_in_request(query: Option<&str>, content_type: Option<&str>, body: &[u8]) {
    let params = TokenParams::read(query, content_type, body);
    if let Ok(assertion) = validate::grant(&params, MAX_ASSERTION_BYTES) {
        let _ = validate::account_id(&assertion);
    }
}

/// The assertion parser alone (checks 2 to 4), on a raw assertion.
pub fn assertion(raw: &str) {
    let params = TokenParams {
        grant_type: Some(JWT_BEARER.to_owned()),
        assertion: Some(raw.to_owned()),
    };
    if let Ok(assertion) = validate::grant(&params, MAX_ASSERTION_BYTES) {
        let _ = validate::account_id(&assertion);
    }
}

/// The JSON bodies: `POST /auth/token/create` (A), `POST /auth/authtoken` and its refresh (D),
/// `POST /test-api-keys` (C).
pub fn json_bodies(body: &[u8]) {
    let _ = crate::schemes::token_create::ParsedRequest::parse(body);
    if let Ok(mut fields) = crate::schemes::authtoken::request::Fields::parse(body) {
        let _ = fields.required_string("key");
        let _ = fields.required_string("secret");
        let _ = fields.required_string("authToken");
    }
    let _ = TestApiKeyRequest::parse(body);
}

/// `GET /clients/authorization?apiKey=`: the query string.
pub fn api_key_query(query: Option<&str>) {
    let _ = AuthorizationQuery::parse(query);
}

/// `POST /oauth/token`, `/oauth/introspect` and `/oauth/revoke`: headers and form body, the
/// client authentication they present, then the token.
pub fn oauth_request(authorization: Option<&[u8]>, content_type: Option<&[u8]>, body: &[u8]) {
    let mut headers = HeaderMap::new();
    for (name, value) in [(AUTHORIZATION, authorization), (CONTENT_TYPE, content_type)] {
        if let Some(Ok(value)) = value.map(HeaderValue::from_bytes) {
            headers.insert(name, value);
        }
    }
    if let Ok(form) = crate::schemes::oauth::form::OAuthForm::parse(&headers, body) {
        let _ = crate::schemes::oauth::client_auth::ClientAuth::read(&headers, &form);
        let _ = form.require("token");
    }
    let _ = crate::http::basic::from_headers(&headers);
}

/// The JWTs outsiders send: a DPoP proof (checks 1 to 5 of `http::dpop`, for a fixed request
/// and time), a `private_key_jwt` client assertion and a token-exchange subject token (each read
/// up to the point where a key is needed).
pub fn outside_jwts(raw: &str) {
    let request = crate::http::dpop::ProofRequest {
        method: "POST",
        path: "/oauth/token",
        access_token: Some("token"),
    };
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    let htu = "https://auth.example.com/oauth/token";
    let _ = crate::http::dpop::verify(raw, &request, htu, now, 5);
    let _ = crate::schemes::oauth::client_assertion::read(raw);
    let _ = crate::schemes::oauth::token::exchange::read(raw);
}

/// `PresentedToken`: an `Authorization` header and a path with query, as a protected endpoint
/// receives them.
pub fn presented_token(authorization: Option<&[u8]>, path_and_query: &str) {
    let mut request = Request::builder().uri(path_and_query);
    if let Some(Ok(value)) = authorization.map(HeaderValue::from_bytes) {
        request = request.header(AUTHORIZATION, value);
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    let extraction = PresentedToken::from_request_parts(&mut parts, &());
    // The extractor never awaits anything: one poll finishes it.
    let mut extraction = std::pin::pin!(extraction);
    let finished = extraction
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(finished, Poll::Ready(_)), "PresentedToken awaited");
}

/// Keys for [`access_token`]: one of each algorithm, generated once by the caller.
pub fn verification_keys() -> anyhow::Result<KeySet> {
    let mut active = Vec::new();
    let mut published = Vec::new();
    for algorithm in Algorithm::ALL {
        let key = KeyMaterial::generate(algorithm)?;
        published.push((key.kid().to_owned(), algorithm, key.public_jwk().clone()));
        active.push(std::sync::Arc::new(key));
    }
    KeySet::new(active, published, None)
}

/// Access-token verification, as every protected endpoint does it (before the revocation check).
pub fn access_token(keys: &KeySet, token: &str) {
    let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let _ = crate::signing::verify::verify(keys, "https://issuer.example", token, now, 5);
    let _ = crate::signing::verify::verify_allowing_expiry(
        keys,
        "https://issuer.example",
        token,
        now,
        5,
        86_400,
    );
}
