//! The numbered checks of CONTRACT.md section E, one test each, with the exact messages, and the
//! order where two failures overlap. A refused request writes nothing.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use super::{assert_refused, keys, Fixture, JWT_BEARER};
use crate::helpers::{ClockExt, TestApp};

#[tokio::test]
async fn check_1_refuses_any_grant_type_but_jwt_bearer() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let assertion = keys()[0].sign(&f.claims());
    assert_refused(
        f.post_form(&[("assertion", &assertion)]).await,
        "Grant type is not valid",
    )
    .await;
    for grant_type in ["client_credentials", "", &format!("{JWT_BEARER} ")] {
        let response = f
            .post_form(&[("grant_type", grant_type), ("assertion", &assertion)])
            .await;
        assert_refused(response, "Grant type is not valid").await;
    }
    let both_wrong = f.post_form(&[("grant_type", "password")]).await;
    assert_refused(both_wrong, "Grant type is not valid").await;
    assert_eq!(
        f.issuance_count().await,
        0,
        "a refused request writes nothing"
    );
}

#[tokio::test]
async fn check_2_refuses_a_missing_or_blank_assertion() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    assert_refused(
        f.post_form(&[("grant_type", JWT_BEARER)]).await,
        "Assertion can't be blank",
    )
    .await;
    for blank in ["", "   "] {
        let response = f
            .post_form(&[("grant_type", JWT_BEARER), ("assertion", blank)])
            .await;
        assert_refused(response, "Assertion can't be blank").await;
    }
}

#[tokio::test]
async fn check_3_refuses_what_is_not_a_compact_rs256_jwt_within_the_size_limit() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let claims = f.claims();
    let good = keys()[0].sign(&claims);
    let (_, rest) = good.split_once('.').unwrap();
    let unsigned = |alg: &str| {
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "alg": alg }).to_string());
        format!("{header}.{rest}")
    };
    let oversized = keys()[0].sign(&f.claims_with("pad", json!("x".repeat(17_000))));
    for bad in [
        "not-a-jwt".to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        "%%%.###.!!!".to_owned(),
        unsigned("none"),
        unsigned("HS256"),
        keys()[0].sign_with_header(&json!({"alg": "RS512"}), &claims),
        oversized,
    ] {
        assert_refused(f.exchange_assertion(&bad).await, "Assertion is malformed").await;
    }
}

#[tokio::test]
async fn check_4_needs_a_service_account_id_or_issuer_naming_a_registered_config() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let mut anonymous = f.claims_without("service_account_id");
    anonymous["iss"] = json!("");
    assert_refused(f.exchange(&anonymous).await, "Invalid client identifier").await;
    assert_refused(
        f.exchange(&f.claims_with("service_account_id", json!("0123456789abcdef")))
            .await,
        "Service account config not found",
    )
    .await;
    let by_issuer = f.claims_without("service_account_id");
    assert_eq!(f.exchange(&by_issuer).await.status(), 200);
}

#[tokio::test]
async fn check_4_does_not_replace_a_present_but_empty_service_account_id_by_the_issuer() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let empty = f.claims_with("service_account_id", json!(""));
    assert_eq!(
        empty["iss"],
        f.account_id.as_str(),
        "iss alone would name the config"
    );

    let refused = f.exchange(&empty).await;

    assert_refused(refused, "Invalid client identifier").await;
    assert_eq!(f.issuance_count().await, 0);
}

#[tokio::test]
async fn check_5_refuses_when_every_certificate_of_the_config_has_expired() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let now = app.clock.now_utc();
    let short_lived =
        keys()[0].certificate_between(now - Duration::days(2), now + Duration::days(2));
    let account_id = super::register(&app, super::account_body(&client.id, &[short_lived])).await;
    let f = Fixture {
        app,
        client,
        account_id,
    };
    f.app.clock.advance_seconds(3 * 24 * 3600);
    assert_refused(f.exchange(&f.claims()).await, "Certificates are expired").await;
}

#[tokio::test]
async fn check_6_refuses_a_signature_by_a_key_the_config_does_not_trust() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let foreign = keys()[1].sign(&f.claims());
    assert_refused(
        f.exchange_assertion(&foreign).await,
        "Assertion body does not match signature",
    )
    .await;
    let good = keys()[0].sign(&f.claims());
    let (head, _) = good.rsplit_once('.').unwrap();
    let (_, signature) = foreign.rsplit_once('.').unwrap();
    assert_refused(
        f.exchange_assertion(&format!("{head}.{signature}")).await,
        "Assertion body does not match signature",
    )
    .await;
}

#[tokio::test]
async fn check_7_refuses_an_expired_assertion_without_leeway_and_a_future_nbf() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let now = f.app.clock.now_utc().timestamp();
    for exp in [
        json!(now),
        json!(now - 60),
        json!(null),
        json!((now + 300).to_string()),
    ] {
        let response = f.exchange(&f.claims_with("exp", exp.clone())).await;
        assert_refused(response, "Assertion has expired").await;
    }
    let claims = f.claims_with("exp", json!(now + 1));
    f.app.clock.advance_seconds(1);
    assert_refused(f.exchange(&claims).await, "Assertion has expired").await;
    let now = now + 1;
    let early = f.claims_with("nbf", json!(now + 60));
    assert_refused(f.exchange(&early).await, "Assertion is malformed").await;
}

#[tokio::test]
async fn check_8_refuses_a_future_or_non_numeric_iat() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let now = f.app.clock.now_utc().timestamp();
    for iat in [json!(now + 5), json!(now.to_string()), json!(null)] {
        let response = f.exchange(&f.claims_with("iat", iat.clone())).await;
        assert_refused(response, "Invalid iat").await;
    }
}

