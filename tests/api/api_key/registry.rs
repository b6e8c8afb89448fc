//! The API-key credential in the registry, on both backends: which keys authenticate, and what
//! each refusal is in domain terms.

use chrono::Duration;
use secrecy::ExposeSecret;
use serde_json::json;
use tokenmint::audit::Actor;
use tokenmint::registry::api_keys::Environment;
use tokenmint::registry::RegistryError;

use crate::helpers::{ClockExt, TestApp};
use crate::on_both_backends;

async fn authenticate(
    app: &TestApp,
    key: &str,
    environment: Environment,
) -> Result<String, String> {
    app.state
        .registry
        .authenticate_api_key(key, environment, app.clock.now_utc())
        .await
        .map(|k| k.client.id.to_string())
        .map_err(|e| format!("{e:?}"))
}

async fn a_key_authenticates_only_in_its_environment_while_live(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let registry = &app.state.registry;
    let now = app.clock.now_utc();
    let issued = registry
        .create_api_key(
            &client.id,
            Environment::Sandbox,
            Some(now + Duration::hours(1)),
            &Actor::Service("test"),
            now,
        )
        .await
        .unwrap();
    let key = issued.key.expose_secret();

    assert_eq!(
        authenticate(&app, key, Environment::Sandbox).await,
        Ok(client.id.clone())
    );
    let wrong_environment = authenticate(&app, key, Environment::Production).await;
    assert!(wrong_environment.unwrap_err().contains("WrongSecret"));
    let unknown = authenticate(&app, &format!("{key}x"), Environment::Sandbox).await;
    assert!(unknown.unwrap_err().contains("UnknownClient"));
    assert!(authenticate(&app, "", Environment::Sandbox).await.is_err());

    app.clock.advance_seconds(3600);
    let expired = authenticate(&app, key, Environment::Sandbox).await;
    assert!(expired.unwrap_err().contains("WrongSecret"));
}
on_both_backends!(a_key_authenticates_only_in_its_environment_while_live);

async fn revocation_and_suspension_stop_a_key_and_listing_shows_it(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let registry = &app.state.registry;
    let now = app.clock.now_utc();
    let issued = registry
        .create_api_key(
            &client.id,
            Environment::Production,
            None,
            &Actor::Service("test"),
            now,
        )
        .await
        .unwrap();
    let key = issued.key.expose_secret();

    app.admin(
        reqwest::Method::PATCH,
        &format!("/admin/clients/{}", client.id),
        Some(json!({"status": "suspended"})),
    )
    .await;
    let suspended = authenticate(&app, key, Environment::Production).await;
    assert!(suspended.unwrap_err().contains("Suspended"));

    registry
        .revoke_api_key(&issued.api_key_id, &Actor::Service("test"), now)
        .await
        .unwrap();
    let listed = registry.api_keys(&client.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].environment, Environment::Production);
    assert!(listed[0].revoked_at.is_some());
    assert!(matches!(
        registry
            .revoke_api_key(&issued.api_key_id, &Actor::Service("test"), now)
            .await,
        Err(RegistryError::NotFound(_))
    ));
}
on_both_backends!(revocation_and_suspension_stop_a_key_and_listing_shows_it);

async fn creating_a_key_needs_a_client_and_a_future_expiry(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let registry = &app.state.registry;
    let now = app.clock.now_utc();

    let unknown = registry
        .create_api_key(
            "no-such-client",
            Environment::Sandbox,
            None,
            &Actor::Service("test"),
            now,
        )
        .await;
    assert!(matches!(unknown, Err(RegistryError::NotFound("client"))));
    let past = registry
        .create_api_key(
            &client.id,
            Environment::Sandbox,
            Some(now),
            &Actor::Service("test"),
            now,
        )
        .await;
    assert!(matches!(
        past,
        Err(RegistryError::Invalid {
            field: "expires_at",
            ..
        })
    ));
    assert!(registry.api_keys(&client.id).await.unwrap().is_empty());
}
on_both_backends!(creating_a_key_needs_a_client_and_a_future_expiry);
