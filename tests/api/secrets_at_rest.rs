//! Secrets at rest and in logs (issue 6, point 6): the binary runs as its own process on a fresh
//! PostgreSQL database with verbose logs captured; every scheme and the admin API are driven
//! once; then every table is dumped as text and, with the logs, searched for every secret, API
//! key, credential secret, token, assertion and private key the run saw, in several encodings.

mod service;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::AUTHORIZATION;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};

use crate::attacks::jws::unseal;
use crate::sign_in::{keys, JWT_BEARER};
use service::{Secrets, Service};

/// A wrong secret a client might send (a typo of a real one is just as secret).
const WRONG_SECRET: &str = "wrong-secret-0123456789abcdefghij";

#[tokio::test]
async fn no_secret_token_or_private_key_is_stored_or_logged_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let mut service = Service::start(dir.path()).await;
    let run = Run {
        http: Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        url: service.url.clone(),
        admin_token: service.admin_token.clone(),
    };
    let mut secrets = Secrets::default();
    secrets.add("admin token", &service.admin_token);
    secrets.add("master key", &service.master_key);
    secrets.add("wrong secret", WRONG_SECRET);
    run.every_scheme(&mut secrets).await;
    service.stop();

    let db = tokenmint::db::Database::connect_url(&service.database_url, 2, Duration::from_secs(5))
        .await
        .unwrap();
    let kids: Vec<(String,)> = sqlx::query_as("select kid from signing_keys")
        .fetch_all(db.pool())
        .await
        .unwrap();
    for (kid,) in &kids {
        let der = unseal(db.pool(), &service.master_key, kid).await;
        secrets.add_private_key(&format!("signing key {kid}"), &der);
    }
    let pem = &keys()[0].pem;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    secrets.add_private_key("service account key", &STANDARD.decode(body).unwrap());

    let dump = dump_every_table(db.pool()).await;
    let log = service.log();
    assert!(
        log.contains("/auth/token/create"),
        "request logs were captured"
    );
    assert!(
        log.contains("db.statement"),
        "SQL statement logs were captured"
    );
    assert!(dump.contains("token_create"), "issuances were dumped");
    assert!(secrets.len() > 100, "{} forms checked", secrets.len());
    assert_eq!(
        secrets.found_in(&dump),
        Vec::<&str>::new(),
        "in the database"
    );
    assert_eq!(secrets.found_in(&log), Vec::<&str>::new(), "in the logs");
}

