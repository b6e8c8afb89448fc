//! A local OpenID Connect issuer for the token-exchange tests: discovery
//! (`/.well-known/openid-configuration`) and a JWKS (`/jwks`) served over loopback http (which
//! sandbox mode allows), ES256 keys it can rotate, and tokens shaped like GitHub Actions' and
//! Kubernetes' projected service-account tokens. It can also serve a broken JWKS (not JSON, a
//! thousand keys, or too slow), and counts how often its JWKS was fetched.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use serde_json::{json, Value};

/// What the JWKS route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jwks {
    /// The issuer's public keys.
    Keys,
    /// A body that is not JSON.
    NotJson,
    /// A thousand keys.
    Thousand,
    /// The keys, after longer than any fetch may take.
    Slow,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    public: Value,
}

struct Shared {
    url: String,
    keys: Mutex<Vec<Key>>,
    jwks: Mutex<Jwks>,
    fetches: AtomicUsize,
}

/// A running issuer (it stops with the test's runtime).
#[derive(Clone)]
pub struct TestIssuer(Arc<Shared>);

fn new_key(kid: &str) -> Key {
    let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw();
    Key {
        kid: kid.to_owned(),
        encoding: EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap(),
        public: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
    }
}

impl TestIssuer {
    /// Starts an issuer on a free loopback port, with one key.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let issuer = Self(Arc::new(Shared {
            url,
            keys: Mutex::new(vec![new_key("key-1")]),
            jwks: Mutex::new(Jwks::Keys),
            fetches: AtomicUsize::new(0),
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(issuer.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        issuer
    }

    /// Its `iss`.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// Its JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.0.url)
    }

    /// How often its JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.0.fetches.load(Ordering::SeqCst)
    }

    /// Serves `what` at its JWKS route from now on.
    pub fn serve(&self, what: Jwks) {
        *self.0.jwks.lock().unwrap() = what;
    }

    /// Rotates: a new key signs from now on and is published; the old one is withdrawn.
    pub fn rotate(&self, kid: &str) {
        *self.0.keys.lock().unwrap() = vec![new_key(kid)];
    }

    /// A token of `claims`, signed with the current key (ES256, its `kid` in the header).
    pub fn sign(&self, claims: &Value) -> String {
        let keys = self.0.keys.lock().unwrap();
        let key = &keys[0];
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
    }

    /// [`Self::sign`], with a critical header extension (`crit`) no recipient here understands.
    pub fn sign_with_crit(&self, claims: &Value) -> String {
        let keys = self.0.keys.lock().unwrap();
        let key = &keys[0];
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        header.crit = Some(vec!["exp".to_owned()]);
        header
            .extras
            .insert("exp".to_owned(), "4102444800".to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
    }

    /// The claims of a GitHub Actions OIDC token of `repository`'s `git_ref` at `now`, for
    /// `audience` (five minutes long, as GitHub's are).
    pub fn github(&self, repository: &str, git_ref: &str, audience: &str, now: i64) -> Value {
        let owner = repository.split('/').next().unwrap_or_default();
        json!({
            "iss": self.url(), "aud": audience,
            "sub": format!("repo:{repository}:ref:{git_ref}"),
            "repository": repository, "repository_owner": owner, "ref": git_ref,
            "ref_type": "branch", "workflow": "deploy", "event_name": "push", "actor": "octocat",
            "job_workflow_ref": format!("{repository}/.github/workflows/deploy.yml@{git_ref}"),
            "run_id": "1234567890", "runner_environment": "github-hosted",
            "iat": now, "nbf": now - 5, "exp": now + 300,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    /// The claims of a Kubernetes projected service-account token of `namespace`/`account` at
    /// `now`, for `audience` (an hour long).
    pub fn kubernetes(&self, namespace: &str, account: &str, audience: &str, now: i64) -> Value {
        json!({
            "iss": self.url(), "aud": [audience],
            "sub": format!("system:serviceaccount:{namespace}:{account}"),
            "kubernetes.io": {"namespace": namespace,
                "serviceaccount": {"name": account, "uid": uuid::Uuid::new_v4().to_string()},
                "pod": {"name": "builder-7d9f", "uid": uuid::Uuid::new_v4().to_string()}},
            "iat": now, "nbf": now, "exp": now + 3600,
        })
    }
}

async fn discovery(State(issuer): State<TestIssuer>) -> Json<Value> {
    Json(
        json!({"issuer": issuer.url(), "jwks_uri": issuer.jwks_uri(),
        "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"]}),
    )
}

async fn jwks(State(issuer): State<TestIssuer>) -> Response {
    issuer.0.fetches.fetch_add(1, Ordering::SeqCst);
    let what = *issuer.0.jwks.lock().unwrap();
    let keys = || {
        let keys = issuer.0.keys.lock().unwrap();
        json!({"keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>()})
    };
    match what {
        Jwks::Keys => Json(keys()).into_response(),
        Jwks::NotJson => "<html>maintenance</html>".into_response(),
        Jwks::Thousand => Json(json!({"keys": vec![json!({"kty": "EC"}); 1000]})).into_response(),
        Jwks::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Json(keys()).into_response()
        }
    }
}
