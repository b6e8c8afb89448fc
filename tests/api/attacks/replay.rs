//! Replayed assertions: a `jti` is accepted once, whichever transport carries it and however
//! many instances share the database, even when two replays race on two instances.

use futures::future::join;
use reqwest::StatusCode;
use serde_json::Value;

use super::{assert_sign_in_refused, sign_in_at, Target};
use crate::helpers::TestApp;
use crate::sign_in::{access_token, keys, JWT_BEARER, TOKEN_PATH};

const REPLAYED: &str = "Assertion has already been used";

#[tokio::test]
async fn an_assertion_is_accepted_once_whatever_carries_it() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let account = target.service_account().await;
    let assertion = keys()[0].sign(&target.assertion_claims(&account));
    access_token(target.sign_in(&assertion).await).await;
    let before = target.ledger().await;
    let message = assert_sign_in_refused(&target.app, &assertion, "form replay").await;
    assert_eq!(message, REPLAYED);
    let in_query = target
        .app
        .http
        .post(target.app.url(TOKEN_PATH))
        .query(&[("grant_type", JWT_BEARER), ("assertion", &assertion)])
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 400);
    let body: Value = in_query.json().await.unwrap();
    assert_eq!(body["errors"], REPLAYED);
    let padded = format!("  {assertion}\n");
    let message = assert_sign_in_refused(&target.app, &padded, "padded replay").await;
    assert_eq!(message, REPLAYED);
    assert_eq!(target.ledger().await, before, "nothing issued");
}

#[tokio::test]
async fn two_replays_racing_on_two_instances_get_one_token() {
    const ROUNDS: usize = 8;
    let target = Target::arrange(TestApp::spawn().await).await;
    let other = target.app.spawn_beside().await;
    let account = target.service_account().await;
    let (issued_before, _) = target.ledger().await;
    for round in 0..ROUNDS {
        let assertion = keys()[0].sign(&target.assertion_claims(&account));
        let (first, second) = join(
            sign_in_at(&target.app, &assertion),
            sign_in_at(&other, &assertion),
        )
        .await;
        let mut statuses = [first.status(), second.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::BAD_REQUEST],
            "round {round}: exactly one instance issues"
        );
        let refused = if first.status() == StatusCode::OK {
            second
        } else {
            first
        };
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["errors"], REPLAYED, "round {round}");
    }
    let (issued_after, _) = target.ledger().await;
    assert_eq!(issued_after - issued_before, ROUNDS as i64);
}
