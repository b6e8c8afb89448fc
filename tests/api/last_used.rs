//! `last_used_at` on every credential kind (client secrets, API keys, JWT credentials, service
//! accounts): `null` until a successful authentication, then the time of the latest one, as the
//! admin API (or, for JWT credentials, the client's `/v1/credentials`) shows it once the
//! service has flushed its noted uses. A refused credential is no use. Each test flushes the
//! noted uses itself (`flush_credential_uses`, what the service does every few seconds; a flush
//! returns only once every use noted before it is written, even while the service's own periodic
//! flush runs), so nothing depends on timing. Batching itself is tested in `registry::last_use`.

use chrono::{DateTime, Utc};
use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{ClockExt, TestApp, TestClient};
use crate::on_both_backends;
use crate::{api_key, authtoken, oauth, sign_in};

/// How far the clock moves between creating a credential and using it, so a use is not
/// mistaken for the creation time.
const LATER_SECONDS: i64 = 90;
/// A secret no credential has.
const WRONG_SECRET: &str = "wrong-secret-wrong-secret-wrong-secret-000";
/// An API key of the right shape that was never issued.
const UNKNOWN_KEY: &str = "tmk_sandbox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Writes the uses the service noted, as its periodic flush does; returns how many.
async fn flush(app: &TestApp) -> usize {
    app.state.registry.flush_credential_uses().await.unwrap()
}

/// `last_used_at` of a view: `None` for `null`, else the RFC 3339 time it holds.
fn last_used(view: &Value) -> Option<DateTime<Utc>> {
    let value = view
        .get("last_used_at")
        .unwrap_or_else(|| panic!("no last_used_at in {view}"));
    value.as_str().map(|text| {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
            .with_timezone(&Utc)
    })
}

/// Asserts a use was recorded at the test clock's current time (to the millisecond stored).
fn assert_used_now(app: &TestApp, at: Option<DateTime<Utc>>) {
    let now = app.clock.now_utc().timestamp_millis();
    assert_eq!(at.map(|at| at.timestamp_millis()), Some(now));
}

async fn json_of(response: Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// One API key as `GET /admin/clients/{id}/api-keys` lists it.
async fn api_key_view(app: &TestApp, client: &TestClient, key_id: &str) -> Value {
    let path = format!("/admin/clients/{}/api-keys", client.id);
    let keys = json_of(app.admin(Method::GET, &path, None).await).await;
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["api_key_id"] == key_id);
    listed
        .cloned()
        .unwrap_or_else(|| panic!("key {key_id} not listed: {keys}"))
}

/// One JWT credential as the client's `GET /v1/credentials` lists it.
async fn credential_view(app: &TestApp, client: &TestClient, key: &str) -> Value {
    let listing = authtoken::portal(app, client, Method::GET, "/v1/credentials");
    let credentials = json_of(listing.send().await.unwrap()).await;
    let listed = credentials
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key);
    listed
        .cloned()
        .unwrap_or_else(|| panic!("credential {key} not listed: {credentials}"))
}

/// One client secret as `GET /admin/clients/{id}/secrets` lists it.
async fn secret_view(app: &TestApp, client: &TestClient, secret_id: &str) -> Value {
    let path = format!("/admin/clients/{}/secrets", client.id);
    let secrets = json_of(app.admin(Method::GET, &path, None).await).await;
    secrets
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secret_id"] == secret_id)
        .cloned()
        .unwrap_or_else(|| panic!("secret {secret_id} not listed: {secrets}"))
}

/// Every route a client secret authenticates, called with `secret`; returns the status.
const SECRET_ROUTES: [&str; 5] = [
    "/auth/token/create",
    "/auth/jwt",
    "oauth client_secret_basic",
    "oauth client_secret_post",
    "/v1/credentials (portal, Basic)",
];

