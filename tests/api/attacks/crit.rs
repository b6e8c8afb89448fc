//! RFC 7515 §4.1.11: a JWS whose `crit` header lists an extension the recipient does not
//! understand must be rejected. tokenmint understands none, so every place that reads a JWT from
//! outside refuses one with `crit`, in its own error format, even when it is otherwise genuine
//! (each test shows the same JWS without `crit` accepted first).

use reqwest::header::AUTHORIZATION;
use reqwest::Method;
use serde_json::{json, Value};

use super::jws::{compact, unseal, EcKey};
use super::{assert_sign_in_refused, sign_in_at, Target, TokenForm};
use crate::helpers::{standard_client_body, ClockExt, TestApp};
use crate::oauth::basic_header;
use crate::oauth::issuer::TestIssuer;
use crate::sign_in::keys;

const TOKEN: &str = "/oauth/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `header` with a critical extension: one this service does not understand.
fn with_crit(header: &Value) -> Value {
    let mut header = header.clone();
    header["crit"] = json!(["exp"]);
    header["exp"] = json!(4_102_444_800_i64);
    header
}

#[tokio::test]
async fn an_access_token_with_crit_is_refused_by_me_refresh_introspection_and_revocation() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let (header, claims) = target.genuine_parts();
    let kid = header["kid"].as_str().unwrap();
    // The service's own signing key, as someone holding the database and master key has it:
    // the only fault of the token below is its `crit`.
    let pool = target.app.state.db.pool();
    let key = EcKey::from_pkcs8(&unseal(pool, &target.app.master_key, kid).await);
    let resigned = compact(&header, &claims, |input| key.sign(input));
    let response = target
        .me(TokenForm::Bearer, &resigned)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "re-signed without crit, it is genuine"
    );

    let critical = compact(&with_crit(&header), &claims, |input| key.sign(input));

    target
        .assert_refused_as_access_token(&critical, "crit header")
        .await;
}

#[tokio::test]
async fn a_sign_in_assertion_with_crit_is_malformed() {
    let target = Target::arrange(TestApp::spawn().await).await;
    let account = target.service_account().await;
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let genuine = keys()[0].sign_with_header(&header, &target.assertion_claims(&account));
    assert_eq!(sign_in_at(&target.app, &genuine).await.status(), 200);
    let (issued, _) = target.ledger().await;

    let critical =
        keys()[0].sign_with_header(&with_crit(&header), &target.assertion_claims(&account));
    let message = assert_sign_in_refused(&target.app, &critical, "crit header").await;

    assert_eq!(message, "Assertion is malformed");
    assert_eq!(target.ledger().await.0, issued, "nothing issued");
}

/// `POST /oauth/token` with `form` (and `extra` headers); the status and JSON body.
async fn token(app: &TestApp, form: &[(&str, &str)], extra: &[(&str, String)]) -> (u16, Value) {
    let mut request = app.http.post(app.url(TOKEN)).form(form);
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_private_key_jwt_client_assertion_with_crit_is_invalid_client() {
    let app = TestApp::spawn().await;
    let key = EcKey::generate();
    let mut body = standard_client_body("ES256");
    body["jwks"] = json!({"keys": [key.public_jwk("ci-1")]});
    let client = app.create_client(body).await;
    let assertion = |header: &Value| {
        let now = app.clock.now_utc().timestamp();
        let claims = json!({"iss": client.id, "sub": client.id, "aud": app.url(TOKEN),
            "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string()});
        compact(header, &claims, |input| key.sign(input))
    };
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "ci-1"});
    let post = |assertion: String| {
        let app = &app;
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            token(app, &form, &[]).await
        }
    };
    assert_eq!(post(assertion(&header)).await.0, 200);

    let (status, body) = post(assertion(&with_crit(&header))).await;

    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("crit"), "{description}");
}

#[tokio::test]
async fn a_dpop_proof_with_crit_is_an_invalid_dpop_proof() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let key = EcKey::generate();
    let proof = |header: Value| {
        let claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": "POST",
            "htu": app.url(TOKEN), "iat": app.clock.now_utc().timestamp()});
        compact(&header, &claims, |input| key.sign(input))
    };
    let mut jwk = key.public_jwk("unused");
    jwk.as_object_mut().unwrap().remove("kid");
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let form = [("grant_type", "client_credentials")];
    let basic = (
        AUTHORIZATION.as_str(),
        basic_header(&client.id, &client.secret),
    );
    let genuine = token(
        &app,
        &form,
        &[basic.clone(), ("DPoP", proof(header.clone()))],
    )
    .await;
    assert_eq!(genuine.0, 200, "{}", genuine.1);
    assert_eq!(genuine.1["token_type"], "DPoP");

    let (status, body) = token(&app, &form, &[basic, ("DPoP", proof(with_crit(&header)))]).await;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("crit"), "{description}");
}

#[tokio::test]
async fn an_outside_subject_token_with_crit_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let issuer = TestIssuer::start().await;
    let client = app.standard_client("ES256").await;
    let audience = "https://github.com/acme";
    let policy = json!({"client_id": client.id, "issuer": issuer.url(), "audience": audience,
        "subject": "repo:acme/*:ref:refs/heads/main", "scopes": ["programs:read"],
        "max_ttl_minutes": 15});
    let created = app
        .admin(Method::POST, "/admin/trust-policies", Some(policy))
        .await;
    assert_eq!(created.status(), 201);
    let now = app.clock.now_utc().timestamp();
    let claims = issuer.github("acme/app", "refs/heads/main", audience, now);
    let exchange = |subject_token: String| {
        let app = &app;
        async move {
            let form = [
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", subject_token.as_str()),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ];
            token(app, &form, &[]).await
        }
    };
    assert_eq!(exchange(issuer.sign(&claims)).await.0, 200);

    let (status, body) = exchange(issuer.sign_with_crit(&claims)).await;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("crit"), "{description}");
}
