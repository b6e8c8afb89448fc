//! The cache rules as pure decisions over a `SourceState`, with "now" as an input.

use chrono::Duration as Delta;
use jsonwebtoken::Algorithm as Jwt;

use super::*;
use crate::remote_keys::tests::keys::{header, jwks, TestKey};

const PUBLISHER: Publisher = Publisher::Issuer;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Delta::seconds(seconds)
}

fn set_of(kids: &[&str]) -> JwkSet {
    let keys: Vec<_> = kids.iter().map(|kid| TestKey::es256(kid)).collect();
    JwkSet::parse(&jwks(&keys.iter().collect::<Vec<_>>()), PUBLISHER, 100).unwrap()
}

fn failure() -> RemoteKeyError {
    RemoteKeyError::HttpStatus {
        publisher: PUBLISHER,
        document: crate::remote_keys::Document::Jwks,
        url: "https://issuer.example/jwks".into(),
        status: 503,
    }
}

/// What a lookup of `kid` at `now` does: `Ok(true)` fetch, `Ok(false)` found, `Err` refused.
fn decide(state: &SourceState, kid: &str, now: DateTime<Utc>) -> Result<bool, RemoteKeyError> {
    let settings = RemoteKeySettings::default();
    match state.plan(
        &header(Jwt::ES256, Some(kid)),
        now,
        &settings,
        PUBLISHER,
        true,
    ) {
        Plan::Fetch { .. } => Ok(true),
        Plan::Answer(answer) => answer.map(|_| false),
    }
}

#[test]
fn a_source_never_fetched_is_fetched() {
    assert_eq!(decide(&SourceState::default(), "a", t0()), Ok(true));
}

#[test]
fn a_missing_kid_refetches_at_most_once_per_interval() {
    let mut state = SourceState::default();
    state.record(Ok(set_of(&["a"])), t0());
    assert_eq!(decide(&state, "a", at(1)), Ok(false));
    assert!(matches!(
        decide(&state, "b", at(29)),
        Err(RemoteKeyError::NoKey { .. })
    ));
    assert_eq!(decide(&state, "b", at(30)), Ok(true));
    state.record(Ok(set_of(&["b"])), at(30));
    assert_eq!(decide(&state, "b", at(31)), Ok(false));
    assert!(decide(&state, "c", at(31)).is_err());
}

#[test]
fn a_set_past_its_max_age_is_fetched_again() {
    let mut state = SourceState::default();
    state.record(Ok(set_of(&["a"])), t0());
    assert_eq!(decide(&state, "a", at(299)), Ok(false));
    assert_eq!(decide(&state, "a", at(300)), Ok(true));
}

#[test]
fn the_last_good_set_is_served_for_a_bounded_time_while_refreshes_fail() {
    let mut state = SourceState::default();
    state.record(Ok(set_of(&["a"])), t0());
    state.record(Err(failure()), at(300));
    assert_eq!(decide(&state, "a", at(301)), Ok(false), "stale, served");
    assert_eq!(
        state.status().last_error,
        Some(failure()),
        "the failure is reported"
    );
    assert_eq!(
        decide(&state, "a", at(330)),
        Ok(true),
        "retried after the interval"
    );
    state.record(Err(failure()), at(35 * 60));
    assert_eq!(
        decide(&state, "a", at(35 * 60 + 1)),
        Err(failure()),
        "stale for too long"
    );
    state.record(Ok(set_of(&["a"])), at(36 * 60));
    assert_eq!(decide(&state, "a", at(36 * 60 + 1)), Ok(false));
    assert_eq!(state.status().last_error, None);
}

#[test]
fn a_failing_source_is_not_asked_again_within_the_interval() {
    let mut state = SourceState::default();
    state.record(Err(failure()), t0());
    assert_eq!(decide(&state, "a", at(29)), Err(failure()));
    assert_eq!(decide(&state, "a", at(30)), Ok(true));
}

#[test]
fn a_clock_set_back_does_not_stop_refreshes() {
    let mut state = SourceState::default();
    state.record(Ok(set_of(&["a"])), t0());
    assert_eq!(decide(&state, "b", at(-3600)), Ok(true));
}

#[test]
fn an_ambiguous_header_does_not_refetch() {
    let mut state = SourceState::default();
    state.record(Ok(set_of(&["a", "b"])), t0());
    let settings = RemoteKeySettings::default();
    let plan = state.plan(
        &header(Jwt::ES256, None),
        at(60),
        &settings,
        PUBLISHER,
        true,
    );
    assert!(matches!(
        plan,
        Plan::Answer(Err(RemoteKeyError::AmbiguousKey { count: 2, .. }))
    ));
}