async fn call_with_secret(app: &TestApp, route: &str, id: &str, secret: &str) -> u16 {
    let response = match route {
        "/auth/token/create" => {
            let body = json!({"client_id": id, "client_secret": secret});
            app.http.post(app.url(route)).json(&body)
        }
        "/auth/jwt" => app
            .http
            .post(app.url(route))
            .header("client-id", id)
            .header("client-secret", secret),
        "oauth client_secret_basic" => app
            .http
            .post(app.url("/oauth/token"))
            .header(AUTHORIZATION, oauth::basic_header(id, secret))
            .form(&[("grant_type", "client_credentials")]),
        "oauth client_secret_post" => app.http.post(app.url("/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ]),
        _ => app
            .http
            .get(app.url("/v1/credentials"))
            .basic_auth(id, Some(secret)),
    };
    response.send().await.unwrap().status().as_u16()
}

async fn every_route_a_client_secret_opens_records_its_last_use(app: TestApp) {
    for route in SECRET_ROUTES {
        let client = app.standard_client("ES256").await;
        assert_eq!(
            last_used(&secret_view(&app, &client, &client.secret_id).await),
            None
        );
        app.clock.advance_seconds(LATER_SECONDS);

        let refused = call_with_secret(&app, route, &client.id, WRONG_SECRET).await;
        flush(&app).await;
        let after_refusal = last_used(&secret_view(&app, &client, &client.secret_id).await);
        let accepted = call_with_secret(&app, route, &client.id, &client.secret).await;
        flush(&app).await;
        let after_use = last_used(&secret_view(&app, &client, &client.secret_id).await);

        assert!((400..500).contains(&refused), "{route}: {refused}");
        assert_eq!(after_refusal, None, "{route}: a wrong secret is no use");
        assert_eq!(accepted, 200, "{route}");
        assert_used_now(&app, after_use);
    }
}
on_both_backends!(every_route_a_client_secret_opens_records_its_last_use);

async fn a_cached_authentication_records_the_use_of_the_secret_that_was_presented(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let path = format!("/admin/clients/{}/secrets", client.id);
    let second = json_of_status(app.admin(Method::POST, &path, None).await, 201).await;
    let (second_id, second_secret) = (
        second["secret_id"].as_str().unwrap(),
        second["client_secret"].as_str().unwrap(),
    );
    let route = "/auth/token/create";
    assert_eq!(
        call_with_secret(&app, route, &client.id, &client.secret).await,
        200
    );
    flush(&app).await;
    let first_use = last_used(&secret_view(&app, &client, &client.secret_id).await);
    app.clock.advance_seconds(LATER_SECONDS);

    // Both secrets are verified now: these requests are served from the verified cache.
    assert_eq!(
        call_with_secret(&app, route, &client.id, second_secret).await,
        200
    );
    assert_eq!(
        call_with_secret(&app, route, &client.id, second_secret).await,
        200
    );
    flush(&app).await;

    let first = secret_view(&app, &client, &client.secret_id).await;
    let second = secret_view(&app, &client, second_id).await;
    assert_eq!(
        last_used(&first),
        first_use,
        "the first secret was not used again"
    );
    assert_used_now(&app, last_used(&second));
}
on_both_backends!(a_cached_authentication_records_the_use_of_the_secret_that_was_presented);

async fn json_of_status(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

async fn an_api_key_records_its_last_use_and_a_wrong_key_records_nothing(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let (key_id, key) = api_key::create_key(&app, &client.id, "sandbox", None).await;
    assert_eq!(last_used(&api_key_view(&app, &client, &key_id).await), None);
    app.clock.advance_seconds(LATER_SECONDS);

    let refused = api_key::authorize(&app, UNKNOWN_KEY).await.status();
    flush(&app).await;
    let after_refusal = last_used(&api_key_view(&app, &client, &key_id).await);
    let accepted = api_key::authorize(&app, &key).await.status();
    flush(&app).await;

    assert_ne!(refused, 200);
    assert_eq!(after_refusal, None);
    assert_eq!(accepted, 200);
    assert_used_now(&app, last_used(&api_key_view(&app, &client, &key_id).await));
}
on_both_backends!(an_api_key_records_its_last_use_and_a_wrong_key_records_nothing);

async fn a_jwt_credential_records_its_last_authtoken(app: TestApp) {
    let client = authtoken::approved_client(&app).await;
    let (key, secret) = authtoken::credential(&app, &client).await;
    assert_eq!(last_used(&credential_view(&app, &client, &key).await), None);
    app.clock.advance_seconds(LATER_SECONDS);

    let refused = authtoken::generate(&app, &key, WRONG_SECRET).await.status();
    flush(&app).await;
    let after_refusal = last_used(&credential_view(&app, &client, &key).await);
    authtoken::auth_token(authtoken::generate(&app, &key, &secret).await).await;
    flush(&app).await;

    assert_ne!(refused, 200);
    assert_eq!(after_refusal, None);
    assert_used_now(&app, last_used(&credential_view(&app, &client, &key).await));
}
on_both_backends!(a_jwt_credential_records_its_last_authtoken);

async fn a_service_account_records_its_last_token_and_a_bad_signature_records_nothing(
    app: TestApp,
) {
    let fixture = sign_in::Fixture::arrange(app).await;
    let app = &fixture.app;
    let path = format!("/admin/service-accounts/{}", fixture.account_id);
    assert_eq!(
        last_used(&json_of(app.admin(Method::GET, &path, None).await).await),
        None
    );
    app.clock.advance_seconds(LATER_SECONDS);

    let forged = sign_in::keys()[1].sign(&fixture.claims());
    let refused = fixture.exchange_assertion(&forged).await.status();
    flush(app).await;
    let after_refusal = last_used(&json_of(app.admin(Method::GET, &path, None).await).await);
    sign_in::access_token(fixture.exchange(&fixture.claims()).await).await;
    flush(app).await;

    assert_eq!(refused, 400);
    assert_eq!(after_refusal, None);
    let listed = json_of(
        app.admin(Method::GET, "/admin/service-accounts", None)
            .await,
    )
    .await;
    assert_used_now(app, last_used(&listed[0]));
    assert_used_now(
        app,
        last_used(&json_of(app.admin(Method::GET, &path, None).await).await),
    );
}
on_both_backends!(a_service_account_records_its_last_token_and_a_bad_signature_records_nothing);
