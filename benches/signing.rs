//! Criterion benches of the signing core's pure parts (issue 5): signing an access token per
//! algorithm, verifying one, settling a grant's policy, and, for scale, one argon2id secret
//! verification. Keys are generated once, outside the measured loops; time is a fixed input.
//! Run with `cargo bench --bench signing` (see BENCHMARKS.md); not part of `cargo test`.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use tokenmint::domain::{Algorithm, ClientId, ClientPolicy};
use tokenmint::registry::secret::{generate_secret, hash_secret, verify_secret};
use tokenmint::signing::keys::{KeyMaterial, KeySet};
use tokenmint::signing::policy::settle;
use tokenmint::signing::token::{encode, AccessClaims};
use tokenmint::signing::verify::verify;
use tokenmint::signing::{Grant, ScopeBundles, ScopeRequest, StateRequest, TtlRequest};

const ISSUER: &str = "https://tokenmint.example";
const CLIENT_ID: &str = "0f6c1d2e3a4b5c6d7e8f901234567890";
/// 2030-03-17: a fixed "now", so nothing here reads the clock.
const NOW_SECONDS: i64 = 1_900_000_000;
const LEEWAY_SECONDS: i64 = 5;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW_SECONDS, 0).expect("a valid timestamp")
}

/// Claims shaped like the ones `Signer::issue` builds for `POST /auth/token/create`.
fn claims<'a>(user: &'a Map<String, Value>) -> AccessClaims<'a> {
    AccessClaims {
        iss: ISSUER,
        sub: CLIENT_ID,
        aud: json!(ISSUER),
        client_id: CLIENT_ID,
        iat: NOW_SECONDS,
        nbf: NOW_SECONDS,
        exp: NOW_SECONDS + 1800,
        jti: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        scope: Some("programs:read assessment:interest assessment:ability".to_owned()),
        state: Some("OH"),
        extra: user,
    }
}

fn user_claim() -> Map<String, Value> {
    let mut extra = Map::new();
    extra.insert(
        "user".into(),
        json!({"orgId": "org-1", "orgName": "Acme High", "id": "user-42"}),
    );
    extra
}

/// One active key per algorithm, each also published: what a running service holds.
fn key_set() -> KeySet {
    let keys: Vec<KeyMaterial> = Algorithm::ALL
        .iter()
        .map(|&algorithm| KeyMaterial::generate(algorithm).expect("key generation"))
        .collect();
    let published = keys
        .iter()
        .map(|k| (k.kid().to_owned(), k.algorithm(), k.public_jwk().clone()))
        .collect();
    KeySet::new(
        keys.into_iter().map(std::sync::Arc::new).collect(),
        published,
        None,
    )
    .expect("a key set")
}

fn sign_and_verify(c: &mut Criterion) {
    let keys = key_set();
    let user = user_claim();
    let claims = claims(&user);
    let mut sign = c.benchmark_group("sign");
    for algorithm in Algorithm::ALL {
        let key = keys.signing_key(algorithm).expect("an active key");
        sign.bench_function(BenchmarkId::from_parameter(algorithm), |b| {
            b.iter(|| encode(black_box(&key), black_box(&claims)).expect("signing"))
        });
    }
    sign.finish();

    let mut verify_group = c.benchmark_group("verify");
    for algorithm in Algorithm::ALL {
        let key = keys.signing_key(algorithm).expect("an active key");
        let token = encode(&key, &claims).expect("signing");
        verify_group.bench_function(BenchmarkId::from_parameter(algorithm), |b| {
            b.iter(|| {
                verify(&keys, ISSUER, black_box(&token), now(), LEEWAY_SECONDS)
                    .expect("a valid token")
            })
        });
    }
    verify_group.finish();
}

fn policy(c: &mut Criterion) {
    let bundles = ScopeBundles::new([(
        "assessment:all".to_owned(),
        vec!["assessment:*".to_owned(), "abilityexplorer:*".to_owned()],
    )]);
    let policy = ClientPolicy {
        allowed_scopes: [
            "programs:read",
            "schools:read",
            "assessment:interest",
            "assessment:ability",
            "abilityexplorer:read",
        ]
        .map(String::from)
        .to_vec(),
        default_scopes: vec!["programs:read".into()],
        allowed_states: vec!["IC".into(), "OH".into()],
        default_state: Some("IC".into()),
        max_ttl_minutes: 60,
        algorithm: Algorithm::ES256,
        quota: Default::default(),
    };
    let client_id = ClientId::parse(CLIENT_ID).expect("a client id");
    let defaults = Grant::for_client("auth_jwt", &client_id, &policy, 3600);
    let mut requested = Grant::for_client("token_create", &client_id, &policy, 3600);
    requested.scopes = ScopeRequest::Requested(
        ["programs:read", "schools:read", "assessment:all"]
            .map(String::from)
            .to_vec(),
    );
    requested.state = StateRequest::Requested("oh".into());
    requested.ttl = TtlRequest::Exactly(1800);

    let mut group = c.benchmark_group("policy");
    group.bench_function("settle_defaults", |b| {
        b.iter(|| settle(black_box(&defaults), &bundles).expect("allowed"))
    });
    group.bench_function("settle_requested_with_assessment_all", |b| {
        b.iter(|| settle(black_box(&requested), &bundles).expect("allowed"))
    });
    group.finish();
}

fn secret(c: &mut Criterion) {
    let secret = generate_secret();
    let hash = hash_secret(&secret).expect("hashing");
    let mut group = c.benchmark_group("secret");
    // About 50 ms an iteration: few samples are enough to show the scale.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("argon2id_verify", |b| {
        b.iter(|| assert!(verify_secret(black_box(secret.expose_secret()), &hash)))
    });
    group.finish();
}

criterion_group!(benches, sign_and_verify, policy, secret);
criterion_main!(benches);
