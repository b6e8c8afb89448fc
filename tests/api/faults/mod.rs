//! Faults under load: the database going away and coming back, stopped and then crashed
//! (`outage`, on a PostgreSQL cluster of its own, see `cluster`), and SIGTERM while requests are
//! in flight (`shutdown`). Both drive the built binary as a real process and check what clients
//! saw against the `issuances` table.
//! Between requests: the database ending every connection of an idle service
//! (`dropped_connections`, in process).

mod cluster;
mod dropped_connections;
mod outage;
mod shutdown;

use std::collections::BTreeSet;

use base64::Engine;
use reqwest::Response;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use tokenmint::clock::{Clock, SystemClock};

use crate::helpers::TestClient;
use crate::instances::{Instance, PUBLIC_URL};
use crate::sign_in::{keys, JWT_BEARER, SUBJECT, TOKEN_PATH};

/// One token route and the credentials it needs.
#[derive(Clone, Debug)]
pub enum Route {
    /// `POST /auth/token/create`.
    TokenCreate(TestClient),
    /// `POST /auth/jwt`.
    AuthJwt(TestClient),
    /// `GET /clients/authorization?apiKey=`.
    ApiKey(String),
    /// `POST /auth/authtoken` with a JWT credential's key and secret.
    AuthToken(String, String),
    /// `POST /v0/sign_in/token` with a fresh assertion of this service account each time.
    SignIn(String),
}

/// What one request got.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
    pub token: Option<String>,
}

impl Route {
    /// The route's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TokenCreate(_) => "token/create",
            Self::AuthJwt(_) => "auth/jwt",
            Self::ApiKey(_) => "clients/authorization",
            Self::AuthToken(..) => "auth/authtoken",
            Self::SignIn(_) => "sign_in/token",
        }
    }

    /// Sends one request; `None` when no HTTP answer came at all.
    pub async fn send(&self, instance: &Instance, http: &reqwest::Client) -> Option<Outcome> {
        let url = |path: &str| instance.url(path);
        let request = match self {
            Self::TokenCreate(c) => http
                .post(url("/auth/token/create"))
                .json(&json!({"client_id": c.id, "client_secret": c.secret})),
            Self::AuthJwt(c) => http
                .post(url("/auth/jwt"))
                .header("client-id", &c.id)
                .header("client-secret", &c.secret),
            Self::ApiKey(key) => http
                .get(url("/clients/authorization"))
                .query(&[("apiKey", key)]),
            Self::AuthToken(key, secret) => http
                .post(url("/auth/authtoken"))
                .json(&json!({"key": key, "secret": secret})),
            Self::SignIn(account) => {
                let form = [
                    ("grant_type", JWT_BEARER),
                    ("assertion", &assertion(account)),
                ];
                http.post(url(TOKEN_PATH)).form(&form)
            }
        };
        let response = request.send().await.ok()?;
        Some(self.outcome(response).await)
    }

    async fn outcome(&self, response: Response) -> Outcome {
        let status = response.status().as_u16();
        let header = |name| {
            let value = response.headers().get(name);
            value.map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let authorization = header(reqwest::header::AUTHORIZATION);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let token = match self {
            Self::TokenCreate(_) | Self::ApiKey(_) => body["jwt"].as_str().map(str::to_owned),
            Self::AuthJwt(_) => authorization.and_then(|a| Some(a.strip_prefix("Bearer ")?.into())),
            Self::AuthToken(..) => body["authToken"].as_str().map(str::to_owned),
            Self::SignIn(_) => body["data"]["access_token"].as_str().map(str::to_owned),
        };
        Outcome {
            status,
            retry_after,
            body,
            token: token.filter(|_| status == 200),
        }
    }

    /// Whether a 503 body has this route's documented error format.
    pub fn is_unavailable_body(&self, body: &Value) -> bool {
        match self {
            Self::TokenCreate(_) | Self::AuthJwt(_) | Self::AuthToken(..) => {
                body["error"] == "unavailable" && body["message"].is_string()
            }
            Self::ApiKey(_) => body["errors"]["service"].is_string(),
            Self::SignIn(_) => body["errors"].is_string(),
        }
    }
}

/// One credential of every kind, made through the admin API and the portal of `instance`.
pub async fn every_route(instance: &Instance) -> Vec<Route> {
    let client = instance.create_client().await;
    let path = format!("/admin/clients/{}/api-keys", client.id);
    let body = json!({"environment": "production"});
    let api_key = instance
        .admin(reqwest::Method::POST, &path, Some(body))
        .await;
    let api_key: Value = api_key.json().await.unwrap();
    let account = crate::sign_in::account_body(&client.id, &[keys()[0].certificate()]);
    let account = instance
        .admin(
            reqwest::Method::POST,
            "/admin/service-accounts",
            Some(account),
        )
        .await;
    let account: Value = account.json().await.unwrap();
    let (key, secret, _) = instance.jwt_credential().await;
    vec![
        Route::TokenCreate(client.clone()),
        Route::AuthJwt(client),
        Route::ApiKey(api_key["api_key"].as_str().unwrap().to_owned()),
        Route::AuthToken(key, secret),
        Route::SignIn(account["service_account_id"].as_str().unwrap().to_owned()),
    ]
}

/// A fresh single-use assertion of a service account trusting `keys()[0]`.
fn assertion(account: &str) -> String {
    let now = SystemClock.now().timestamp() - 1;
    keys()[0].sign(&json!({
        "iss": account,
        "sub": SUBJECT,
        "aud": format!("{PUBLIC_URL}{TOKEN_PATH}"),
        "iat": now,
        "exp": now + 300,
        "scopes": ["programs:read"],
        "service_account_id": account,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    }))
}

/// A token's `jti`, read without verification (the test only needs the id).
pub fn jti(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

/// Every `jti` in the `issuances` table.
pub async fn recorded_jtis(database_url: &str) -> BTreeSet<String> {
    let mut conn = PgConnection::connect(database_url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("select jti from issuances")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows.into_iter().map(|(jti,)| jti).collect()
}
