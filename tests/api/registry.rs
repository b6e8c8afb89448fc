//! The client registry on both backends: authentication, secrets, rotation, suspension.

use reqwest::Method;
use serde_json::json;
use tokenmint::registry::RegistryError;

use crate::helpers::{ClockExt, TestApp};
use crate::on_both_backends;

async fn authenticate(app: &TestApp, id: &str, secret: &str) -> Result<String, RegistryError> {
    app.state
        .registry
        .authenticate(id, secret, app.clock.now_utc())
        .await
        .map(|authenticated| authenticated.client.id.to_string())
}

async fn a_client_authenticates_with_its_secret_and_nothing_else(app: TestApp) {
    let client = app.standard_client("ES256").await;
    assert_eq!(
        authenticate(&app, &client.id, &client.secret)
            .await
            .unwrap(),
        client.id
    );
    assert!(matches!(
        authenticate(&app, &client.id, "wrong-secret").await,
        Err(RegistryError::WrongSecret)
    ));
    assert!(matches!(
        authenticate(&app, "no-such-client", &client.secret).await,
        Err(RegistryError::UnknownClient)
    ));
    assert!(matches!(
        authenticate(&app, "", "").await,
        Err(RegistryError::UnknownClient)
    ));
}
on_both_backends!(a_client_authenticates_with_its_secret_and_nothing_else);

async fn secrets_are_stored_only_as_argon2id_hashes(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let (hash,): (String,) = sqlx::query_as("select hash from client_secrets where client_id = $1")
        .bind(&client.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(&client.secret));
}
on_both_backends!(secrets_are_stored_only_as_argon2id_hashes);

async fn several_secrets_live_at_once_and_revoking_one_stops_only_it(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let response = app
        .admin(
            Method::POST,
            &format!("/admin/clients/{}/secrets", client.id),
            None,
        )
        .await;
    assert_eq!(response.status(), 201);
    let second: serde_json::Value = response.json().await.unwrap();
    let second_secret = second["client_secret"].as_str().unwrap();
    assert!(authenticate(&app, &client.id, &client.secret).await.is_ok());
    assert!(authenticate(&app, &client.id, second_secret).await.is_ok());

    let path = format!("/admin/clients/{}/secrets/{}", client.id, client.secret_id);
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert!(matches!(
        authenticate(&app, &client.id, &client.secret).await,
        Err(RegistryError::WrongSecret)
    ));
    assert!(authenticate(&app, &client.id, second_secret).await.is_ok());
    assert_eq!(
        app.admin(Method::DELETE, &path, None).await.status(),
        404,
        "already revoked"
    );
}
on_both_backends!(several_secrets_live_at_once_and_revoking_one_stops_only_it);

async fn a_secret_with_an_expiry_stops_working_when_it_passes(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let expires_at = app.clock.now_utc() + chrono::Duration::hours(1);
    let response = app
        .admin(
            Method::POST,
            &format!("/admin/clients/{}/secrets", client.id),
            Some(json!({ "expires_at": expires_at })),
        )
        .await;
    assert_eq!(response.status(), 201);
    let expiring: serde_json::Value = response.json().await.unwrap();
    let secret = expiring["client_secret"].as_str().unwrap();
    assert!(authenticate(&app, &client.id, secret).await.is_ok());
    app.clock.advance_seconds(3601);
    assert!(matches!(
        authenticate(&app, &client.id, secret).await,
        Err(RegistryError::WrongSecret)
    ));
    assert!(
        authenticate(&app, &client.id, &client.secret).await.is_ok(),
        "the other still works"
    );
}
on_both_backends!(a_secret_with_an_expiry_stops_working_when_it_passes);

async fn suspending_a_client_stops_its_credentials_until_reactivated(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let path = format!("/admin/clients/{}", client.id);
    let response = app
        .admin(Method::PATCH, &path, Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(response.status(), 200);
    assert!(matches!(
        authenticate(&app, &client.id, &client.secret).await,
        Err(RegistryError::Suspended)
    ));
    assert!(
        matches!(
            authenticate(&app, &client.id, "wrong").await,
            Err(RegistryError::WrongSecret)
        ),
        "suspension is revealed only to holders of a valid secret"
    );
    app.admin(Method::PATCH, &path, Some(json!({"status": "active"})))
        .await;
    assert!(authenticate(&app, &client.id, &client.secret).await.is_ok());
}
on_both_backends!(suspending_a_client_stops_its_credentials_until_reactivated);

async fn a_phone_belongs_to_one_client_and_finds_it(app: TestApp) {
    let mut body = crate::helpers::standard_client_body("ES256");
    body["phones"] = json!(["+380 50 123 45 67"]);
    let first = app.create_client(body.clone()).await;
    let found = app
        .state
        .registry
        .client_by_phone("+380501234567")
        .await
        .unwrap();
    assert_eq!(found.id.as_str(), first.id);
    let response = app.admin(Method::POST, "/admin/clients", Some(body)).await;
    assert_eq!(response.status(), 422);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["field"], "phones");
    assert_eq!(
        app.count_rows("clients", "name = $1", "Test client").await,
        1,
        "nothing written"
    );
}
on_both_backends!(a_phone_belongs_to_one_client_and_finds_it);
