//! `GET /admin/issuances` and `tokenmint issuances list`: the issuance record filtered by client,
//! scheme and issue time (`filters`), newest first, walked page by page with the opaque cursor,
//! with its refusals and the CLI (`pages`), and the hourly rollup behind the console's chart on
//! an upgraded deployment (`rollup`). The helpers here issue tokens through the public
//! routes and read the report.

mod filters;
mod pages;
mod rollup;

use chrono::{DateTime, SecondsFormat};
use reqwest::header::AUTHORIZATION;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestClient, ADMIN_TOKEN};

/// The address `POST /auth/token/create` callers declare in these tests.
pub const DECLARED_IP: &str = "203.0.113.7";
/// The fields of every item, exactly.
pub const ITEM_FIELDS: [&str; 11] = [
    "jti",
    "client_id",
    "scheme",
    "subject",
    "scopes",
    "state",
    "caller_ip",
    "ip_address",
    "issued_at",
    "expires_at",
    "revoked_at",
];

/// A token issued through a public route, as the test knows it.
pub struct Issued {
    /// The token.
    pub token: String,
    /// Its jti.
    pub jti: String,
    /// Its client.
    pub client_id: String,
    /// The scheme that issued it.
    pub scheme: &'static str,
    /// Its `iat`.
    pub issued_at: i64,
}

async fn issued(app: &TestApp, token: String, scheme: &'static str) -> Issued {
    let (_, claims) = app.verify_with_jwks(&token).await;
    Issued {
        jti: claims["jti"].as_str().unwrap().to_owned(),
        client_id: claims["client_id"].as_str().unwrap().to_owned(),
        issued_at: claims["iat"].as_i64().unwrap(),
        token,
        scheme,
    }
}

/// A token from `POST /auth/jwt` (scheme `auth_jwt`).
pub async fn via_auth_jwt(app: &TestApp, client: &TestClient) -> Issued {
    let response = app
        .http
        .post(app.url("/auth/jwt"))
        .header("client-id", &client.id)
        .header("client-secret", &client.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = response.headers()[AUTHORIZATION].to_str().unwrap();
    let token = header.strip_prefix("Bearer ").unwrap().to_owned();
    issued(app, token, "auth_jwt").await
}

/// A token from `POST /auth/token/create` (scheme `token_create`), declaring [`DECLARED_IP`].
pub async fn via_token_create(app: &TestApp, client: &TestClient) -> Issued {
    let body = json!({"client_id": client.id, "client_secret": client.secret,
        "ipaddress": DECLARED_IP, "stateAbbr": "OH"});
    let response = app
        .http
        .post(app.url("/auth/token/create"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    issued(
        app,
        body["jwt"].as_str().unwrap().to_owned(),
        "token_create",
    )
    .await
}

/// `GET /admin/issuances` with query parameters; returns status and body.
pub async fn report(app: &TestApp, query: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .http
        .get(app.url("/admin/issuances"))
        .query(query)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The jtis of a 200 page, in order.
pub async fn jtis(app: &TestApp, query: &[(&str, &str)]) -> Vec<String> {
    let (status, page) = report(app, query).await;
    assert_eq!(status, 200, "{page}");
    page_jtis(&page)
}

pub fn page_jtis(page: &Value) -> Vec<String> {
    let items = page["items"].as_array().unwrap();
    items
        .iter()
        .map(|i| i["jti"].as_str().unwrap().to_owned())
        .collect()
}

/// The jtis of the issued tokens that match, in the report's order.
pub fn expected(all: &[Issued], matches: impl Fn(&Issued) -> bool) -> Vec<String> {
    let mut rows: Vec<&Issued> = all.iter().filter(|i| matches(i)).collect();
    rows.sort_by(|a, b| (b.issued_at, &b.jti).cmp(&(a.issued_at, &a.jti)));
    rows.into_iter().map(|i| i.jti.clone()).collect()
}

pub fn rfc3339(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Two clients, two schemes, three distinct seconds (several tokens share one).
pub async fn issue_mix(app: &TestApp) -> (TestClient, TestClient, Vec<Issued>) {
    let a = app.standard_client("ES256").await;
    let b = app.standard_client("EdDSA").await;
    let mut all = vec![
        via_auth_jwt(app, &a).await,
        via_auth_jwt(app, &a).await,
        via_token_create(app, &b).await,
    ];
    app.clock.advance_seconds(60);
    all.push(via_token_create(app, &a).await);
    all.push(via_auth_jwt(app, &b).await);
    app.clock.advance_seconds(60);
    all.push(via_auth_jwt(app, &a).await);
    (a, b, all)
}
