//! JWT credentials: created for approved groups only, the secret shown once, listed without it,
//! revoked by their own client only.

use reqwest::Method;
use serde_json::{json, Value};

use super::{approved_client, create_credential, portal, status_and_body, GROUP, OTHER_GROUP};
use crate::helpers::TestApp;
use crate::on_both_backends;

async fn a_credential_is_shown_once_listed_without_its_secret_and_revoked(app: TestApp) {
    let client = approved_client(&app).await;
    let (status, created) =
        status_and_body(create_credential(&app, &client, json!([GROUP])).await).await;
    assert_eq!(status, 201);
    let key = created["key"].as_str().unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(created["secret"].as_str().unwrap().len(), 43);
    assert_eq!(
        (created["username"].as_str(), &created["api_groups"]),
        (Some("careers-site"), &json!([GROUP]))
    );
    let (hash,): (String,) = sqlx::query_as("select hash from jwt_credentials where key = $1")
        .bind(key)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));

    let listed: Value = portal(&app, &client, Method::GET, "/v1/credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["key"], key);
    assert!(listed[0].get("secret").is_none(), "{listed}");
    assert!(!listed
        .to_string()
        .contains(created["secret"].as_str().unwrap()));

    let path = format!("/v1/credentials/{key}");
    let other = app.standard_client("ES256").await;
    let foreign = portal(&app, &other, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404, "another client's key is not found");
    let revoked = portal(&app, &client, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let again = portal(&app, &client, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "already revoked");
    let unknown = portal(&app, &client, Method::DELETE, "/v1/credentials/nope")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let listed: Value = portal(&app, &client, Method::GET, "/v1/credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed[0]["revoked_at"].is_string());
}
on_both_backends!(a_credential_is_shown_once_listed_without_its_secret_and_revoked);

#[tokio::test]
async fn a_credential_for_a_group_that_was_not_approved_is_refused_with_403() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    for groups in [
        json!([OTHER_GROUP]),
        json!([GROUP, OTHER_GROUP]),
        json!(["unknown"]),
    ] {
        let (status, error) =
            status_and_body(create_credential(&app, &client, groups.clone()).await).await;
        assert_eq!(status, 403, "{groups}");
        assert_eq!(error["error"], "group_not_approved");
    }
    let stranger = app.standard_client("ES256").await;
    let (status, _) =
        status_and_body(create_credential(&app, &stranger, json!([GROUP])).await).await;
    assert_eq!(status, 403, "approval is per client");
    assert_eq!(
        app.count_rows("jwt_credentials", "client_id = $1", &client.id)
            .await,
        0
    );
}
