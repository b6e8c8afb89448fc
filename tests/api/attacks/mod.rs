//! Token attacks (issue 6, point 2): every place that accepts a JWT is shown forged, confused,
//! stale, oversized and replayed tokens, and must refuse each in its documented format without
//! issuing or revoking anything.
//!
//! The places: `GET /v1/me` (Bearer, bare `Authorization` and `?jwt=`), `POST
//! /auth/authtoken/refresh`, `POST /oauth/introspect` (`{"active": false}`), `POST /oauth/revoke`
//! (200, RFC 7009 §2.2, and nothing revoked) and `POST /v0/sign_in/token` (the assertion).
//! Forgeries copy the claims of a genuine AuthToken (same `jti`, `client_id`, `credential_key`),
//! so a place that skipped a check would visibly accept, refresh, introspect or revoke it.

mod assertion;
mod confusion;
mod crit;
mod forgery;
pub mod jws;
mod lifetime;
mod replay;
mod size;

use reqwest::header::AUTHORIZATION;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::authtoken::{approved_client, auth_token, credential, generate};
use crate::helpers::{ClockExt, TestApp, TestClient};
use crate::oauth::{basic_header, INTROSPECT, REVOKE};
use crate::sign_in::{account_body, keys, register, JWT_BEARER, SUBJECT, TOKEN_PATH};

/// A running service with a genuine AuthToken to imitate, and its owner.
pub struct Target {
    /// The service.
    pub app: TestApp,
    /// The client owning the genuine token (it introspects and revokes).
    pub owner: TestClient,
    /// A genuine, live AuthToken of `owner`.
    pub genuine: String,
}

impl Target {
    /// A client with an approved API group, a JWT credential and one AuthToken from it; checks
    /// that every place accepts the genuine token, so each refusal below means something.
    pub async fn arrange(app: TestApp) -> Self {
        let owner = approved_client(&app).await;
        let (key, secret) = credential(&app, &owner).await;
        let genuine = auth_token(generate(&app, &key, &secret).await).await;
        let target = Self {
            app,
            owner,
            genuine,
        };
        for form in TokenForm::ALL {
            let response = target.me(form, &target.genuine).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{form:?}");
        }
        let introspected = target.introspect(&target.genuine).await;
        assert_eq!(introspected["active"], true);
        target
    }

    /// Registers a service account of the owner trusting `sign_in::keys()[0]`; returns its id.
    pub async fn service_account(&self) -> String {
        let certificate = keys()[0].certificate();
        register(&self.app, account_body(&self.owner.id, &[certificate])).await
    }

    /// Assertion claims for `account` that pass every check now, with a fresh `jti`.
    pub fn assertion_claims(&self, account: &str) -> Value {
        let now = self.app.clock.now_utc().timestamp();
        json!({
            "iss": account, "service_account_id": account, "sub": SUBJECT,
            "aud": self.app.url(TOKEN_PATH), "iat": now, "exp": now + 300,
            "scopes": ["programs:read"], "jti": uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    /// Posts an assertion to `POST /v0/sign_in/token` as a form.
    pub async fn sign_in(&self, assertion: &str) -> reqwest::Response {
        sign_in_at(&self.app, assertion).await
    }

    /// The genuine token's header and claims.
    pub fn genuine_parts(&self) -> (Value, Value) {
        jws::decode_parts(&self.genuine)
    }

    /// `GET /v1/me` with a token in one of its accepted forms.
    pub fn me(&self, form: TokenForm, token: &str) -> RequestBuilder {
        let request = self.app.http.get(self.app.url("/v1/me"));
        match form {
            TokenForm::Bearer => request.header(AUTHORIZATION, format!("Bearer {token}")),
            TokenForm::Bare => request.header(AUTHORIZATION, token),
            TokenForm::Query => request.query(&[("jwt", token)]),
        }
    }

    /// `POST /oauth/introspect` as the owner; asserts 200 and returns the answer.
    pub async fn introspect(&self, token: &str) -> Value {
        let response = self.oauth(INTROSPECT, token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `POST` of a token to an OAuth route, authenticated as the owner.
    pub fn oauth(&self, route: &str, token: &str) -> RequestBuilder {
        self.app
            .http
            .post(self.app.url(route))
            .header(
                AUTHORIZATION,
                basic_header(&self.owner.id, &self.owner.secret),
            )
            .form(&[("token", token)])
    }

    /// How many tokens have been issued, and how many revoked, so far.
    pub async fn ledger(&self) -> (i64, i64) {
        let pool = self.app.state.db.pool();
        let count = |sql: &'static str| async move {
            let row: (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
            row.0
        };
        (
            count("select count(*) from issuances").await,
            count("select count(*) from issuances where revoked_at is not null").await,
        )
    }

    /// Asserts that every place refuses `token` in its documented format, and that nothing was
    /// issued or revoked meanwhile. `label` names the attack in failure messages.
    pub async fn assert_refused_everywhere(&self, token: &str, label: &str) {
        let before = self.ledger().await;
        self.assert_refused_as_access_token(token, label).await;
        assert_sign_in_refused(&self.app, token, label).await;
        assert_eq!(
            self.ledger().await,
            before,
            "{label}: nothing issued or revoked"
        );
    }

    /// Asserts that every place taking an access token refuses `token` (all but the assertion
    /// route), and that nothing was issued or revoked meanwhile.
    pub async fn assert_refused_as_access_token(&self, token: &str, label: &str) {
        let before = self.ledger().await;
        for form in TokenForm::ALL {
            let response = self.me(form, token).send().await.unwrap();
            assert_eq!(response.status(), 401, "{label}: /v1/me {form:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_token", "{label}: /v1/me {form:?}");
        }
        let refreshed = self
            .app
            .http
            .post(self.app.url("/auth/authtoken/refresh"))
            .json(&json!({ "authToken": token }))
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), 401, "{label}: refresh");
        let body: Value = refreshed.json().await.unwrap();
        assert_eq!(body["error"], "invalid_credentials", "{label}: refresh");
        assert_eq!(
            self.introspect(token).await,
            json!({"active": false}),
            "{label}: introspect"
        );
        let revoked = self.oauth(REVOKE, token).send().await.unwrap();
        assert_eq!(revoked.status(), 200, "{label}: revoke");
        assert!(revoked.bytes().await.unwrap().is_empty(), "{label}: revoke");
        assert_eq!(
            self.ledger().await,
            before,
            "{label}: nothing issued or revoked"
        );
    }
}

/// The three forms in which a protected endpoint accepts a token.
#[derive(Clone, Copy, Debug)]
pub enum TokenForm {
    /// `Authorization: Bearer <t>`.
    Bearer,
    /// `Authorization: <t>`.
    Bare,
    /// `?jwt=<t>`.
    Query,
}

impl TokenForm {
    /// Every form.
    pub const ALL: [Self; 3] = [Self::Bearer, Self::Bare, Self::Query];
}

/// Posts an assertion to `POST /v0/sign_in/token` of `app` as a form.
pub async fn sign_in_at(app: &TestApp, assertion: &str) -> reqwest::Response {
    app.http
        .post(app.url(TOKEN_PATH))
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .unwrap()
}

/// Asserts that `POST /v0/sign_in/token` refuses `assertion`: 400 `{"errors": "<message>"}`;
/// returns the message.
pub async fn assert_sign_in_refused(app: &TestApp, assertion: &str, label: &str) -> String {
    let response = sign_in_at(app, assertion).await;
    assert_eq!(response.status(), 400, "{label}: sign_in");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "{label}: {body}"
    );
    body["errors"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: {body}"))
        .to_owned()
}
