//! `POST /oauth/token` (CONTRACT F): `client_credentials` with each client authentication method
//! (`client_secret_basic`, `client_secret_post`, `private_key_jwt` with registered keys), every
//! error of RFC 6749 §5.2 the route answers, and DPoP (RFC 9449): the bound token, `/v1/me` with
//! and without its proof, and introspection's `cnf`. Tokens are verified against the service's
//! own JWKS.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{basic_header, introspect, resource_server};
use crate::helpers::{standard_client_body, ClockExt, TestApp, TestClient};

const TOKEN: &str = "/oauth/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A P-256 key of the test's own: its signing key and its public JWK.
struct TestKey {
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn new(kid: &str) -> Self {
        let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let point = pair.public_key_raw();
        Self {
            encoding: EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap(),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    /// A compact JWS of `claims` under `header` (written as given).
    fn sign(&self, header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
    }

    /// The RFC 7638 thumbprint of the public key.
    fn thumbprint(&self) -> String {
        let mut public = self.jwk.clone();
        public
            .as_object_mut()
            .unwrap()
            .retain(|k, _| ["kty", "crv", "x", "y"].contains(&k.as_str()));
        serde_json::from_value::<Jwk>(public)
            .unwrap()
            .thumbprint(ThumbprintHash::SHA256)
    }

    /// A DPoP proof for `method` on `url`, over `token` when one is given.
    fn proof(&self, method: &str, url: &str, iat: i64, token: Option<&str>) -> String {
        let mut jwk = self.jwk.clone();
        jwk.as_object_mut().unwrap().remove("kid");
        let mut claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": method,
            "htu": url, "iat": iat});
        if let Some(token) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        self.sign(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
            &claims,
        )
    }

    /// A client assertion of `client_id` for `aud`, expiring `lifetime` seconds after `now`.
    fn assertion(&self, client_id: &str, aud: &str, now: i64, lifetime: i64) -> String {
        let claims = json!({"iss": client_id, "sub": client_id, "aud": aud,
            "iat": now, "exp": now + lifetime, "jti": uuid::Uuid::new_v4().to_string()});
        let kid = self.jwk["kid"].clone();
        self.sign(json!({"typ": "JWT", "alg": "ES256", "kid": kid}), &claims)
    }
}

fn post(app: &TestApp) -> RequestBuilder {
    app.http.post(app.url(TOKEN))
}

