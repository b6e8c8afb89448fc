//! Per-client quotas and the usage report (CONTRACT "Admin API", "Quotas"): a client's `quota`
//! in its policy, counted over every scheme and instance; past it, 429 with `Retry-After` in each
//! scheme's own format and nothing issued; `GET /admin/clients/{client_id}/usage`. Time is the
//! test clock's, so "the next minute" is a clock move, not a sleep.

use chrono::Timelike;
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::api_key::{authorize, create_key};
use crate::authtoken::{approved_client, credential, generate};
use crate::helpers::{ClockExt, TestApp, TestClient};
use crate::oauth::basic_header;
use crate::rate_limit::auth_jwt;
use crate::sign_in::Fixture;

async fn set_quota(app: &TestApp, client_id: &str, quota: Value) -> Response {
    app.admin(
        Method::PATCH,
        &format!("/admin/clients/{client_id}"),
        Some(json!({ "quota": quota })),
    )
    .await
}

async fn token_create(app: &TestApp, client: &TestClient, scope: Option<&str>) -> Response {
    let mut body = json!({"client_id": client.id, "client_secret": client.secret});
    if let Some(scope) = scope {
        body["scope"] = json!([scope]);
    }
    app.http
        .post(app.url("/auth/token/create"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn oauth_token(app: &TestApp, client: &TestClient) -> Response {
    app.http
        .post(app.url("/oauth/token"))
        .header(AUTHORIZATION, basic_header(&client.id, &client.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// Moves the test clock to `second` past the start of the next UTC minute.
fn move_into_next_minute(app: &TestApp, second: i64) {
    let now = app.clock.now_utc().timestamp();
    app.clock.advance_seconds(60 - now.rem_euclid(60) + second);
}

/// Seconds from the clock's current (whole) second to the end of its UTC minute or day.
fn seconds_left(app: &TestApp, period: i64) -> u64 {
    let now = app.clock.now_utc().timestamp();
    u64::try_from(period - now.rem_euclid(period)).unwrap()
}

/// Asserts a 429 whose `Retry-After` is `retry_after`; returns its JSON body.
async fn over_quota(response: Response, retry_after: u64) -> Value {
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()[RETRY_AFTER].to_str().unwrap(),
        retry_after.to_string()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_quota_counts_every_scheme_on_every_instance_and_refuses_past_it_in_each_format() {
    let app = TestApp::spawn().await;
    let other = app.spawn_beside().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let (_, api_key) = create_key(&app, &client.id, "sandbox", None).await;
    assert_eq!(
        set_quota(&app, &client.id, json!({"per_minute": 5}))
            .await
            .status(),
        200
    );
    move_into_next_minute(&app, 10);

    // Five tokens by five schemes, on both instances: the whole quota.
    assert_eq!(token_create(&app, &client, None).await.status(), 200);
    assert_eq!(
        auth_jwt(&other, &client, &client.secret).await.status(),
        200
    );
    assert_eq!(authorize(&app, &api_key).await.status(), 200);
    assert_eq!(generate(&other, &key, &secret).await.status(), 200);
    assert_eq!(oauth_token(&app, &client).await.status(), 200);

    // The sixth, by any scheme on either instance, is refused until the minute ends.
    let wait = seconds_left(&app, 60);
    assert_eq!(wait, 50);
    let body = over_quota(token_create(&other, &client, None).await, wait).await;
    assert_eq!(body["error"], "too_many_requests");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("token quota (5 per minute)"), "{message}");
    let body = over_quota(auth_jwt(&app, &client, &client.secret).await, wait).await;
    assert_eq!(body["error"], "too_many_requests");
    let body = over_quota(authorize(&other, &api_key).await, wait).await;
    assert!(body["errors"]["quota"]
        .as_str()
        .unwrap()
        .contains("per minute"));
    let body = over_quota(generate(&app, &key, &secret).await, wait).await;
    assert_eq!(body["error"], "too_many_requests");
    let body = over_quota(oauth_token(&other, &client).await, wait).await;
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("quota"));
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", &client.id)
            .await,
        5
    );

    // Another client shares nothing; the next minute has room again.
    let free = app.standard_client("ES256").await;
    assert_eq!(token_create(&app, &free, None).await.status(), 200);
    move_into_next_minute(&app, 0);
    assert_eq!(
        auth_jwt(&other, &client, &client.secret).await.status(),
        200
    );
}

#[tokio::test]
async fn a_daily_quota_refuses_until_utc_midnight_in_the_sign_in_format() {
    let fixture = Fixture::arrange(TestApp::spawn().await).await;
    let app = &fixture.app;
    assert_eq!(
        set_quota(app, &fixture.client.id, json!({"per_day": 1}))
            .await
            .status(),
        200
    );
    // Stay clear of midnight, so the day cannot end between the two requests.
    if app.clock.now_utc().hour() == 23 {
        app.clock.advance_seconds(3600);
    }

    assert_eq!(fixture.exchange(&fixture.claims()).await.status(), 200);
    let refused = fixture.exchange(&fixture.claims()).await;

    let body = over_quota(refused, seconds_left(app, 86_400)).await;
    let message = body["errors"].as_str().expect("{errors: <message>}");
    assert!(message.contains("token quota (1 per day)"), "{message}");
    assert_eq!(fixture.issuance_count().await, 1);
}

async fn shown(app: &TestApp, id: &str) -> Value {
    app.admin(Method::GET, &format!("/admin/clients/{id}"), None)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_quota_is_part_of_the_policy_set_replaced_and_removed_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let mut body = crate::helpers::standard_client_body("ES256");
    body["quota"] = json!({"per_minute": 600, "per_day": 100000});
    let client = app.create_client(body).await;
    assert_eq!(
        shown(&app, &client.id).await["quota"],
        json!({"per_minute": 600, "per_day": 100000})
    );

    // A new quota replaces the old one whole; null removes it.
    let replaced: Value = set_quota(&app, &client.id, json!({"per_day": 10}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["quota"], json!({"per_day": 10}));
    let removed: Value = set_quota(&app, &client.id, Value::Null)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(removed["quota"], Value::Null);

    // Invalid limits are refused, naming the field, and change nothing.
    for (quota, field) in [
        (json!({"per_minute": 0}), Some("quota.per_minute")),
        (json!({"per_day": 1_000_000_001_i64}), Some("quota.per_day")),
        (json!({"per_hour": 5}), None),
        (json!({"per_minute": "5"}), None),
    ] {
        let response = set_quota(&app, &client.id, quota.clone()).await;
        assert_eq!(response.status(), 422, "{quota}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        if let Some(field) = field {
            assert_eq!(body["field"], field, "{quota}");
        }
    }
    assert_eq!(shown(&app, &client.id).await["quota"], Value::Null);
}

#[tokio::test]
async fn usage_reports_tokens_and_refusals_by_reason_per_day_and_scheme_from_every_instance() {
    let app = TestApp::spawn().await;
    let other = app.spawn_beside().await;
    let client = app.standard_client("ES256").await;
    set_quota(&app, &client.id, json!({"per_minute": 2, "per_day": 100})).await;
    move_into_next_minute(&app, 5);
    if app.clock.now_utc().hour() == 23 && app.clock.now_utc().minute() == 59 {
        move_into_next_minute(&app, 5);
    }
    let today = app.clock.now_utc().date_naive().to_string();

    // Here: two tokens, then one refused by the quota and one wrong secret.
    assert_eq!(auth_jwt(&app, &client, &client.secret).await.status(), 200);
    assert_eq!(auth_jwt(&app, &client, &client.secret).await.status(), 200);
    assert_eq!(auth_jwt(&app, &client, &client.secret).await.status(), 429);
    assert_eq!(auth_jwt(&app, &client, "wrong-secret").await.status(), 403);
    // There: a scope the client may not have, counted once that instance has flushed.
    let refused = token_create(&other, &client, Some("admin:all")).await;
    assert_eq!(refused.status(), 403);
    other.state.refusals.flush().await.unwrap();

    let response = app
        .admin(
            Method::GET,
            &format!("/admin/clients/{}/usage?days=7", client.id),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let from = (app.clock.now_utc() - chrono::Duration::days(6))
        .date_naive()
        .to_string();
    assert_eq!(
        report,
        json!({
            "client_id": client.id,
            "days": 7,
            "from": from,
            "to": today,
            "quota": {"per_minute": 2, "per_day": 100},
            "quota_used": {"minute": 2, "day": 2},
            "totals": {"tokens": 2, "refusals": 3},
            "per_day": [
                {"date": today, "scheme": "auth_jwt", "tokens": 2,
                 "refusals": {"invalid_client": 1, "quota_exceeded": 1}},
                {"date": today, "scheme": "token_create", "tokens": 0,
                 "refusals": {"invalid_scope": 1}}
            ]
        })
    );

    // Tomorrow, yesterday is still there, and `days=1` shows only today.
    app.clock.advance_seconds(86_400);
    assert_eq!(oauth_token(&other, &client).await.status(), 200);
    other.state.signer.flush_hours().await.unwrap();
    let report: Value = app
        .admin(
            Method::GET,
            &format!("/admin/clients/{}/usage", client.id),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["days"], 30);
    assert_eq!(report["totals"], json!({"tokens": 3, "refusals": 3}));
    assert_eq!(report["per_day"].as_array().unwrap().len(), 3);
    assert_eq!(report["quota_used"], json!({"minute": 1, "day": 1}));
    let today_only: Value = app
        .admin(
            Method::GET,
            &format!("/admin/clients/{}/usage?days=1", client.id),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        today_only["per_day"],
        json!([{"date": app.clock.now_utc().date_naive().to_string(),
                "scheme": "oauth_token", "tokens": 1, "refusals": {}}])
    );
}

#[tokio::test]
async fn the_usage_report_refuses_bad_days_and_unknown_clients() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    for days in ["0", "91", "week"] {
        let response = app
            .admin(
                Method::GET,
                &format!("/admin/clients/{}/usage?days={days}", client.id),
                None,
            )
            .await;
        assert_eq!(response.status(), 422, "days={days}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["field"], "days");
    }
    let unknown = app
        .admin(Method::GET, "/admin/clients/no-such-client/usage", None)
        .await;
    assert_eq!(unknown.status(), 404);
    let anonymous = app
        .http
        .get(app.url(&format!("/admin/clients/{}/usage", client.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn concurrent_requests_on_two_instances_get_exactly_the_quota() {
    let app = TestApp::spawn().await;
    let other = app.spawn_beside().await;
    let client = app.standard_client("ES256").await;
    set_quota(&app, &client.id, json!({"per_minute": 15})).await;
    move_into_next_minute(&app, 1);

    let requests = (0..40).map(|n| {
        let (instance, client) = (if n % 2 == 0 { &app } else { &other }, &client);
        async move {
            if n % 3 == 0 {
                oauth_token(instance, client).await.status().as_u16()
            } else {
                auth_jwt(instance, client, &client.secret)
                    .await
                    .status()
                    .as_u16()
            }
        }
    });
    let statuses = futures::future::join_all(requests).await;

    let issued = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((issued, refused), (15, 25), "{statuses:?}");
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", &client.id)
            .await,
        15
    );
}

/// A quota window's counter, as stored.
async fn counted(app: &TestApp, client_id: &str, period: &str) -> Vec<i64> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "select tokens from quota_windows where client_id = $1 and period = $2 \
         order by window_start",
    )
    .bind(client_id)
    .bind(period)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(tokens,)| tokens).collect()
}

#[tokio::test]
async fn counters_hold_only_issued_tokens_when_one_limit_refuses_what_the_other_allows() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    set_quota(&app, &client.id, json!({"per_minute": 5, "per_day": 3})).await;
    move_into_next_minute(&app, 1);
    if app.clock.now_utc().hour() == 23 && app.clock.now_utc().minute() == 59 {
        move_into_next_minute(&app, 1);
    }

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            auth_jwt(&app, &client, &client.secret)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(counted(&app, &client.id, "minute").await, [3]);
    assert_eq!(counted(&app, &client.id, "day").await, [3]);

    // Raised, the day lets the same minute go on until the minute's own limit.
    set_quota(&app, &client.id, json!({"per_minute": 5, "per_day": 10})).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            auth_jwt(&app, &client, &client.secret)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(counted(&app, &client.id, "minute").await, [5]);
    assert_eq!(counted(&app, &client.id, "day").await, [5]);
    assert_eq!(
        app.count_rows("issuances", "client_id = $1", &client.id)
            .await,
        5
    );
}
