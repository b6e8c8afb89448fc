//! Access requests, the administrator's decisions, notifications and their e-mail.

use reqwest::header::WWW_AUTHENTICATE;
use reqwest::Method;
use serde_json::{json, Value};

use super::{
    create_credential, create_groups, decide, portal, request_group, status_and_body, GROUP,
    GROUP_SCOPES, NOTE, OTHER_GROUP,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

async fn allowed_scopes(app: &TestApp, client_id: &str) -> Value {
    let path = format!("/admin/clients/{client_id}");
    let client: Value = app
        .admin(Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    client["allowed_scopes"].clone()
}

async fn a_request_stays_pending_until_approved_and_the_client_is_notified(app: TestApp) {
    create_groups(&app).await;
    let client = app.standard_client("ES256").await;
    let id = request_group(&app, &client).await;
    let mine: Value = portal(&app, &client, Method::GET, "/v1/access-requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine[0]["status"], "pending");
    assert_eq!(mine[0]["api_groups"], json!([GROUP]));
    let queue: Value = app
        .admin(Method::GET, "/admin/access-requests?status=pending", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue[0]["id"], id.as_str());
    let (status, _) = status_and_body(create_credential(&app, &client, json!([GROUP])).await).await;
    assert_eq!(status, 403, "nothing is granted while pending");

    let (status, decided) = status_and_body(decide(&app, &id, "approve").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            decided["status"].as_str(),
            decided["decision_note"].as_str()
        ),
        (Some("approved"), Some(NOTE))
    );
    let scopes = allowed_scopes(&app, &client.id).await;
    for scope in GROUP_SCOPES {
        assert!(
            scopes.as_array().unwrap().contains(&json!(scope)),
            "{scopes}"
        );
    }
    let (status, again) = status_and_body(decide(&app, &id, "reject").await).await;
    assert_eq!((status, again["field"].as_str()), (422, Some("status")));
    let queue: Value = app
        .admin(Method::GET, "/admin/access-requests?status=pending", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue, json!([]));

    let notifications: Value = portal(&app, &client, Method::GET, "/v1/notifications")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let notification = &notifications[0];
    assert_eq!(notification["kind"], "access_request_approved");
    assert_eq!(notification["access_request_id"], id.as_str());
    assert!(notification["message"].as_str().unwrap().contains(NOTE));
    assert!(notification["read_at"].is_null());
    let path = format!(
        "/v1/notifications/{}/read",
        notification["id"].as_str().unwrap()
    );
    let (status, read) = status_and_body(
        portal(&app, &client, Method::POST, &path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(read["read_at"].is_string());
}
on_both_backends!(a_request_stays_pending_until_approved_and_the_client_is_notified);

async fn a_rejected_request_grants_nothing_and_needs_a_note(app: TestApp) {
    create_groups(&app).await;
    let client = app.standard_client("ES256").await;
    let id = request_group(&app, &client).await;
    let path = format!("/admin/access-requests/{id}/reject");
    let (status, error) = status_and_body(app.admin(Method::POST, &path, None).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("note")));

    let (status, decided) = status_and_body(decide(&app, &id, "reject").await).await;
    assert_eq!(
        (status, decided["status"].as_str()),
        (200, Some("rejected"))
    );
    assert_eq!(
        allowed_scopes(&app, &client.id).await,
        json!(["programs:read", "schools:read"])
    );
    let (status, error) =
        status_and_body(create_credential(&app, &client, json!([GROUP])).await).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (403, Some("group_not_approved"))
    );
    let notifications: Value = portal(&app, &client, Method::GET, "/v1/notifications")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(notifications[0]["kind"], "access_request_rejected");
    let unknown = app
        .admin(Method::POST, "/admin/access-requests/ar_nope/approve", None)
        .await;
    assert_eq!(unknown.status(), 404);
}
on_both_backends!(a_rejected_request_grants_nothing_and_needs_a_note);

#[tokio::test]
async fn a_decision_is_mailed_to_the_client_through_the_configured_smtp_relay() {
    let sink = SmtpSink::start().await;
    let port = sink.port.to_string();
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[
            ("TOKENMINT__SMTP__HOST", "127.0.0.1"),
            ("TOKENMINT__SMTP__PORT", &port),
            ("TOKENMINT__SMTP__TLS", "none"),
            (
                "TOKENMINT__SMTP__FROM",
                "tokenmint <no-reply@tokenmint.test>",
            ),
        ],
    )
    .await;
    create_groups(&app).await;
    let client = app.standard_client("ES256").await;
    let id = request_group(&app, &client).await;
    assert!(sink.messages().is_empty(), "a request alone sends nothing");

    assert_eq!(decide(&app, &id, "approve").await.status(), 200);
    let message = sink.wait_for_message().await;
    assert_eq!(message.rcpt_to, ["dev@example.com"]);
    assert_eq!(message.mail_from, "no-reply@tokenmint.test");
    assert!(
        message
            .data
            .contains("Subject: tokenmint: your access request was approved"),
        "{}",
        message.data
    );
    assert!(message.data.contains(NOTE), "{}", message.data);
    assert!(message.data.contains(&id), "{}", message.data);
}

#[tokio::test]
async fn portal_routes_refuse_missing_wrong_or_suspended_client_credentials() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let mut wrong = client.clone();
    wrong.secret = "not-the-secret".into();
    let anonymous = app
        .http
        .get(app.url("/v1/credentials"))
        .send()
        .await
        .unwrap();
    let wrong_secret = portal(&app, &wrong, Method::GET, "/v1/notifications")
        .send()
        .await
        .unwrap();
    let bearer = app
        .http
        .get(app.url("/v1/access-requests"))
        .bearer_auth(&client.secret)
        .send()
        .await
        .unwrap();
    for response in [anonymous, wrong_secret, bearer] {
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Basic realm="tokenmint""#
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    let path = format!("/admin/clients/{}", client.id);
    let suspend = json!({"status": "suspended"});
    assert_eq!(
        app.admin(Method::PATCH, &path, Some(suspend))
            .await
            .status(),
        200
    );
    let suspended = portal(&app, &client, Method::GET, "/v1/credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), 401);
}

#[tokio::test]
async fn bad_portal_input_is_400_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    create_groups(&app).await;
    let client = app.standard_client("ES256").await;
    let requests = [
        (json!({"reason": "r"}), "api_groups"),
        (json!({"api_groups": GROUP, "reason": "r"}), "api_groups"),
        (json!({"api_groups": [], "reason": "r"}), "api_groups"),
        (json!({"api_groups": [1], "reason": "r"}), "api_groups"),
        (json!({"api_groups": ["nope"], "reason": "r"}), "api_groups"),
        (json!({"api_groups": [GROUP]}), "reason"),
        (json!({"api_groups": [GROUP], "reason": "  "}), "reason"),
        (
            json!({"api_groups": [GROUP], "reason": "x".repeat(2001)}),
            "reason",
        ),
    ];
    for (body, field) in requests {
        let response = portal(&app, &client, Method::POST, "/v1/access-requests")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, error) = status_and_body(response).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
        assert_eq!(error["error"], "invalid_request");
    }
    let credentials = [
        (json!({"api_groups": [GROUP]}), "username"),
        (json!({"username": 7, "api_groups": [GROUP]}), "username"),
        (
            json!({"username": "u", "notes": [], "api_groups": [GROUP]}),
            "notes",
        ),
        (json!({"username": "u"}), "api_groups"),
    ];
    for (body, field) in credentials {
        let response = portal(&app, &client, Method::POST, "/v1/credentials")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, error) = status_and_body(response).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    let not_json = portal(&app, &client, Method::POST, "/v1/access-requests")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(
        app.count_rows("access_requests", "client_id = $1", &client.id)
            .await,
        0
    );
    assert_eq!(
        app.count_rows("jwt_credentials", "client_id = $1", &client.id)
            .await,
        0
    );
    let other = json!({"api_groups": [OTHER_GROUP, GROUP], "reason": "both"});
    let both = portal(&app, &client, Method::POST, "/v1/access-requests")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 201, "several groups in one request");
}