async fn json_of(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn basic(client: &TestClient) -> String {
    basic_header(&client.id, &client.secret)
}

#[tokio::test]
async fn client_credentials_with_a_secret_gives_a_token_verified_by_the_jwks() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;

    let by_basic = post(&app)
        .header(AUTHORIZATION, basic(&client))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let headers = by_basic.headers().clone();
    let (status, body) = json_of(by_basic).await;
    let by_post = post(&app)
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "schools:read programs:read"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ])
        .send()
        .await
        .unwrap();
    let (post_status, post_body) = json_of(by_post).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "programs:read");
    let (header, claims) = app
        .verify_with_jwks(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["state"], "IC");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(
        (post_status, &post_body["scope"]),
        (200, &json!("schools:read programs:read"))
    );
    let jti = claims["jti"].as_str().unwrap();
    let recorded = app
        .count_rows("issuances", "jti = $1 and scheme = 'oauth_token'", jti)
        .await;
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn each_refusal_has_its_rfc_6749_code_and_status() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let wrong = TestClient {
        secret: "wrong".into(),
        ..client.clone()
    };
    let grant = ("grant_type", "client_credentials");
    let id = ("client_id", client.id.as_str());
    let secret = ("client_secret", client.secret.as_str());

    let cases: Vec<(&str, RequestBuilder, u16, &str)> = vec![
        (
            "wrong secret, Basic",
            post(&app)
                .header(AUTHORIZATION, basic(&wrong))
                .form(&[grant]),
            401,
            "invalid_client",
        ),
        (
            "wrong secret, post",
            post(&app).form(&[grant, id, ("client_secret", "wrong")]),
            401,
            "invalid_client",
        ),
        (
            "no authentication",
            post(&app).form(&[grant]),
            401,
            "invalid_client",
        ),
        (
            "two methods",
            post(&app)
                .header(AUTHORIZATION, basic(&client))
                .form(&[grant, id, secret]),
            401,
            "invalid_client",
        ),
        (
            "no grant_type",
            post(&app).form(&[id, secret]),
            400,
            "invalid_request",
        ),
        (
            "another grant",
            post(&app).form(&[("grant_type", "password"), id, secret]),
            400,
            "unsupported_grant_type",
        ),
        (
            "scope not allowed",
            post(&app).form(&[grant, id, secret, ("scope", "admin:all")]),
            400,
            "invalid_scope",
        ),
        (
            "scope malformed",
            post(&app).form(&[grant, id, secret, ("scope", "a\"b")]),
            400,
            "invalid_scope",
        ),
        (
            "repeated",
            post(&app).form(&[grant, grant, id, secret]),
            400,
            "invalid_request",
        ),
        (
            "JSON",
            post(&app).json(&json!({"grant_type": "client_credentials"})),
            400,
            "invalid_request",
        ),
    ];
    for (name, request, status, code) in cases {
        let response = request.send().await.unwrap();
        let challenge = response.headers().get(WWW_AUTHENTICATE).cloned();
        let (got, body) = json_of(response).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{name}: {body}"
        );
        assert!(body["error_description"].is_string(), "{name}");
        let basic_used = name.contains("Basic");
        assert_eq!(
            challenge.is_some_and(|c| c == r#"Basic realm="tokenmint""#),
            basic_used,
            "{name}"
        );
    }
    let issued = app
        .count_rows("issuances", "client_id = $1", &client.id)
        .await;
    assert_eq!(issued, 0, "no refused request issued anything");
}

/// A client registered with `key`'s public JWK.
async fn client_with_key(app: &TestApp, key: &TestKey) -> TestClient {
    let mut body = standard_client_body("ES256");
    body["jwks"] = json!({"keys": [key.jwk]});
    app.create_client(body).await
}

async fn with_assertion(app: &TestApp, assertion: &str) -> (u16, Value) {
    let response = post(app)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    json_of(response).await
}

