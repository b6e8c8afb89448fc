//! The cache over HTTP: refetch on an unknown kid (rate-limited), expiry, stale keys while the
//! publisher fails, one fetch for concurrent lookups, and no source holding up another.

use jsonwebtoken::Algorithm as Jwt;

use super::keys::{header, jwks, TestKey};
use super::server::TestServer;
use super::{at, client_source, issuer_source, sandbox, t0, PATIENCE};
use crate::remote_keys::{RemoteKeyError, RemoteKeys};

#[tokio::test]
async fn refetches_on_an_unknown_kid_at_most_once_per_interval() {
    let (old, new) = (TestKey::es256("old"), TestKey::es256("new"));
    let server = TestServer::start(jwks(&[&old])).await;
    let source = issuer_source(&server.base, Some(&server.url("/jwks")));
    let keys = RemoteKeys::new(sandbox());
    keys.find(&source, &old.header(), t0()).await.unwrap();
    server.publish(Some(jwks(&[&new])));

    let too_soon = keys.find(&source, &new.header(), at(10)).await.unwrap_err();
    assert!(matches!(too_soon, RemoteKeyError::NoKey { .. }));
    assert_eq!(
        server.hits("/jwks"),
        1,
        "no refetch within 30 s of the last fetch"
    );

    let rotated = keys.find(&source, &new.header(), at(31)).await.unwrap();
    assert_eq!((rotated.kid(), server.hits("/jwks")), (Some("new"), 2));

    let unknown = keys
        .find(&source, &header(Jwt::ES256, Some("x")), at(32))
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "no key with kid \"x\" in the issuer's JWKS"
    );
    assert!(!unknown.is_source_failure());
    assert_eq!(
        server.hits("/jwks"),
        2,
        "a second unknown kid right after does not refetch"
    );

    keys.find(&source, &new.header(), at(33)).await.unwrap();
    assert_eq!(server.hits("/jwks"), 2, "known keys come from the cache");
}

#[tokio::test]
async fn drops_keys_rotated_away_once_the_set_is_past_its_max_age() {
    let (old, new) = (TestKey::es256("old"), TestKey::es256("new"));
    let server = TestServer::start(jwks(&[&old])).await;
    let source = client_source(&server.url("/jwks"));
    let keys = RemoteKeys::new(sandbox());
    keys.find(&source, &old.header(), t0()).await.unwrap();
    server.publish(Some(jwks(&[&new])));
    keys.find(&source, &old.header(), at(60)).await.unwrap();
    assert_eq!(server.hits("/jwks"), 1);
    let gone = keys
        .find(&source, &old.header(), at(5 * 60))
        .await
        .unwrap_err();
    assert!(matches!(gone, RemoteKeyError::NoKey { .. }));
    assert_eq!(server.hits("/jwks"), 2);
}

#[tokio::test]
async fn serves_the_last_good_keys_for_a_while_when_the_publisher_fails() {
    let key = TestKey::es256("k");
    let server = TestServer::start(jwks(&[&key])).await;
    let source = client_source(&server.url("/jwks"));
    let keys = RemoteKeys::new(sandbox());
    keys.find(&source, &key.header(), t0()).await.unwrap();
    server.publish(None);

    keys.find(&source, &key.header(), at(6 * 60)).await.unwrap();
    assert_eq!(
        server.hits("/jwks"),
        2,
        "the expired set was refreshed, and that failed"
    );
    let status = keys.status(&source).unwrap();
    assert_eq!((status.fetched_at, status.key_count), (Some(t0()), 1));
    assert!(matches!(
        status.last_error,
        Some(RemoteKeyError::HttpStatus { status: 503, .. })
    ));

    let failed = keys
        .find(&source, &key.header(), at(36 * 60))
        .await
        .unwrap_err();
    assert!(failed.is_source_failure(), "{failed}");
    assert_eq!(server.hits("/jwks"), 3);
}

#[tokio::test]
async fn concurrent_lookups_of_a_source_share_one_fetch() {
    const LOOKUPS: usize = 5;
    let key = TestKey::es256("k");
    let server = TestServer::start(jwks(&[&key])).await;
    let source = client_source(&server.url("/gated"));
    let keys = RemoteKeys::new(sandbox());
    let lookups: Vec<_> = (0..LOOKUPS)
        .map(|_| {
            let (keys, source, header) = (keys.clone(), source.clone(), key.header());
            tokio::spawn(async move { keys.find(&source, &header, t0()).await })
        })
        .collect();
    // Wait until every lookup is at the fetch (one fetching, the others waiting for it).
    tokio::time::timeout(PATIENCE, async {
        while keys.lookups_at_fetch(&source) < LOOKUPS {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    server.open_gate();
    for lookup in lookups {
        tokio::time::timeout(PATIENCE, lookup)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
    assert_eq!(server.hits("/gated"), 1);
}

#[tokio::test]
async fn a_hanging_source_does_not_hold_up_another() {
    let key = TestKey::es256("k");
    let server = TestServer::start(jwks(&[&key])).await;
    let (hanging, fast) = (
        client_source(&server.url("/slow")),
        client_source(&server.url("/jwks")),
    );
    let keys = RemoteKeys::new(sandbox());
    let pending = {
        let (keys, header) = (keys.clone(), key.header());
        tokio::spawn(async move { keys.find(&hanging, &header, t0()).await })
    };
    tokio::time::timeout(PATIENCE, async {
        while server.hits("/slow") == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();

    let found = tokio::time::timeout(PATIENCE, keys.find(&fast, &key.header(), t0())).await;
    assert_eq!(found.unwrap().unwrap().kid(), Some("k"));
    assert!(
        !pending.is_finished(),
        "the hanging source's lookup is still waiting"
    );
    pending.abort();
}
