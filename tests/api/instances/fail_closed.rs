//! Failing closed: while an instance's change listener is cut off, a change made through the
//! other instance is still honoured (the caches are bypassed), and what was cached before the
//! gap is forgotten once the listener is back.

use reqwest::Method;
use serde_json::json;

use super::{within_deadline, Pair};

#[tokio::test]
async fn changes_made_while_the_listener_is_cut_off_are_still_honoured() {
    let pair = Pair::start().await;
    let Pair { a, b, .. } = &pair;
    let during = a.create_client().await; // suspended during the gap, asked during the gap
    let unseen = a.create_client().await; // suspended during the gap, asked only after it
    let bystander = a.create_client().await; // never changes
    for client in [&during, &unseen, &bystander] {
        for _ in 0..2 {
            assert_eq!(b.token_create(client).await.status(), 200);
        }
    }

    pair.cut_listeners_off().await;
    for client in [&during, &unseen] {
        let path = format!("/admin/clients/{}", client.id);
        let patch = json!({"status": "suspended"});
        assert_eq!(
            a.admin(Method::PATCH, &path, Some(patch)).await.status(),
            200
        );
    }
    // The notifications went nowhere, and B's cache still holds both clients.
    within_deadline("suspended during the gap, refused by B", || async {
        b.token_create(&during).await.status() == 401
    })
    .await;
    assert_eq!(
        b.token_create(&bystander).await.status(),
        200,
        "without its caches B still serves, the slow way"
    );

    pair.let_listeners_back().await;
    assert_eq!(
        b.token_create(&unseen).await.status(),
        401,
        "B forgot what it had cached before the gap"
    );
    // Notifications flow again: B caches again, and a suspension on A still reaches it.
    for _ in 0..2 {
        assert_eq!(b.token_create(&bystander).await.status(), 200);
    }
    let path = format!("/admin/clients/{}", bystander.id);
    let patch = json!({"status": "suspended"});
    assert_eq!(
        a.admin(Method::PATCH, &path, Some(patch)).await.status(),
        200
    );
    within_deadline("suspended after the gap, refused by B", || async {
        b.token_create(&bystander).await.status() == 401
    })
    .await;
}

/// A database that refuses the service's logins (a locked role, a rotated password) is a
/// dependency down, not a bug: a request that needs a new connection then is 503 with
/// Retry-After, and the service heals once logins work again.
#[tokio::test]
async fn a_database_that_refuses_the_services_logins_is_503_until_it_lets_it_in() {
    let pair = Pair::start().await;
    let client = pair.a.create_client().await;
    assert_eq!(pair.a.token_create(&client).await.status(), 200);

    pair.superuser(&format!(r#"alter role "{}" nologin"#, pair.role))
        .await;
    pair.superuser(&format!(
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = '{}' and usename = '{}'",
        pair.database, pair.role
    ))
    .await;
    // Every connection the pool held is gone: a request either finds one dead (the connection
    // is lost) or needs a new one, which the database refuses. Both are 503, every time.
    let path = format!("/admin/clients/{}", client.id);
    for _ in 0..10 {
        let response = pair.a.admin(Method::GET, &path, None).await;
        assert_eq!(response.status(), 503, "a refused login is not a bug");
        assert!(response.headers().contains_key("retry-after"));
    }

    pair.let_listeners_back().await;
    within_deadline("logins work again", || async {
        pair.a.token_create(&client).await.status() == 200
    })
    .await;
}