#[tokio::test]
async fn check_9_names_the_expected_and_the_received_audience() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let expected = format!(
        "Invalid audience. Expected [\"{}\"], received",
        f.token_url()
    );
    let cases = [
        (
            Some(json!("https://api.va.gov/v0/sign_in/token")),
            "https://api.va.gov/v0/sign_in/token".to_owned(),
        ),
        (Some(json!(["a", "b"])), r#"["a", "b"]"#.to_owned()),
        (Some(json!(null)), "<none>".to_owned()),
        (None, "<none>".to_owned()),
    ];
    for (aud, received) in cases {
        let claims = match aud {
            Some(aud) => f.claims_with("aud", aud),
            None => f.claims_without("aud"),
        };
        assert_refused(f.exchange(&claims).await, &format!("{expected} {received}")).await;
    }
    let among_others = f.claims_with("aud", json!(["https://other.example", f.token_url()]));
    assert_eq!(f.exchange(&among_others).await.status(), 200);
}

#[tokio::test]
async fn check_10_names_the_first_missing_claim_then_refuses_an_empty_subject() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    for claim in ["iat", "sub", "exp", "iss"] {
        let response = f.exchange(&f.claims_without(claim)).await;
        assert_refused(response, &format!("Missing required claim {claim}")).await;
    }
    let mut two_missing = f.claims_without("iss");
    two_missing.as_object_mut().unwrap().remove("sub");
    assert_refused(f.exchange(&two_missing).await, "Missing required claim sub").await;
    for sub in [json!(null), json!("")] {
        assert_refused(
            f.exchange(&f.claims_with("sub", sub)).await,
            "Invalid subject",
        )
        .await;
    }
}

#[tokio::test]
async fn check_11_accepts_as_issuer_only_the_service_account_id_or_its_token_audience() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    assert_refused(
        f.exchange(&f.claims_with("iss", json!("https://someone.example")))
            .await,
        "Invalid issuer",
    )
    .await;
    let audience_as_issuer = f.claims_with("iss", json!(super::ACCESS_TOKEN_AUDIENCE));
    assert_eq!(f.exchange(&audience_as_issuer).await.status(), 200);
}

#[tokio::test]
async fn check_12_refuses_scopes_outside_the_config_and_no_scopes_when_it_has_some() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    for scopes in [
        json!(["programs:read", "admin"]),
        json!([7]),
        json!({"a": 1}),
    ] {
        let response = f.exchange(&f.claims_with("scopes", scopes)).await;
        assert_refused(response, "Invalid scopes").await;
    }
    assert_refused(
        f.exchange(&f.claims_without("scopes")).await,
        "Invalid scopes",
    )
    .await;
    let lone = f.claims_with("scopes", json!("schools:read"));
    assert_eq!(
        f.exchange(&lone).await.status(),
        200,
        "a lone string is one scope"
    );
}

#[tokio::test]
async fn check_13_refuses_user_attributes_the_config_does_not_allow() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    for attributes in [json!({"ssn": "123"}), json!("icn"), json!(["icn"])] {
        let response = f
            .exchange(&f.claims_with("user_attributes", attributes))
            .await;
        assert_refused(response, "Invalid user attributes").await;
    }
}

#[tokio::test]
async fn the_first_failing_check_decides_where_several_fail() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let now = f.app.clock.now_utc().timestamp();
    let mut expired_and_foreign = f.claims_with("exp", json!(now - 1));
    expired_and_foreign["aud"] = json!("https://elsewhere.example");
    let by_stranger = keys()[1].sign(&expired_and_foreign);
    assert_refused(
        f.exchange_assertion(&by_stranger).await,
        "Assertion body does not match signature",
    )
    .await;
    assert_refused(
        f.exchange(&expired_and_foreign).await,
        "Assertion has expired",
    )
    .await;
    let mut future_iat_and_no_aud = f.claims_with("iat", json!(now + 60));
    future_iat_and_no_aud.as_object_mut().unwrap().remove("aud");
    assert_refused(f.exchange(&future_iat_and_no_aud).await, "Invalid iat").await;
    let mut no_sub_and_wrong_issuer = f.claims_without("sub");
    no_sub_and_wrong_issuer["iss"] = json!("https://someone.example");
    assert_refused(
        f.exchange(&no_sub_and_wrong_issuer).await,
        "Missing required claim sub",
    )
    .await;
    let mut bad_scopes_and_attributes = f.claims_with("scopes", json!(["admin"]));
    bad_scopes_and_attributes["user_attributes"] = json!({"ssn": "1"});
    assert_refused(
        f.exchange(&bad_scopes_and_attributes).await,
        "Invalid scopes",
    )
    .await;
    assert_eq!(f.issuance_count().await, 0);
    let used: i64 = f
        .app
        .count_rows("used_assertions", "service_account_id = $1", &f.account_id)
        .await;
    assert_eq!(used, 0, "refused assertions burn no jti");
}

#[tokio::test]
async fn a_suspended_client_stops_its_service_accounts() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let path = format!("/admin/clients/{}", f.client.id);
    let suspend = json!({"status": "suspended"});
    assert_eq!(
        f.app
            .admin(Method::PATCH, &path, Some(suspend))
            .await
            .status(),
        200
    );
    assert_refused(f.exchange(&f.claims()).await, "Service account is disabled").await;
    assert_eq!(f.issuance_count().await, 0);
}
