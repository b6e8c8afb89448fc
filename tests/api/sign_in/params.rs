//! Where `grant_type` and `assertion` may come from: the query string, a form body or a JSON
//! body; the query string winning a clash; non-string values counting as absent; and bodies of
//! any kind never answered with a 5xx.

use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use super::{access_token, assert_refused, keys, Fixture, JWT_BEARER};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_grant_is_read_from_the_query_string_a_form_or_a_json_body() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let http = &f.app.http;
    let query = http
        .post(f.token_url())
        .query(&[
            ("grant_type", JWT_BEARER),
            ("assertion", &keys()[0].sign(&f.claims())),
        ])
        .send()
        .await
        .unwrap();
    access_token(query).await;
    access_token(f.exchange(&f.claims()).await).await;
    let json = http
        .post(f.token_url())
        .json(&json!({"grant_type": JWT_BEARER, "assertion": keys()[0].sign(&f.claims())}))
        .send()
        .await
        .unwrap();
    access_token(json).await;
}

#[tokio::test]
async fn the_query_string_wins_a_clash_with_the_body() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let good = keys()[0].sign(&f.claims());
    let query_good = f
        .app
        .http
        .post(f.token_url())
        .query(&[("grant_type", JWT_BEARER), ("assertion", &good)])
        .form(&[("grant_type", "password"), ("assertion", "garbage")])
        .send()
        .await
        .unwrap();
    access_token(query_good).await;
    let query_bad = f
        .app
        .http
        .post(f.token_url())
        .query(&[("grant_type", "password")])
        .json(&json!({"grant_type": JWT_BEARER, "assertion": keys()[0].sign(&f.claims())}))
        .send()
        .await
        .unwrap();
    assert_refused(query_bad, "Grant type is not valid").await;
    let split = f
        .app
        .http
        .post(f.token_url())
        .query(&[("grant_type", JWT_BEARER)])
        .form(&[("assertion", &keys()[0].sign(&f.claims()))])
        .send()
        .await
        .unwrap();
    access_token(split).await;
}

#[tokio::test]
async fn non_string_values_count_as_absent() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let post_json = |body: serde_json::Value| f.app.http.post(f.token_url()).json(&body).send();
    let numeric_grant = post_json(json!({"grant_type": 1, "assertion": "a.b.c"}));
    assert_refused(numeric_grant.await.unwrap(), "Grant type is not valid").await;
    let listed_grant = post_json(json!({"grant_type": [JWT_BEARER], "assertion": "a.b.c"}));
    assert_refused(listed_grant.await.unwrap(), "Grant type is not valid").await;
    for assertion in [
        json!(null),
        json!(42),
        json!({"jwt": "a.b.c"}),
        json!(["a.b.c"]),
    ] {
        let response = post_json(json!({"grant_type": JWT_BEARER, "assertion": assertion}));
        assert_refused(response.await.unwrap(), "Assertion can't be blank").await;
    }
}

#[tokio::test]
async fn any_content_type_or_garbage_body_is_a_400_never_a_5xx() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let cases: [(&str, Vec<u8>); 6] = [
        ("application/json", b"{not json".to_vec()),
        ("application/json", b"[1, 2, 3]".to_vec()),
        ("application/x-www-form-urlencoded", b"%%%&&&==".to_vec()),
        ("text/plain", vec![0xff, 0xfe, 0x00, 0x80]),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\n\r\n--x--".to_vec(),
        ),
        ("application/xml", b"<grant_type>x</grant_type>".to_vec()),
    ];
    for (content_type, body) in cases {
        let response = f
            .app
            .http
            .post(f.token_url())
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_refused(response, "Grant type is not valid").await;
    }
    let nul_subject = f.claims_with("sub", json!("user\u{0}@example.com"));
    assert_refused(f.exchange(&nul_subject).await, "Invalid subject").await;
    let odd_id = f.claims_with("service_account_id", json!("a/b\u{0}c"));
    assert_refused(
        f.exchange(&odd_id).await,
        "Service account config not found",
    )
    .await;
    assert_eq!(f.issuance_count().await, 0);
}
