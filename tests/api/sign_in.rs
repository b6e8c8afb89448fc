//! `POST /v0/sign_in/token` (scheme E) as a service account's backend sees it, and the admin API,
//! CLI and third-party (PyJWT) flows around it. This file holds the fixtures: RSA keys with
//! certificates, a registered service account, signed assertions, and the requests.

mod admin;
mod checks;
mod cli;
mod issuance;
mod params;
mod pyjwt;

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use rcgen::{CertificateParams, KeyPair, RsaKeySize, PKCS_RSA_SHA256};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{ClockExt, TestApp, TestClient};

/// The grant type every request uses.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The route.
pub const TOKEN_PATH: &str = "/v0/sign_in/token";
/// The `aud` of the service account's access tokens.
pub const ACCESS_TOKEN_AUDIENCE: &str = "http://localhost:4000";
/// The subject assertions ask a token for.
pub const SUBJECT: &str = "email_address@gmail.com";
/// The `icn` user attribute of the Sign-in Service document's example.
pub const ICN: &str = "1012667122V019349";

/// An RSA key of a service account, with its PKCS#8 PEM for files and scripts.
pub struct TestKey {
    /// PKCS#8 DER.
    pkcs8: Vec<u8>,
    /// PKCS#8 PEM.
    pub pem: String,
}

/// Two RSA keys generated once per test process (generation is the slow part).
pub fn keys() -> &'static [TestKey; 2] {
    static KEYS: OnceLock<[TestKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let make = || {
            let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
            TestKey {
                pkcs8: key.serialized_der().to_vec(),
                pem: key.serialize_pem(),
            }
        };
        [make(), make()]
    })
}

impl TestKey {
    fn rcgen(&self) -> KeyPair {
        KeyPair::from_pem_and_sign_algo(&self.pem, &PKCS_RSA_SHA256).unwrap()
    }

    /// A self-signed certificate for this key, valid from 1975 to 4096.
    pub fn certificate(&self) -> String {
        let params = CertificateParams::new(vec!["service.example.com".to_owned()]).unwrap();
        params.self_signed(&self.rcgen()).unwrap().pem()
    }

    /// A self-signed certificate for this key valid between two days (UTC midnights).
    pub fn certificate_between(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> String {
        let day = |t: DateTime<Utc>| rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8);
        let mut params = CertificateParams::new(vec!["service.example.com".to_owned()]).unwrap();
        params.not_before = day(from);
        params.not_after = day(until);
        params.self_signed(&self.rcgen()).unwrap().pem()
    }

    /// Signs `claims` under `header` as a compact JWS (RS256 signature whatever the header says).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let key = RsaKeyPair::from_pkcs8(&self.pkcs8).unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Signs `claims` as an RS256 assertion.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": "RS256", "typ": "JWT"}), claims)
    }
}

/// A running service with a client and a service account whose certificate is `keys()[0]`'s.
pub struct Fixture {
    /// The service.
    pub app: TestApp,
    /// The owning client.
    pub client: TestClient,
    /// The service account's id.
    pub account_id: String,
}

/// The body registering a service account of `client_id` with the given certificates.
pub fn account_body(client_id: &str, certificates: &[String]) -> Value {
    json!({
        "client_id": client_id,
        "description": "Enrollment sync",
        "scopes": ["programs:read", "schools:read"],
        "access_token_audience": ACCESS_TOKEN_AUDIENCE,
        "access_token_duration": 300,
        "access_token_user_attributes": ["icn", "type"],
        "certificates": certificates,
    })
}

impl Fixture {
    /// A client with the standard policy and a service account trusting `keys()[0]`.
    pub async fn arrange(app: TestApp) -> Self {
        let client = app.standard_client("ES256").await;
        let account_id = register(&app, account_body(&client.id, &[keys()[0].certificate()])).await;
        Self {
            app,
            client,
            account_id,
        }
    }

    /// The public URL assertions must name as `aud`.
    pub fn token_url(&self) -> String {
        self.app.url(TOKEN_PATH)
    }

    /// Claims that pass every check at the service's current time.
    pub fn claims(&self) -> Value {
        let now = self.app.clock.now_utc().timestamp();
        json!({
            "iss": self.account_id,
            "sub": SUBJECT,
            "aud": self.token_url(),
            "iat": now,
            "exp": now + 300,
            "scopes": ["programs:read"],
            "service_account_id": self.account_id,
            "jti": uuid::Uuid::new_v4().simple().to_string(),
            "user_attributes": {"icn": ICN},
        })
    }

    /// Valid claims with one claim changed.
    pub fn claims_with(&self, claim: &str, value: Value) -> Value {
        let mut claims = self.claims();
        claims[claim] = value;
        claims
    }

    /// Valid claims without one claim.
    pub fn claims_without(&self, claim: &str) -> Value {
        let mut claims = self.claims();
        claims.as_object_mut().unwrap().remove(claim);
        claims
    }

    /// Posts the grant as a form body.
    pub async fn post_form(&self, fields: &[(&str, &str)]) -> Response {
        self.app
            .http
            .post(self.token_url())
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts an assertion signed by `keys()[0]` for `claims`, as a form body.
    pub async fn exchange(&self, claims: &Value) -> Response {
        self.exchange_assertion(&keys()[0].sign(claims)).await
    }

    /// Posts a ready assertion as a form body.
    pub async fn exchange_assertion(&self, assertion: &str) -> Response {
        self.post_form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
            .await
    }

    /// Rows of a table about this service account's client (`issuances`) or account.
    pub async fn issuance_count(&self) -> i64 {
        self.app
            .count_rows("issuances", "client_id = $1", &self.client.id)
            .await
    }
}

/// Registers a service account through the admin API, asserting 201; returns its id.
pub async fn register(app: &TestApp, body: Value) -> String {
    let response = app
        .admin(Method::POST, "/admin/service-accounts", Some(body))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    created["service_account_id"].as_str().unwrap().to_owned()
}

/// Asserts a refusal: 400 with exactly `{"errors": message}`.
pub async fn assert_refused(response: Response, message: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{message}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "errors": message }));
}

/// The access token of a 200 response, after checking the envelope and `Cache-Control`.
pub async fn access_token(response: Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    body["data"]["access_token"].as_str().unwrap().to_owned()
}
