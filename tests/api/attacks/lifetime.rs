//! Stale tokens: expired ones, and tokens signed by a key that was rotated out and is no longer
//! published, even when forged fresh with that key's (stolen) private part.

use reqwest::Method;
use serde_json::{json, Value};

use super::jws::{compact, unseal, EcKey};
use super::{Target, TokenForm};
use crate::helpers::{ClockExt, TestApp};

/// `[signing] verify_leeway_seconds`, `max_ttl_cap_minutes` and `[schemes.authtoken]
/// refresh_window_hours` of config/default.toml, in seconds.
const LEEWAY_SECONDS: i64 = 5;
const MAX_TTL_CAP_SECONDS: i64 = 1440 * 60;
const REFRESH_WINDOW_SECONDS: i64 = 24 * 3600;

#[tokio::test]
async fn an_expired_token_is_refused_everywhere() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (_, claims) = target.genuine_parts();
    let lifetime = claims["exp"].as_i64().unwrap() - target.app.clock.now_utc().timestamp();
    target.app.clock.advance_seconds(lifetime + LEEWAY_SECONDS);
    for form in TokenForm::ALL {
        let response = target.me(form, &target.genuine).send().await.unwrap();
        assert_eq!(response.status(), 401, "just expired, {form:?}");
    }
    assert_eq!(
        target.introspect(&target.genuine).await,
        json!({"active": false})
    );
    // An AuthToken may still be refreshed for a while after it expired (CONTRACT.md D); past
    // that window it is refused everywhere.
    target.app.clock.advance_seconds(REFRESH_WINDOW_SECONDS);
    target
        .assert_refused_everywhere(&target.genuine, "expired past the refresh window")
        .await;
}

#[tokio::test]
async fn a_token_signed_by_a_retired_and_removed_key_is_refused_everywhere() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    let old_kid = header["kid"].as_str().unwrap().to_owned();
    rotate_es256(&target.app).await;
    // An attacker who later steals the retired key's private part from a backup.
    let pool = target.app.state.db.pool();
    let stolen = EcKey::from_pkcs8(&unseal(pool, &target.app.master_key, &old_kid).await);
    let forge_now = || {
        let now = target.app.clock.now_utc().timestamp();
        let mut fresh = claims.clone();
        fresh["iat"] = json!(now);
        fresh["nbf"] = json!(now);
        fresh["exp"] = json!(now + 600);
        compact(&header, &fresh, |input| stolen.sign(input))
    };
    let while_published = target.me(TokenForm::Bearer, &forge_now()).send().await;
    assert_eq!(
        while_published.unwrap().status(),
        200,
        "a retired key still verifies while it is published (so the forgery is otherwise sound)"
    );

    target
        .app
        .clock
        .advance_seconds(MAX_TTL_CAP_SECONDS + REFRESH_WINDOW_SECONDS + LEEWAY_SECONDS + 1);
    rotate_es256(&target.app).await;
    let published: Vec<Value> = target.app.jwks().await["keys"].as_array().unwrap().clone();
    assert!(
        published.iter().all(|key| key["kid"] != old_kid.as_str()),
        "the retired key is no longer published once its last token has expired"
    );
    target
        .assert_refused_everywhere(&forge_now(), "signed by a removed key")
        .await;
}

/// `POST /admin/keys/rotate` for ES256, asserting 200.
async fn rotate_es256(app: &TestApp) {
    let body = json!({"algorithm": "ES256"});
    let response = app
        .admin(Method::POST, "/admin/keys/rotate", Some(body))
        .await;
    assert_eq!(response.status(), 200);
}
