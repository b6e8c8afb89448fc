//! Client authentication and request format of both token routes: `client_secret_basic`
//! (form-urlencoded, then base64) and `client_secret_post`, exactly one of them; a form body with
//! a `token`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::Response;
use serde_json::Value;

use super::{basic_header, call, token_of, Auth, INTROSPECT, REVOKE};
use crate::helpers::TestApp;

/// One authentication attempt: what it is, the `Authorization` header, the form.
type Attempt<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);

/// Asserts an RFC 6749 §5.2 error: status, code, a description and nothing else.
async fn assert_error(response: Response, status: u16, code: &str) -> Option<String> {
    assert_eq!(response.status(), status, "{code}");
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    challenge
}

#[tokio::test]
async fn both_authentication_methods_are_accepted_on_both_routes() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    for auth in [Auth::Basic, Auth::Post] {
        let token = token_of(&app, &client).await;
        let introspected = call(&app, INTROSPECT, &client, auth, &token).await;
        assert_eq!(introspected.status(), 200, "{auth:?}");
        let answer: Value = introspected.json().await.unwrap();
        assert_eq!(answer["active"], true, "{auth:?}");
        assert_eq!(
            call(&app, REVOKE, &client, auth, &token).await.status(),
            200
        );
        let after = call(&app, INTROSPECT, &client, auth, &token).await;
        assert_eq!(
            after.json::<Value>().await.unwrap()["active"],
            false,
            "{auth:?}"
        );
    }
}

#[tokio::test]
async fn basic_credentials_are_form_urldecoded() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let token = token_of(&app, &client).await;
    let escaped_id: String = client.id.bytes().map(|b| format!("%{b:02X}")).collect();
    let header = format!(
        "Basic {}",
        STANDARD.encode(format!("{escaped_id}:{}", client.secret))
    );

    let response = app
        .http
        .post(app.url(INTROSPECT))
        .header(AUTHORIZATION, header)
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["active"], true);
}

#[tokio::test]
async fn failed_client_authentication_is_401_invalid_client_with_a_basic_challenge() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let token = token_of(&app, &client).await;
    let wrong = basic_header(&client.id, "wrong-secret");
    let right = basic_header(&client.id, &client.secret);
    let post = [
        ("token", token.as_str()),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
    ];
    let wrong_post = [post[0], post[1], ("client_secret", "wrong-secret")];
    for route in [INTROSPECT, REVOKE] {
        let cases: [Attempt; 5] = [
            ("wrong Basic secret", Some(&wrong), &post[..1]),
            ("wrong posted secret", None, &wrong_post),
            ("no credentials", None, &post[..1]),
            ("both methods at once", Some(&right), &post),
            ("a Bearer header", Some("Bearer abc"), &post[..1]),
        ];
        for (what, authorization, form) in cases {
            let mut request = app.http.post(app.url(route)).form(form);
            if let Some(value) = authorization {
                request = request.header(AUTHORIZATION, value);
            }
            let challenge =
                assert_error(request.send().await.unwrap(), 401, "invalid_client").await;
            let challenge = challenge.unwrap_or_else(|| panic!("{route} {what}: no challenge"));
            assert!(
                challenge.starts_with("Basic realm="),
                "{route} {what}: {challenge}"
            );
        }
    }
    let still: Value = call(&app, INTROSPECT, &client, Auth::Basic, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["active"], true, "no failed attempt revoked anything");
}

#[tokio::test]
async fn a_missing_token_a_repeated_parameter_or_a_json_body_is_400_invalid_request() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let basic = basic_header(&client.id, &client.secret);
    for route in [INTROSPECT, REVOKE] {
        let send = |body: &'static str, content_type: &'static str| {
            app.http
                .post(app.url(route))
                .header(AUTHORIZATION, basic.clone())
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let form = "application/x-www-form-urlencoded";
        for (body, content_type) in [
            ("", form),
            ("token=", form),
            ("token_type_hint=access_token", form),
            ("token=a&token=b", form),
            (r#"{"token": "a"}"#, "application/json"),
        ] {
            let response = send(body, content_type).await.unwrap();
            assert_error(response, 400, "invalid_request").await;
        }
    }
}
