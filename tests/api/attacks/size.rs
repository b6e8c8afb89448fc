//! Oversized tokens and requests: a token over the configured limits is refused like any bad
//! token, and a huge header, query or body gets a 4xx, never a 5xx or a hang.

use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::jws::{compact, EcKey};
use super::Target;
use crate::helpers::TestApp;

/// `MAX_TOKEN_BYTES` (access tokens) and `[schemes.sign_in] max_assertion_bytes`.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
const MAX_ASSERTION_BYTES: usize = 16 * 1024;

#[tokio::test]
async fn a_token_over_the_size_limits_is_refused_everywhere() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    let attacker = EcKey::generate();
    for size in [MAX_TOKEN_BYTES + 1, MAX_ASSERTION_BYTES + 1, 60 * 1024] {
        let mut padded = claims.clone();
        padded["pad"] = json!("x".repeat(size * 3 / 4));
        let token = compact(&header, &padded, |input| attacker.sign(input));
        assert!(token.len() > size);
        target
            .assert_refused_everywhere(&token, &format!("{} bytes", token.len()))
            .await;
    }
}

#[tokio::test]
async fn huge_headers_queries_and_bodies_get_a_4xx() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let app = &target.app;
    // A hang would fail here rather than block the suite.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let before = target.ledger().await;
    let big = |n: usize| "A".repeat(n);
    let routes = [
        (Method::GET, "/v1/me"),
        (Method::POST, "/auth/authtoken/refresh"),
        (Method::POST, "/oauth/introspect"),
        (Method::POST, "/oauth/revoke"),
        (Method::POST, "/v0/sign_in/token"),
    ];
    for (method, path) in routes {
        let mut requests = Vec::new();
        for size in [100 * 1024, 1024 * 1024] {
            let header = http
                .request(method.clone(), app.url(path))
                .header(AUTHORIZATION, format!("Bearer {}", big(size)));
            requests.push((format!("{size}-byte Authorization"), header));
            let body = http
                .request(method.clone(), app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={}&assertion={0}", big(size)));
            requests.push((format!("{size}-byte body"), body));
        }
        // URIs are limited to 64 KiB on the client side already.
        let query = http
            .request(method.clone(), app.url(path))
            .query(&[("jwt", big(30 * 1024)), ("assertion", big(30 * 1024))]);
        requests.push(("60 KiB query".to_owned(), query));
        let mut many = http.request(method.clone(), app.url(path));
        for i in 0..200 {
            many = many.header(format!("x-pad-{i}"), big(100));
        }
        requests.push(("200 headers".to_owned(), many));
        for (label, request) in requests {
            let status = answer(request).await;
            assert!(
                status.is_client_error(),
                "{method} {path} with a {label}: {status}"
            );
        }
    }
    assert_eq!(target.ledger().await, before, "nothing issued or revoked");
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200, "the service is still up");
}

/// The status of the answer. A server may answer an oversized request before reading all of it
/// and close the connection, which the client then sees as a failed send; such a request is
/// retried once with a fresh connection, and must then be answered.
async fn answer(request: reqwest::RequestBuilder) -> StatusCode {
    let retry = request.try_clone().unwrap();
    match request.send().await {
        Ok(response) => response.status(),
        Err(first) => match retry.send().await {
            Ok(response) => response.status(),
            Err(second) => panic!(
                "no answer: {}; then {}",
                first.without_url(),
                second.without_url()
            ),
        },
    }
}
