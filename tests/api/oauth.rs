//! The standard OAuth routes: introspection (RFC 7662), revocation (RFC 7009) and authorization
//! server metadata (RFC 8414). The helpers here call the two token routes as a client would,
//! with either authentication method.

mod auth;
mod exchange;
mod introspect;
pub mod issuer;
mod metadata;
mod revoke;
mod token;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::AUTHORIZATION;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{standard_client_body, TestApp, TestClient};

/// The introspection route.
pub const INTROSPECT: &str = "/oauth/introspect";
/// The revocation route.
pub const REVOKE: &str = "/oauth/revoke";
/// The default scope that lets a client introspect every client's tokens.
pub const INTROSPECTION_SCOPE: &str = "tokenmint:introspect";

/// How a client authenticates to the token routes.
#[derive(Clone, Copy, Debug)]
pub enum Auth {
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
}

/// An `Authorization: Basic` value for id and secret, form-urlencoded first (RFC 6749 §2.3.1).
pub fn basic_header(id: &str, secret: &str) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

/// Posts `token` to a route as `client`, authenticated the given way.
pub async fn call(
    app: &TestApp,
    route: &str,
    client: &TestClient,
    auth: Auth,
    token: &str,
) -> Response {
    let request = app.http.post(app.url(route));
    let request = match auth {
        Auth::Basic => request
            .header(AUTHORIZATION, basic_header(&client.id, &client.secret))
            .form(&[("token", token)]),
        Auth::Post => request.form(&[
            ("token", token),
            ("client_id", client.id.as_str()),
            ("client_secret", client.secret.as_str()),
        ]),
    };
    request.send().await.unwrap()
}

/// The introspection answer for `token` as `client` (HTTP Basic), after checking 200 and
/// `Cache-Control: no-store`.
pub async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> Value {
    let response = call(app, INTROSPECT, client, Auth::Basic, token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// The status of revoking `token` as `client` (HTTP Basic), after checking a 200 has no body.
pub async fn revoke(app: &TestApp, client: &TestClient, token: &str) -> u16 {
    let response = call(app, REVOKE, client, Auth::Basic, token).await;
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    if status == 200 {
        assert!(body.is_empty(), "a revocation answer has no body");
    }
    status
}

/// The one answer for a token the caller may not learn about.
pub fn inactive() -> Value {
    json!({"active": false})
}

/// A client with the standard policy plus the introspection right.
pub async fn resource_server(app: &TestApp) -> TestClient {
    let mut body = standard_client_body("ES256");
    body["allowed_scopes"]
        .as_array_mut()
        .unwrap()
        .push(json!(INTROSPECTION_SCOPE));
    app.create_client(body).await
}

/// A fresh token of `client` from the signing core, as text.
pub async fn token_of(app: &TestApp, client: &TestClient) -> String {
    app.issue_for(client).await.token.expose().to_owned()
}
