//! Brute-force limits (`[rate_limit]`): failed authentications are budgeted per credential
//! identifier and per caller address; beyond the budget every attempt, right secret included, is
//! 429 with `Retry-After` in the scheme's own format, and nothing is issued. Successes spend
//! nothing. Time is the test clock's, so "after the window" is a clock move, not a sleep.
//! Scheme A and B here; C, D, E and the OAuth routes in `rate_limit/schemes.rs`.

mod schemes;

use reqwest::header::RETRY_AFTER;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, TestClient};

/// Failures in a row allowed per identifier; one is earned back every 6 seconds (10 a minute).
pub const IDENTIFIER_BURST: usize = 3;
/// Seconds until an identifier that spent its burst may fail once more.
pub const IDENTIFIER_RETRY_SECONDS: u64 = 6;
/// Failures in a row allowed per address; one is earned back every second (60 a minute).
pub const ADDRESS_BURST: usize = 5;
/// A secret no client has.
pub const WRONG_SECRET: &str = "not-the-secret-of-anyone-0123456789";

/// A service whose failure budgets are small enough to spend in a test.
pub async fn spawn_limited() -> TestApp {
    TestApp::spawn_with(
        Backend::Postgres,
        &[
            (
                "TOKENMINT__RATE_LIMIT__IDENTIFIER_FAILURES_PER_MINUTE",
                "10",
            ),
            ("TOKENMINT__RATE_LIMIT__IDENTIFIER_BURST", "3"),
            ("TOKENMINT__RATE_LIMIT__ADDRESS_FAILURES_PER_MINUTE", "60"),
            ("TOKENMINT__RATE_LIMIT__ADDRESS_BURST", "5"),
        ],
    )
    .await
}

/// Asserts a 429 and returns its `Retry-After`, an integer of at least 1, and its JSON body.
pub async fn too_many(response: Response) -> (u64, Value) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is an integer number of seconds");
    assert!(retry_after >= 1);
    (retry_after, response.json().await.unwrap())
}

/// Tokens recorded for a client.
pub async fn issuances_of(app: &TestApp, client_id: &str) -> i64 {
    app.count_rows("issuances", "client_id = $1", client_id)
        .await
}

async fn token_create(app: &TestApp, client_id: &str, secret: &str) -> Response {
    app.http
        .post(app.url("/auth/token/create"))
        .json(&json!({"client_id": client_id, "client_secret": secret}))
        .send()
        .await
        .unwrap()
}

pub async fn auth_jwt(app: &TestApp, client: &TestClient, secret: &str) -> Response {
    app.http
        .get(app.url("/auth/jwt"))
        .header("client-id", &client.id)
        .header("client-secret", secret)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_id_that_failed_too_often_is_refused_even_with_the_right_secret() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    for _ in 0..IDENTIFIER_BURST {
        assert_eq!(
            token_create(&app, &client.id, WRONG_SECRET).await.status(),
            401
        );
    }

    let (retry_after, body) = too_many(token_create(&app, &client.id, &client.secret).await).await;

    assert_eq!(retry_after, IDENTIFIER_RETRY_SECONDS);
    assert_eq!(body["error"], "too_many_requests");
    assert!(body["message"].as_str().unwrap().contains("Retry-After"));
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    assert_eq!(issuances_of(&app, &client.id).await, 0);
}

#[tokio::test]
async fn other_clients_at_the_same_address_still_get_tokens_when_one_client_id_is_limited() {
    let app = spawn_limited().await;
    let attacked = app.standard_client("ES256").await;
    let other = app.standard_client("ES256").await;
    for _ in 0..IDENTIFIER_BURST {
        token_create(&app, &attacked.id, WRONG_SECRET).await;
    }
    assert_eq!(
        token_create(&app, &attacked.id, &attacked.secret)
            .await
            .status(),
        429
    );

    let response = token_create(&app, &other.id, &other.secret).await;

    assert_eq!(response.status(), 200);
    assert_eq!(issuances_of(&app, &other.id).await, 1);
}

#[tokio::test]
async fn a_limited_client_id_is_accepted_again_once_its_window_has_passed() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    for _ in 0..IDENTIFIER_BURST {
        token_create(&app, &client.id, WRONG_SECRET).await;
    }
    assert_eq!(
        token_create(&app, &client.id, &client.secret)
            .await
            .status(),
        429
    );

    app.clock.advance_seconds(IDENTIFIER_RETRY_SECONDS as i64);

    assert_eq!(
        token_create(&app, &client.id, &client.secret)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn successful_requests_beyond_every_budget_are_never_limited() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;

    for attempt in 0..(ADDRESS_BURST + IDENTIFIER_BURST + 2) {
        let response = token_create(&app, &client.id, &client.secret).await;
        assert_eq!(response.status(), 200, "attempt {attempt}");
        let response = auth_jwt(&app, &client, &client.secret).await;
        assert_eq!(response.status(), 200, "attempt {attempt}");
    }
}

#[tokio::test]
async fn an_address_that_failed_too_often_across_client_ids_is_refused_until_it_earns_one_back() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    for n in 0..ADDRESS_BURST {
        let unknown = format!("unknown-client-{n}");
        assert_eq!(
            token_create(&app, &unknown, WRONG_SECRET).await.status(),
            401
        );
    }

    let (retry_after, body) = too_many(token_create(&app, &client.id, &client.secret).await).await;
    assert_eq!(retry_after, 1);
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(issuances_of(&app, &client.id).await, 0);

    app.clock.advance_seconds(1);
    assert_eq!(
        token_create(&app, &client.id, &client.secret)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn auth_jwt_answers_a_limited_client_id_with_429_in_its_own_format() {
    let app = spawn_limited().await;
    let client = app.standard_client("ES256").await;
    for _ in 0..IDENTIFIER_BURST {
        assert_eq!(auth_jwt(&app, &client, WRONG_SECRET).await.status(), 403);
    }

    let response = auth_jwt(&app, &client, &client.secret).await;

    assert!(response.headers().get("authorization").is_none());
    let (retry_after, body) = too_many(response).await;
    assert_eq!(retry_after, IDENTIFIER_RETRY_SECONDS);
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(issuances_of(&app, &client.id).await, 0);
}

#[tokio::test]
async fn retry_after_is_exposed_to_browsers() {
    let app = spawn_limited().await;

    let response = app
        .http
        .post(app.url("/auth/token/create"))
        .header("origin", "https://front.example")
        .json(&json!({"client_id": "nobody", "client_secret": WRONG_SECRET}))
        .send()
        .await
        .unwrap();

    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
}
