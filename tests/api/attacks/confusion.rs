//! Token kind confusion (RFC 8725 §2.8, §3.11): a service-account assertion presented as an
//! access token, and an access token presented as an assertion.

use serde_json::json;

use super::{assert_sign_in_refused, Target, TokenForm};
use crate::helpers::TestApp;
use crate::sign_in::{access_token, keys};

#[tokio::test]
async fn an_assertion_is_not_an_access_token() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let account = target.service_account().await;
    let (genuine_header, _) = target.genuine_parts();
    let claims = target.assertion_claims(&account);
    let assertion = keys()[0].sign(&claims);
    target
        .assert_refused_as_access_token(&assertion, "an assertion (typ JWT)")
        .await;
    // Dressed up as an access token: RFC 9068's typ and one of our kids.
    let dressed = keys()[0].sign_with_header(
        &json!({"alg": "RS256", "typ": "at+jwt", "kid": genuine_header["kid"]}),
        &claims,
    );
    target
        .assert_refused_as_access_token(&dressed, "an assertion with typ at+jwt and our kid")
        .await;
    // Neither was consumed or spoiled: the assertion itself is still good once.
    access_token(target.sign_in(&assertion).await).await;
}

#[tokio::test]
async fn an_access_token_is_not_an_assertion() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let account = target.service_account().await;
    let assertion = keys()[0].sign(&target.assertion_claims(&account));
    // RS256 and naming the service account: the closest an access token comes to an assertion.
    let service_token = access_token(target.sign_in(&assertion).await).await;
    let response = target.me(TokenForm::Bearer, &service_token).send().await;
    assert_eq!(response.unwrap().status(), 200, "a genuine access token");
    let before = target.ledger().await;
    let message = assert_sign_in_refused(&target.app, &service_token, "sign_in token").await;
    assert_eq!(message, "Assertion body does not match signature");
    let message = assert_sign_in_refused(&target.app, &target.genuine, "AuthToken").await;
    assert_eq!(
        message, "Assertion is malformed",
        "ES256 is not an assertion's alg"
    );
    assert_eq!(target.ledger().await, before, "nothing issued");
}