#[tokio::test]
async fn private_key_jwt_authenticates_with_a_registered_key_once_per_jti() {
    let app = TestApp::spawn().await;
    let key = TestKey::new("ci-1");
    let client = client_with_key(&app, &key).await;
    let shown: Value = app
        .admin(
            reqwest::Method::GET,
            &format!("/admin/clients/{}", client.id),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let now = app.clock.now_utc().timestamp();
    let token_url = app.url(TOKEN);
    let assertion = key.assertion(&client.id, &token_url, now, 300);

    let (status, body) = with_assertion(&app, &assertion).await;
    let replayed = with_assertion(&app, &assertion).await;
    let to_issuer = with_assertion(&app, &key.assertion(&client.id, &app.address, now, 60)).await;

    assert_eq!(shown["jwks"]["keys"][0]["kid"], "ci-1");
    assert_eq!(status, 200, "{body}");
    let (_, claims) = app
        .verify_with_jwks(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(replayed.0, 401);
    assert_eq!(replayed.1["error"], "invalid_client");
    assert_eq!(
        replayed.1["error_description"],
        "the client assertion has already been used"
    );
    assert_eq!(to_issuer.0, 200, "aud may be the issuer");
}

#[tokio::test]
async fn a_client_assertion_is_refused_for_each_fault() {
    let app = TestApp::spawn().await;
    let key = TestKey::new("ci-1");
    let other = TestKey::new("ci-1");
    let client = client_with_key(&app, &key).await;
    let secret_only = app.standard_client("ES256").await;
    let now = app.clock.now_utc().timestamp();
    let url = app.url(TOKEN);
    let claims = json!({"iss": client.id, "sub": client.id, "aud": url,
        "exp": now + 60, "jti": "j"});
    let header = json!({"alg": "ES256", "kid": "ci-1"});
    let changed = |changes: Value| {
        let mut changed = claims.clone();
        for (name, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => changed.as_object_mut().unwrap().remove(name),
                value => changed
                    .as_object_mut()
                    .unwrap()
                    .insert(name.clone(), value.clone()),
            };
        }
        key.sign(header.clone(), &changed)
    };
    let with = |name: &str, value: Value| changed(json!({ name: value }));
    let hs256 = {
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("ci-1".into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"k")).unwrap()
    };

    let cases = [
        (
            "expired",
            with("exp", json!(now - 30)),
            "the client assertion has expired",
        ),
        (
            "too long",
            with("exp", json!(now + 7200)),
            "the client assertion's exp must be at most an hour away",
        ),
        (
            "wrong aud",
            with("aud", json!("https://elsewhere.example")),
            "the client assertion's aud must contain the token endpoint URL or the issuer",
        ),
        (
            "iss is not sub",
            with("sub", json!("someone")),
            "the client assertion's iss and sub must both be the client id",
        ),
        (
            "no jti",
            with("jti", Value::Null),
            "the client assertion must carry a jti",
        ),
        (
            "another key",
            other.sign(header.clone(), &claims),
            "the client assertion's signature does not verify with the client's keys",
        ),
        (
            "unknown client",
            changed(json!({"iss": "nobody", "sub": "nobody"})),
            "the client assertion's signature does not verify with the client's keys",
        ),
        (
            "HS256",
            hs256,
            "the client assertion is not a JWT signed with RS256, ES256 or EdDSA",
        ),
        (
            "no keys",
            changed(json!({"iss": secret_only.id, "sub": secret_only.id})),
            "the client has no registered keys for private_key_jwt",
        ),
        (
            "garbage",
            "not.a.jwt".to_owned(),
            "the client assertion is not a JWT signed with RS256, ES256 or EdDSA",
        ),
    ];
    for (name, assertion, description) in cases {
        let (status, body) = with_assertion(&app, &assertion).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"], "invalid_client", "{name}");
        assert_eq!(body["error_description"], description, "{name}");
    }
    let issued = app
        .count_rows("issuances", "client_id = $1", &client.id)
        .await;
    assert_eq!(issued, 0);
}

