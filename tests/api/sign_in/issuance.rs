//! What an accepted assertion gets: a token verifiable against the JWKS with the Sign-in
//! Service's claims and an issuance record; replay protection (check 14), also under a race;
//! certificate rotation.

use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{
    access_token, account_body, assert_refused, keys, register, Fixture, ACCESS_TOKEN_AUDIENCE,
    ICN, SUBJECT,
};
use crate::helpers::TestApp;
use crate::on_both_backends;

/// Verifies a token with the published JWKS, this service as issuer and `audience`.
async fn verify(
    app: &TestApp,
    token: &str,
    audience: &str,
) -> (jsonwebtoken::Header, Map<String, Value>) {
    let header = decode_header(token).unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(app.jwks().await).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is published");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[app.address.as_str()]);
    validation.set_audience(&[audience]);
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let claims = decode::<Map<String, Value>>(token, &key, &validation)
        .expect("the token verifies against the JWKS")
        .claims;
    (header, claims)
}

async fn issues_a_token_with_the_sign_in_service_claims_and_records_it(app: TestApp) {
    let f = Fixture::arrange(app).await;
    let token = access_token(f.exchange(&f.claims()).await).await;
    let (header, claims) = verify(&f.app, &token, ACCESS_TOKEN_AUDIENCE).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["aud"], ACCESS_TOKEN_AUDIENCE);
    assert_eq!(claims["client_id"], f.client.id.as_str());
    assert_eq!(claims["version"], "V0");
    assert_eq!(claims["scopes"], json!(["programs:read"]));
    assert_eq!(claims["scope"], "programs:read");
    assert_eq!(claims["service_account_id"], f.account_id.as_str());
    assert_eq!(claims["user_attributes"], json!({ "icn": ICN }));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 300));
    let jti = claims["jti"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(jti).is_ok(), "{jti}");

    let (scheme, subject, scopes): (String, String, String) =
        sqlx::query_as("select scheme, subject, scopes from issuances where jti = $1")
            .bind(jti)
            .fetch_one(f.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!((scheme.as_str(), subject.as_str()), ("sign_in", SUBJECT));
    assert_eq!(scopes, "programs:read");
    let me = f
        .app
        .http
        .get(f.app.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        200,
        "the token works on the protected endpoint"
    );
}
on_both_backends!(issues_a_token_with_the_sign_in_service_claims_and_records_it);

async fn absent_scopes_and_user_attributes_become_empty_claims(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let mut body = account_body(&client.id, &[keys()[0].certificate()]);
    body["scopes"] = json!([]);
    body["access_token_duration"] = json!(1800);
    let account_id = register(&app, body).await;
    let f = Fixture {
        app,
        client,
        account_id,
    };
    let mut claims = f.claims_without("scopes");
    claims.as_object_mut().unwrap().remove("user_attributes");
    let token = access_token(f.exchange(&claims).await).await;
    let (_, claims) = verify(&f.app, &token, ACCESS_TOKEN_AUDIENCE).await;
    assert_eq!(claims["scopes"], json!([]));
    assert_eq!(claims["user_attributes"], json!({}));
    assert!(claims.get("scope").is_none());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1800
    );
}
on_both_backends!(absent_scopes_and_user_attributes_become_empty_claims);

async fn check_14_refuses_a_replayed_jti_until_its_first_assertion_expired(app: TestApp) {
    let f = Fixture::arrange(app).await;
    let claims = f.claims();
    access_token(f.exchange(&claims).await).await;
    assert_refused(f.exchange(&claims).await, "Assertion has already been used").await;
    let same_jti = f.claims_with("jti", claims["jti"].clone());
    assert_refused(
        f.exchange(&same_jti).await,
        "Assertion has already been used",
    )
    .await;
    let fresh = f.claims_with("jti", json!("fresh-jti"));
    access_token(f.exchange(&fresh).await).await;
    assert_eq!(f.issuance_count().await, 2);

    f.app.clock.advance_seconds(300);
    let after_expiry = f.claims_with("jti", claims["jti"].clone());
    access_token(f.exchange(&after_expiry).await).await;
}
on_both_backends!(check_14_refuses_a_replayed_jti_until_its_first_assertion_expired);

