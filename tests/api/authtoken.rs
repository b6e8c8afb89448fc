//! JWT credentials and the AuthToken generator (CONTRACT.md section D): the portal's access
//! requests, decisions, notifications and e-mail (`portal`), credentials (`credentials`),
//! generate and refresh (`tokens`), the JavaScript module under Node's test runner
//! (`generator_js`), and the administrator's API groups and CLI (`admin`). The helpers here arrange what each needs, through the public routes.

mod admin;
mod credentials;
mod generator_js;
mod portal;
mod tokens;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestClient};

/// The API group most tests use, and its scopes (outside the standard client's allowed scopes,
/// so approval visibly adds them).
pub const GROUP: &str = "reports";
pub const GROUP_SCOPES: [&str; 2] = ["reports:read", "reports:export"];
/// A second group, never approved.
pub const OTHER_GROUP: &str = "billing";
/// The administrator's note on decisions.
pub const NOTE: &str = "Welcome aboard: mind the rate limits";

/// A portal request authenticated as `client` with HTTP Basic.
pub fn portal(app: &TestApp, client: &TestClient, method: Method, path: &str) -> RequestBuilder {
    app.http
        .request(method, app.url(path))
        .basic_auth(&client.id, Some(&client.secret))
}

/// Creates the two test API groups through the admin API.
pub async fn create_groups(app: &TestApp) {
    for (name, scopes) in [
        (GROUP, json!(GROUP_SCOPES)),
        (OTHER_GROUP, json!(["billing:read"])),
    ] {
        let body = json!({"name": name, "scopes": scopes});
        let response = app
            .admin(Method::POST, "/admin/api-groups", Some(body))
            .await;
        assert_eq!(response.status(), 201);
    }
}

/// The client asks for `GROUP`; returns the request's id.
pub async fn request_group(app: &TestApp, client: &TestClient) -> String {
    let response = portal(app, client, Method::POST, "/v1/access-requests")
        .json(&json!({"api_groups": [GROUP], "reason": "Monthly reports for our schools"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let request: Value = response.json().await.unwrap();
    request["id"].as_str().unwrap().to_owned()
}

/// Decides a request through the admin API (`approve` or `reject`) with [`NOTE`].
pub async fn decide(app: &TestApp, id: &str, verdict: &str) -> Response {
    let path = format!("/admin/access-requests/{id}/{verdict}");
    app.admin(Method::POST, &path, Some(json!({"note": NOTE})))
        .await
}

/// A client whose request for `GROUP` was approved.
pub async fn approved_client(app: &TestApp) -> TestClient {
    create_groups(app).await;
    let client = app.standard_client("ES256").await;
    let id = request_group(app, &client).await;
    assert_eq!(decide(app, &id, "approve").await.status(), 200);
    client
}

/// Creates a credential for `groups`; returns the response.
pub async fn create_credential(app: &TestApp, client: &TestClient, groups: Value) -> Response {
    portal(app, client, Method::POST, "/v1/credentials")
        .json(&json!({"username": "careers-site", "notes": "web front end", "api_groups": groups}))
        .send()
        .await
        .unwrap()
}

/// A credential's `(key, secret)`, for an approved client.
pub async fn credential(app: &TestApp, client: &TestClient) -> (String, String) {
    let response = create_credential(app, client, json!([GROUP])).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (
        created["key"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// `generate(key, secret)`.
pub async fn generate(app: &TestApp, key: &str, secret: &str) -> Response {
    app.http
        .post(app.url("/auth/authtoken"))
        .json(&json!({"key": key, "secret": secret}))
        .send()
        .await
        .unwrap()
}

/// `refresh(oldAuthToken)`.
pub async fn refresh(app: &TestApp, token: &str) -> Response {
    app.http
        .post(app.url("/auth/authtoken/refresh"))
        .json(&json!({"authToken": token}))
        .send()
        .await
        .unwrap()
}

/// The `authToken` of a 200 response.
pub async fn auth_token(response: Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["authToken"].as_str().unwrap().to_owned()
}

/// The status of `GET /v1/me` with a token.
pub async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Status and JSON body of a response.
pub async fn status_and_body(response: Response) -> (u16, Value) {
    (response.status().as_u16(), response.json().await.unwrap())
}
