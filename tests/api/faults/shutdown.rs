//! SIGTERM under load: requests already in flight finish with their tokens, each of which has its
//! issuance record, nothing else is written, and the process exits 0.

use std::time::Instant;

use tokenmint::signing::MasterKey;

use super::{jti, recorded_jtis, Route};
use crate::instances::Instance;
use crate::pg;

/// Clients whose first authentication (one argon2 verification each) keeps the service busy.
const CLIENTS: usize = 12;

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_and_record_their_tokens() {
    let url = pg::fresh_database_url().await;
    let dir = tempfile::tempdir().unwrap();
    let master_key = MasterKey::generate_base64().unwrap().to_string();
    let mut service = Instance::start(dir.path(), "shutdown", &url, &master_key).await;
    let mut routes = Vec::new();
    for _ in 0..CLIENTS {
        let client = service.create_client().await;
        routes.push(Route::TokenCreate(client.clone()));
        routes.push(Route::AuthJwt(client));
    }
    // Each request on its own connection, opened before the load so that every request is
    // surely being served, not waiting to be accepted, when the signal arrives.
    let mut connections = Vec::new();
    for _ in &routes {
        let http = reqwest::Client::new();
        let warm = http.get(service.url("/healthz")).send().await.unwrap();
        assert_eq!(warm.status(), 200);
        connections.push(http);
    }

    let outcomes = {
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        let service_ref = &service;
        let requests = routes.iter().zip(&connections).map(|(route, http)| {
            let done_tx = done_tx.clone();
            async move {
                let outcome = route.send(service_ref, http).await;
                let _ = done_tx.send(Instant::now());
                outcome
            }
        });
        let all = futures::future::join_all(requests);
        tokio::pin!(all);
        // SIGTERM as soon as the first answer is back: the others are still being served.
        tokio::select! {
            _ = &mut all => panic!("every request was answered before the first answer was seen"),
            _ = done_rx.recv() => {
                let signalled = Instant::now();
                service_ref.sigterm();
                let outcomes = all.await;
                let mut after = 0;
                while let Ok(at) = done_rx.try_recv() {
                    after += usize::from(at > signalled);
                }
                assert!(after > 0, "some requests were still in flight at SIGTERM");
                eprintln!("{after} of {} requests finished after SIGTERM", routes.len());
                outcomes
            }
        }
    };
    let exit = service.wait();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    let recorded = recorded_jtis(&url).await;
    let mut delivered = std::collections::BTreeSet::new();
    for (route, outcome) in routes.iter().zip(outcomes) {
        let outcome = outcome.unwrap_or_else(|| panic!("{}: no answer", route.name()));
        assert_eq!(outcome.status, 200, "{}: {:?}", route.name(), outcome.body);
        delivered.insert(jti(outcome.token.as_deref().unwrap()));
    }
    assert_eq!(
        recorded, delivered,
        "exactly the delivered tokens are recorded"
    );
}