#[tokio::test]
async fn registered_keys_are_checked_like_every_client_field() {
    let app = TestApp::spawn().await;
    let key = TestKey::new("k");
    let mut private = key.jwk.clone();
    private["d"] = json!("c2VjcmV0");
    let cases = [
        json!({"jwks": {"keys": [key.jwk]}, "jwks_uri": "https://keys.example/jwks.json"}),
        json!({"jwks": {"not": "a set"}}),
        json!({"jwks": {"keys": [private]}}),
        json!({"jwks": {"keys": []}}),
    ];
    for extra in cases {
        let mut body = standard_client_body("ES256");
        for (name, value) in extra.as_object().unwrap() {
            body[name] = value.clone();
        }
        let response = app
            .admin(reqwest::Method::POST, "/admin/clients", Some(body))
            .await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            (status, answer["field"].as_str()),
            (422, Some("jwks")),
            "{extra}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_dpop_proof_binds_the_token_to_its_key() {
    let app = TestApp::spawn().await;
    let client = resource_server(&app).await;
    let key = TestKey::new("dpop");
    let now = app.clock.now_utc().timestamp();
    let token_url = app.url(TOKEN);

    let response = post(&app)
        .header(AUTHORIZATION, basic(&client))
        .header("DPoP", key.proof("POST", &token_url, now, None))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (_, claims) = app.verify_with_jwks(&token).await;
    assert_eq!(claims["cnf"], json!({"jkt": key.thumbprint()}));

    let me = app.url("/v1/me");
    let as_bearer = app.http.get(&me).bearer_auth(&token).send().await.unwrap();
    let proof = key.proof("GET", &me, now, Some(&token));
    let with_proof = app
        .http
        .get(&me)
        .header(AUTHORIZATION, format!("DPoP {token}"))
        .header("DPoP", &proof)
        .send()
        .await
        .unwrap();
    let replayed = app
        .http
        .get(&me)
        .header(AUTHORIZATION, format!("DPoP {token}"))
        .header("DPoP", &proof)
        .send()
        .await
        .unwrap();
    let by_another_key = app
        .http
        .get(&me)
        .header(AUTHORIZATION, format!("DPoP {token}"))
        .header(
            "DPoP",
            TestKey::new("x").proof("GET", &me, now, Some(&token)),
        )
        .send()
        .await
        .unwrap();
    let introspected = introspect(&app, &client, &token).await;

    assert_eq!(as_bearer.status(), 401);
    let challenge = as_bearer.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert_eq!(with_proof.status(), 200);
    let shown: Value = with_proof.json().await.unwrap();
    assert_eq!(shown["cnf"]["jkt"], key.thumbprint());
    assert_eq!(replayed.status(), 401);
    assert_eq!(by_another_key.status(), 401);
    let refused: Value = by_another_key.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_dpop_proof");
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"], json!({"jkt": key.thumbprint()}));

    // The proofs' jtis (the token request's, and two at /v1/me) are kept for their window, then
    // go: deleted once it has passed where rows are pruned one by one, or with their day's
    // partition once it has ended (PostgreSQL, see db::partitions).
    let kept = || app.count_rows("used_assertions", "service_account_id like $1", "dpop:%");
    assert_eq!(kept().await, 3);
    app.clock.advance_seconds(120);
    let pass = tokenmint::retention::run_pass(&app.state).await.unwrap();
    let partitioned = app.state.db.backend() == tokenmint::db::Backend::Postgres;
    if partitioned {
        let now = app.clock.now_utc().timestamp();
        let leeway = app.state.settings.signing.verify_leeway_seconds;
        app.clock
            .advance_seconds((now.div_euclid(86_400) + 1) * 86_400 - now + leeway + 60);
        let pass = tokenmint::retention::run_pass(&app.state).await.unwrap();
        assert!(
            pass.deleted.used_assertion_partitions >= 1,
            "{:?}",
            pass.deleted
        );
    } else {
        assert_eq!(pass.deleted.dpop_proofs, 3);
    }
    assert_eq!(kept().await, 0);
}

#[tokio::test]
async fn a_client_that_requires_dpop_gets_no_token_without_a_valid_proof() {
    let app = TestApp::spawn().await;
    let mut body = standard_client_body("ES256");
    body["require_dpop"] = json!(true);
    let client = app.create_client(body).await;
    let key = TestKey::new("dpop");
    let now = app.clock.now_utc().timestamp();
    let token_url = app.url(TOKEN);
    let ask = |proof: Option<String>| {
        let mut request = post(&app).header(AUTHORIZATION, basic(&client));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.form(&[("grant_type", "client_credentials")]).send()
    };

    let without = json_of(ask(None).await.unwrap()).await;
    let stale = json_of(
        ask(Some(key.proof("POST", &token_url, now - 600, None)))
            .await
            .unwrap(),
    )
    .await;
    let wrong_url = json_of(
        ask(Some(key.proof("POST", &app.url("/x"), now, None)))
            .await
            .unwrap(),
    )
    .await;
    let good = json_of(
        ask(Some(key.proof("POST", &token_url, now, None)))
            .await
            .unwrap(),
    )
    .await;

    for (name, (status, body)) in [
        ("without", &without),
        ("stale", &stale),
        ("wrong url", &wrong_url),
    ] {
        assert_eq!(
            (*status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{name}: {body}"
        );
    }
    assert_eq!(without.1["error_description"], "a DPoP proof is required");
    assert_eq!((good.0, &good.1["token_type"]), (200, &json!("DPoP")));
}