async fn of_two_concurrent_requests_with_one_jti_exactly_one_gets_a_token(app: TestApp) {
    let f = Fixture::arrange(app).await;
    for _ in 0..3 {
        let assertion = keys()[0].sign(&f.claims());
        let (a, b) = tokio::join!(
            f.exchange_assertion(&assertion),
            f.exchange_assertion(&assertion)
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400]);
        let refused = if a.status() == 400 { a } else { b };
        assert_refused(refused, "Assertion has already been used").await;
    }
    assert_eq!(f.issuance_count().await, 3);
}
on_both_backends!(of_two_concurrent_requests_with_one_jti_exactly_one_gets_a_token);

/// Uses that arrive together are recorded in one statement: a burst of distinct assertions, each
/// sent twice at once, still gets exactly one token per assertion and one replay refusal.
async fn a_burst_of_assertions_each_sent_twice_gets_one_token_per_assertion(app: TestApp) {
    let f = Fixture::arrange(app).await;
    let assertions: Vec<String> = (0..12).map(|_| keys()[0].sign(&f.claims())).collect();
    let requests = assertions
        .iter()
        .chain(assertions.iter())
        .map(|assertion| f.exchange_assertion(assertion));
    let responses = futures::future::join_all(requests).await;
    let mut accepted = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            200 => accepted.push(access_token(response).await),
            400 => assert_refused(response, "Assertion has already been used").await,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(accepted.len(), 12);
    assert_eq!(f.issuance_count().await, 12);
}
on_both_backends!(a_burst_of_assertions_each_sent_twice_gets_one_token_per_assertion);

async fn with_two_live_certificates_either_key_signs(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let certificates = [keys()[0].certificate(), keys()[1].certificate()];
    let account_id = register(&app, account_body(&client.id, &certificates)).await;
    let f = Fixture {
        app,
        client,
        account_id,
    };
    for key in keys() {
        access_token(f.exchange_assertion(&key.sign(&f.claims())).await).await;
    }
}
on_both_backends!(with_two_live_certificates_either_key_signs);

async fn an_added_certificate_signs_and_a_replaced_list_drops_the_old_one(app: TestApp) {
    let f = Fixture::arrange(app).await;
    let by_new_key = || keys()[1].sign(&f.claims());
    assert_refused(
        f.exchange_assertion(&by_new_key()).await,
        "Assertion body does not match signature",
    )
    .await;
    let path = format!("/admin/service-accounts/{}/certificates", f.account_id);
    let added = f
        .app
        .admin(
            Method::POST,
            &path,
            Some(json!({"pem": keys()[1].certificate()})),
        )
        .await;
    assert_eq!(added.status(), 201);
    access_token(f.exchange_assertion(&by_new_key()).await).await;
    access_token(f.exchange(&f.claims()).await).await;

    let path = format!("/admin/service-accounts/{}", f.account_id);
    let only_new = json!({"certificates": [keys()[1].certificate()]});
    assert_eq!(
        f.app
            .admin(Method::PATCH, &path, Some(only_new))
            .await
            .status(),
        200
    );
    assert_refused(
        f.exchange(&f.claims()).await,
        "Assertion body does not match signature",
    )
    .await;
    access_token(f.exchange_assertion(&by_new_key()).await).await;
}
on_both_backends!(an_added_certificate_signs_and_a_replaced_list_drops_the_old_one);

#[tokio::test]
async fn a_store_that_does_not_answer_is_503_with_retry_after_in_the_same_shape() {
    let f = Fixture::arrange(TestApp::spawn().await).await;
    let assertion = keys()[0].sign(&f.claims());
    f.app.state.db.pool().close().await;
    let response = f.exchange_assertion(&assertion).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"].is_string(), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1);
}
