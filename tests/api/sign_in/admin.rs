//! The admin API for service accounts: create, list, show, change, delete, add a certificate;
//! 401 without the admin token, 404 for an unknown id, 422 naming the field, and nothing written
//! for invalid input.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use super::{account_body, assert_refused, keys, register, Fixture};
use crate::helpers::{ClockExt, TestApp};
use crate::on_both_backends;

const COLLECTION: &str = "/admin/service-accounts";

async fn creates_lists_shows_changes_and_deletes_a_service_account(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let response = app
        .admin(
            Method::POST,
            COLLECTION,
            Some(account_body(&client.id, &[keys()[0].certificate()])),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let id = created["service_account_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(created["client_id"], client.id.as_str());
    assert_eq!(created["scopes"], json!(["programs:read", "schools:read"]));
    assert_eq!(created["access_token_duration"], 300);
    assert_eq!(
        created["access_token_user_attributes"],
        json!(["icn", "type"])
    );
    let certificate = &created["certificates"][0];
    assert_eq!(certificate["fingerprint"].as_str().unwrap().len(), 64);
    assert!(certificate["not_after"].is_string());
    assert!(
        !created.to_string().contains("BEGIN"),
        "PEMs are not echoed"
    );

    let path = format!("{COLLECTION}/{id}");
    let shown: Value = app
        .admin(Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown, created);
    let listed: Vec<Value> = app
        .admin(Method::GET, COLLECTION, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, vec![created.clone()]);

    let change = json!({"description": "Nightly", "access_token_duration": 1800, "scopes": ["schools:read"]});
    let changed = app.admin(Method::PATCH, &path, Some(change)).await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["description"], "Nightly");
    assert_eq!(changed["access_token_duration"], 1800);
    assert_eq!(changed["scopes"], json!(["schools:read"]));
    assert_eq!(
        changed["access_token_audience"], created["access_token_audience"],
        "untouched"
    );

    let added = app
        .admin(
            Method::POST,
            &format!("{path}/certificates"),
            Some(json!({"pem": keys()[1].certificate()})),
        )
        .await;
    assert_eq!(added.status(), 201);
    let added: Value = added.json().await.unwrap();
    assert!(added["certificate_id"].is_string());
    let shown: Value = app
        .admin(Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["certificates"].as_array().unwrap().len(), 2);

    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(app.admin(Method::GET, &path, None).await.status(), 404);
    let f = Fixture {
        app,
        client,
        account_id: id,
    };
    assert_refused(
        f.exchange(&f.claims()).await,
        "Service account config not found",
    )
    .await;
}
on_both_backends!(creates_lists_shows_changes_and_deletes_a_service_account);

#[tokio::test]
async fn every_service_account_route_needs_the_admin_token() {
    let app = TestApp::spawn().await;
    let routes = [
        (Method::POST, COLLECTION.to_owned()),
        (Method::GET, COLLECTION.to_owned()),
        (Method::GET, format!("{COLLECTION}/x")),
        (Method::PATCH, format!("{COLLECTION}/x")),
        (Method::DELETE, format!("{COLLECTION}/x")),
        (Method::POST, format!("{COLLECTION}/x/certificates")),
    ];
    for (method, path) in routes {
        let response = app
            .http
            .request(method.clone(), app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
}

#[tokio::test]
async fn unknown_service_accounts_are_404() {
    let app = TestApp::spawn().await;
    for (method, path, body) in [
        (Method::GET, "/admin/service-accounts/nope", None),
        (
            Method::PATCH,
            "/admin/service-accounts/nope",
            Some(json!({"description": "x"})),
        ),
        (Method::DELETE, "/admin/service-accounts/nope", None),
        (
            Method::POST,
            "/admin/service-accounts/nope/certificates",
            Some(json!({"pem": keys()[0].certificate()})),
        ),
    ] {
        let response = app.admin(method.clone(), path, body).await;
        assert_eq!(response.status(), 404, "{method} {path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "not_found");
    }
}

async fn invalid_input_is_422_naming_the_field_and_writes_nothing(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let now = app.clock.now_utc();
    let expired = keys()[0].certificate_between(now - Duration::days(400), now - Duration::days(2));
    let future = keys()[0].certificate_between(now + Duration::days(2), now + Duration::days(400));
    let ec_key = rcgen::KeyPair::generate().unwrap();
    let ec = rcgen::CertificateParams::new(vec!["ec.example".to_owned()])
        .unwrap()
        .self_signed(&ec_key)
        .unwrap()
        .pem();
    let valid = keys()[0].certificate();
    let with = |field: &str, value: Value| {
        let mut body = account_body(&client.id, std::slice::from_ref(&valid));
        body[field] = value;
        body
    };
    let cases = [
        (with("client_id", json!("no-such-client")), "client_id"),
        (
            with("service_account_id", json!("has space")),
            "service_account_id",
        ),
        (with("scopes", json!(["admin"])), "scopes"),
        (
            with("access_token_duration", json!(600)),
            "access_token_duration",
        ),
        (
            with("access_token_user_attributes", json!(["ssn"])),
            "access_token_user_attributes",
        ),
        (
            with("access_token_audience", json!("")),
            "access_token_audience",
        ),
        (with("certificates", json!([expired])), "certificates"),
        (with("certificates", json!([future])), "certificates"),
        (with("certificates", json!([ec])), "certificates"),
        (
            with(
                "certificates",
                json!(["-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"]),
            ),
            "certificates",
        ),
        (
            with("certificates", json!([valid, keys()[0].pem])),
            "certificates",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .admin(Method::POST, COLLECTION, Some(body.clone()))
            .await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request");
        assert_eq!(error["field"], field, "{error}");
    }
    let typo = app
        .admin(Method::POST, COLLECTION, Some(with("scope", json!([]))))
        .await;
    assert_eq!(typo.status(), 422);
    let listed: Vec<Value> = app
        .admin(Method::GET, COLLECTION, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing was written");

    let mut chosen = account_body(&client.id, std::slice::from_ref(&valid));
    chosen["service_account_id"] = json!("enrollment-sync");
    assert_eq!(register(&app, chosen.clone()).await, "enrollment-sync");
    let again = app.admin(Method::POST, COLLECTION, Some(chosen)).await;
    assert_eq!(again.status(), 422);
    let error: Value = again.json().await.unwrap();
    assert_eq!(error["field"], "service_account_id");
    let path = format!("{COLLECTION}/enrollment-sync");
    let duplicate = app
        .admin(
            Method::POST,
            &format!("{path}/certificates"),
            Some(json!({"pem": valid})),
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    let error: Value = duplicate.json().await.unwrap();
    assert_eq!(error["field"], "pem");
    let too_long = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"access_token_duration": 1800})),
        )
        .await;
    assert_eq!(
        too_long.status(),
        200,
        "1800 s is within the client's 60 minutes"
    );
}
on_both_backends!(invalid_input_is_422_naming_the_field_and_writes_nothing);

#[tokio::test]
async fn a_duration_beyond_the_clients_maximum_lifetime_is_refused() {
    let app = TestApp::spawn().await;
    let mut body = crate::helpers::standard_client_body("ES256");
    body["max_ttl_minutes"] = json!(10);
    let client = app.create_client(body).await;
    let mut account = account_body(&client.id, &[keys()[0].certificate()]);
    account["access_token_duration"] = json!(1800);
    let response = app.admin(Method::POST, COLLECTION, Some(account)).await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["field"], "access_token_duration");
}