/// Every table of the public schema, each row as PostgreSQL's text form of the record.
async fn dump_every_table(pool: &sqlx::AnyPool) -> String {
    let tables: Vec<(String,)> = sqlx::query_as(
        "select table_name::text from information_schema.tables where table_schema = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let mut dump = String::new();
    for (table,) in tables {
        let sql = format!(r#"select t::text from "{table}" t"#);
        let rows: Vec<(String,)> = sqlx::query_as(&sql).fetch_all(pool).await.unwrap();
        for (row,) in rows {
            dump.push_str(&format!("{table}: {row}\n"));
        }
    }
    dump
}

/// A client of the running service.
struct Run {
    http: Client,
    url: String,
    admin_token: String,
}

impl Run {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    /// Sends a request, asserts its status and returns the JSON body (`null` when none).
    async fn expect(&self, request: RequestBuilder, status: u16) -> Value {
        let response = request.send().await.unwrap();
        let (actual, path) = (response.status().as_u16(), response.url().path().to_owned());
        let bytes = response.bytes().await.unwrap();
        assert_eq!(
            actual,
            status,
            "{path}: {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    async fn admin(&self, method: Method, path: &str, body: Value, status: u16) -> Value {
        let request = self.request(method, path).bearer_auth(&self.admin_token);
        self.expect(request.json(&body), status).await
    }

    /// Drives the admin API and schemes A to E, introspection and revocation, collecting every
    /// secret and token into `secrets`.
    async fn every_scheme(&self, secrets: &mut Secrets) {
        let client = self
            .admin(Method::POST, "/admin/clients", client_body(), 201)
            .await;
        let id = client["client_id"].as_str().unwrap().to_owned();
        let secret = client["client_secret"].as_str().unwrap().to_owned();
        secrets.add("client secret", &secret);
        let path = format!("/admin/clients/{id}/secrets");
        let second = self.admin(Method::POST, &path, json!({}), 201).await;
        secrets.add(
            "second client secret",
            second["client_secret"].as_str().unwrap(),
        );
        let path = format!("/admin/clients/{id}/api-keys");
        let key = self
            .admin(
                Method::POST,
                &path,
                json!({"environment": "production"}),
                201,
            )
            .await;
        let api_key = key["api_key"].as_str().unwrap().to_owned();
        secrets.add("API key", &api_key);

        // A, with a wrong secret first.
        let create = |secret: &str| {
            self.request(Method::POST, "/auth/token/create")
                .json(&json!({"client_id": id, "client_secret": secret, "ipaddress": "10.0.0.1"}))
        };
        self.expect(create(WRONG_SECRET), 401).await;
        let a = self.expect(create(&secret), 200).await;
        secrets.add("token A", a["jwt"].as_str().unwrap());
        // B, GET and POST.
        for method in [Method::GET, Method::POST] {
            let response = self
                .request(method, "/auth/jwt")
                .header("client-id", &id)
                .header("client-secret", &secret)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let header = response.headers()[AUTHORIZATION].to_str().unwrap();
            secrets.add("token B", header.trim_start_matches("Bearer "));
        }
        // C.
        let c = self.request(Method::GET, "/clients/authorization");
        let c = self.expect(c.query(&[("apiKey", &api_key)]), 200).await;
        let c_token = c["jwt"].as_str().unwrap().to_owned();
        secrets.add("token C", &c_token);
        self.authtoken(&id, &secret, secrets).await;
        self.sign_in(&id, secrets).await;
        // Using and managing tokens.
        let me = |r: RequestBuilder| async { self.expect(r, 200).await };
        me(self.request(Method::GET, "/v1/me").bearer_auth(&c_token)).await;
        me(self
            .request(Method::GET, "/v1/me")
            .header(AUTHORIZATION, &c_token))
        .await;
        me(self.request(Method::GET, &format!("/v1/me?jwt={c_token}"))).await;
        let introspect = self.request(Method::POST, "/oauth/introspect");
        let form = [("token", c_token.as_str())];
        let answer = self
            .expect(introspect.basic_auth(&id, Some(&secret)).form(&form), 200)
            .await;
        assert_eq!(answer["active"], true);
        let revoke = self.request(Method::POST, "/oauth/revoke").form(&[
            ("token", c_token.as_str()),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ]);
        self.expect(revoke, 200).await;
    }

    /// D: access request, approval, credentials, generate, refresh, and a reused refresh.
    async fn authtoken(&self, id: &str, secret: &str, secrets: &mut Secrets) {
        let group = json!({"name": "reports", "scopes": ["reports:read"]});
        self.admin(Method::POST, "/admin/api-groups", group, 201)
            .await;
        let portal =
            |method: Method, path: &str| self.request(method, path).basic_auth(id, Some(secret));
        let body = json!({"api_groups": ["reports"], "reason": "monthly reports"});
        let request = portal(Method::POST, "/v1/access-requests").json(&body);
        let request = self.expect(request, 201).await;
        let path = format!(
            "/admin/access-requests/{}/approve",
            request["id"].as_str().unwrap()
        );
        self.admin(Method::POST, &path, json!({"note": "ok"}), 200)
            .await;
        let body = json!({"username": "site", "notes": "web", "api_groups": ["reports"]});
        let credential = self
            .expect(portal(Method::POST, "/v1/credentials").json(&body), 201)
            .await;
        let credential_secret = credential["secret"].as_str().unwrap();
        secrets.add("JWT credential secret", credential_secret);
        let body = json!({"key": credential["key"], "secret": credential_secret});
        let generate = self.request(Method::POST, "/auth/authtoken").json(&body);
        let first = self.expect(generate, 200).await["authToken"].clone();
        secrets.add("AuthToken", first.as_str().unwrap());
        let refresh = || self.request(Method::POST, "/auth/authtoken/refresh");
        let second = self
            .expect(refresh().json(&json!({"authToken": first})), 200)
            .await;
        secrets.add("refreshed AuthToken", second["authToken"].as_str().unwrap());
        self.expect(refresh().json(&json!({"authToken": first})), 401)
            .await;
    }

    /// E: a service account of the client, an assertion, its token, and a replay.
    async fn sign_in(&self, id: &str, secrets: &mut Secrets) {
        let body = json!({
            "client_id": id, "description": "sync", "scopes": ["programs:read"],
            "access_token_audience": "http://localhost:4000", "access_token_duration": 300,
            "access_token_user_attributes": ["icn"], "certificates": [keys()[0].certificate()],
        });
        let account = self
            .admin(Method::POST, "/admin/service-accounts", body, 201)
            .await;
        let account = account["service_account_id"].as_str().unwrap();
        let now = tokenmint::clock::Clock::now(&tokenmint::clock::SystemClock).timestamp();
        let assertion = keys()[0].sign(&json!({
            "iss": account, "service_account_id": account, "sub": "user@example.com",
            "aud": format!("{}/v0/sign_in/token", self.url), "iat": now, "exp": now + 300,
            "scopes": ["programs:read"], "jti": uuid::Uuid::new_v4().to_string(),
            "user_attributes": {"icn": "1012667122V019349"},
        }));
        secrets.add("assertion", &assertion);
        let form = [("grant_type", JWT_BEARER), ("assertion", &assertion)];
        let exchange = || self.request(Method::POST, "/v0/sign_in/token").form(&form);
        let token = self.expect(exchange(), 200).await;
        secrets.add("token E", token["data"]["access_token"].as_str().unwrap());
        self.expect(exchange(), 400).await;
    }
}

fn client_body() -> Value {
    json!({
        "name": "Secrets check", "allowed_scopes": ["programs:read", "reports:read"],
        "default_scopes": ["programs:read"], "allowed_states": ["IC"], "default_state": "IC",
        "max_ttl_minutes": 60, "algorithm": "ES256", "phones": ["+15551234567"],
        "email": "dev@example.com"
    })
}
