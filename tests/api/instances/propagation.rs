//! Changes made through instance A reach instance B: suspensions and revocations are refused by
//! B although B had just accepted (and cached) the credential, keys rotated on A are published
//! and accepted by B, and a service-account assertion is accepted once across both.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};
use tokenmint::clock::{Clock, SystemClock};

use super::{within_deadline, Instance, Pair, PUBLIC_URL};
use crate::helpers::TestClient;
use crate::sign_in::{account_body, keys, JWT_BEARER, SUBJECT, TOKEN_PATH};

/// `POST /auth/jwt` with a client's id and secret in headers; the status.
async fn auth_jwt(instance: &Instance, client: &TestClient) -> u16 {
    let request = instance.http.post(instance.url("/auth/jwt"));
    let request = request
        .header("client-id", &client.id)
        .header("client-secret", &client.secret);
    request.send().await.unwrap().status().as_u16()
}

/// `GET /v1/me` with a bearer token; the status.
async fn me(instance: &Instance, token: &str) -> u16 {
    let request = instance.http.get(instance.url("/v1/me")).bearer_auth(token);
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn suspensions_and_revocations_through_one_instance_are_refused_by_the_other() {
    let Pair { a, b, .. } = &Pair::start().await;

    // Suspension: B accepted the client twice (the second time from its cache).
    let suspended = a.create_client().await;
    for _ in 0..2 {
        assert_eq!(b.token_create(&suspended).await.status(), 200);
    }
    let path = format!("/admin/clients/{}", suspended.id);
    let patch = json!({"status": "suspended"});
    assert_eq!(
        a.admin(Method::PATCH, &path, Some(patch)).await.status(),
        200
    );
    within_deadline("suspended client refused by B", || async {
        b.token_create(&suspended).await.status() == 401
    })
    .await;

    // A revoked secret.
    let client = a.create_client().await;
    for _ in 0..2 {
        assert_eq!(auth_jwt(b, &client).await, 200);
    }
    let path = format!("/admin/clients/{}/secrets/{}", client.id, client.secret_id);
    assert_eq!(a.admin(Method::DELETE, &path, None).await.status(), 204);
    within_deadline("revoked secret refused by B", || async {
        auth_jwt(b, &client).await == 403
    })
    .await;

    // A revoked API key.
    let owner = a.create_client().await;
    let path = format!("/admin/clients/{}/api-keys", owner.id);
    let body = json!({"environment": "production"});
    let created: Value = a
        .admin(Method::POST, &path, Some(body))
        .await
        .json()
        .await
        .unwrap();
    let authorize = || async {
        let url = b.url("/clients/authorization");
        let request = b.http.get(url).query(&[("apiKey", &created["api_key"])]);
        request.send().await.unwrap().status().as_u16()
    };
    for _ in 0..2 {
        assert_eq!(authorize().await, 200);
    }
    let path = format!(
        "/admin/api-keys/{}",
        created["api_key_id"].as_str().unwrap()
    );
    assert_eq!(a.admin(Method::DELETE, &path, None).await.status(), 204);
    within_deadline("revoked API key refused by B", || async {
        authorize().await == 401
    })
    .await;

    // A revoked JWT credential, revoked by its client through A's portal.
    let (key, secret, holder) = a.jwt_credential().await;
    let generate = || async {
        let body = json!({"key": key, "secret": secret});
        let request = b.http.post(b.url("/auth/authtoken")).json(&body);
        request.send().await.unwrap().status().as_u16()
    };
    for _ in 0..2 {
        assert_eq!(generate().await, 200);
    }
    let revoke = a.http.delete(a.url(&format!("/v1/credentials/{key}")));
    let revoked = revoke.basic_auth(&holder.id, Some(&holder.secret)).send();
    assert_eq!(revoked.await.unwrap().status(), 204);
    within_deadline("revoked JWT credential refused by B", || async {
        generate().await == 401
    })
    .await;
}

#[tokio::test]
async fn a_token_revoked_through_one_instance_is_refused_by_the_other_at_once() {
    let Pair { a, b, .. } = &Pair::start().await;
    let client = a.create_client().await;
    let issued: Value = a.token_create(&client).await.json().await.unwrap();
    let token = issued["jwt"].as_str().unwrap();
    assert_eq!(me(b, token).await, 200);

    let revoke = a
        .http
        .post(a.url("/oauth/revoke"))
        .form(&[("token", token)]);
    let revoke = revoke.basic_auth(&client.id, Some(&client.secret));
    assert_eq!(revoke.send().await.unwrap().status(), 200);

    // Revocation is looked up in the database on every verification: no delay at all.
    assert_eq!(me(b, token).await, 401);
}

/// The kids a JWKS document publishes.
async fn kids(instance: &Instance) -> BTreeSet<String> {
    let url = instance.url("/.well-known/jwks.json");
    let jwks: Value = instance
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn keys_rotated_on_one_instance_are_published_and_accepted_by_the_other() {
    let Pair { a, b, .. } = &Pair::start().await;
    let before = kids(b).await;
    assert_eq!(kids(a).await, before);

    // Twice: the key that signs after the second rotation was created by the first, so B can only
    // know it from the change notification (its periodic reload is an hour away).
    for _ in 0..2 {
        let body = json!({"algorithm": "ES256"});
        let rotated = a
            .admin(Method::POST, "/admin/keys/rotate", Some(body))
            .await;
        assert_eq!(rotated.status(), 200);
    }
    let published = kids(a).await;
    within_deadline("rotated keys published by B", || async {
        kids(b).await == published
    })
    .await;

    let client = a.create_client().await;
    let issued: Value = a.token_create(&client).await.json().await.unwrap();
    let token = issued["jwt"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    assert!(
        !before.contains(&kid),
        "signed by a key created after B started"
    );
    assert_eq!(me(b, token).await, 200);
}

#[tokio::test]
async fn one_assertion_sent_to_both_instances_at_once_is_accepted_once() {
    let Pair { a, b, .. } = &Pair::start().await;
    let client = a.create_client().await;
    let body = account_body(&client.id, &[keys()[0].certificate()]);
    let created = a
        .admin(Method::POST, "/admin/service-accounts", Some(body))
        .await;
    assert_eq!(created.status(), 201);
    let account: Value = created.json().await.unwrap();
    let account_id = account["service_account_id"].as_str().unwrap();
    let now = SystemClock.now().timestamp() - 1;
    let assertion = keys()[0].sign(&json!({
        "iss": account_id,
        "sub": SUBJECT,
        "aud": format!("{PUBLIC_URL}{TOKEN_PATH}"),
        "iat": now,
        "exp": now + 300,
        "scopes": ["programs:read"],
        "service_account_id": account_id,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    }));
    let exchange = |instance: &Instance| {
        let form = [
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.as_str()),
        ];
        instance
            .http
            .post(instance.url(TOKEN_PATH))
            .form(&form)
            .send()
    };

    let (on_a, on_b) = tokio::join!(exchange(a), exchange(b));

    let mut answers = Vec::new();
    for response in [on_a.unwrap(), on_b.unwrap()] {
        let status = response.status().as_u16();
        answers.push((status, response.json::<Value>().await.unwrap()));
    }
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert!(answers[0].1["data"]["access_token"].is_string());
    assert_eq!(answers[1].0, 400, "{answers:?}");
    assert_eq!(answers[1].1["errors"], "Assertion has already been used");
}
