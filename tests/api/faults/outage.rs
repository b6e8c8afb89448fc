//! PostgreSQL stopped under load, then started again, then crashed under load and started again:
//! every route answers 503 with `Retry-After` in its own format while it is down, `/readyz` fails,
//! nothing panics, the service recovers by itself once the database is back, and no token leaves
//! without its issuance record, not even one answered just before the crash (whose WAL the
//! database must have written out before the commit returned; see `cluster`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};
use tokenmint::signing::MasterKey;

use super::cluster::{Cluster, Halt};
use super::{every_route, jti, recorded_jtis, Outcome, Route};
use crate::instances::{poll, Instance};

/// What the load saw: for each request, its route's index, when it was sent and what it got.
type Seen = Arc<Mutex<Vec<(usize, Instant, Option<Outcome>)>>>;

/// How long the service may take to serve again once the database is back.
const RECOVERY: Duration = Duration::from_secs(30);

/// Whether route `route` got `status` to a request sent after `since`.
fn answered(seen: &Seen, route: usize, since: Instant, status: u16) -> bool {
    let seen = seen.lock().unwrap();
    seen.iter().any(|(r, sent, outcome)| {
        *r == route && *sent >= since && outcome.as_ref().is_some_and(|o| o.status == status)
    })
}

/// A client sending requests to route `route` one after the other, `pause` apart, until `stop`;
/// what each got goes to `seen`.
fn client(
    instance: &Arc<(Instance, Vec<Route>)>,
    route: usize,
    pause: Option<Duration>,
    seen: &Seen,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (instance, seen, stop) = (instance.clone(), seen.clone(), stop.clone());
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        while !stop.load(Ordering::SeqCst) {
            let sent = Instant::now();
            let outcome = instance.1[route].send(&instance.0, &http).await;
            seen.lock().unwrap().push((route, sent, outcome));
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
        }
    })
}

async fn readyz(instance: &Instance) -> u16 {
    let response = instance.http.get(instance.url("/readyz")).send().await;
    response.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_database_outage_under_load_is_503_everywhere_and_heals_by_itself() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let mut admin = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    admin.execute("create database tm_outage").await.unwrap();
    admin.close().await.unwrap();
    let url = cluster.url("tm_outage");
    let dir = tempfile::tempdir().unwrap();
    let master_key = MasterKey::generate_base64().unwrap().to_string();
    let service = Instance::start(dir.path(), "outage", &url, &master_key).await;
    let routes = every_route(&service).await;
    let instance = Arc::new((service, routes));

    // One client per route, each sending request after request until told to stop.
    let seen: Seen = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let pause = Some(Duration::from_millis(20));
    let mut load: Vec<_> = (0..instance.1.len())
        .map(|route| client(&instance, route, pause, &seen, &stop))
        .collect();
    let (service, routes) = (&instance.0, &instance.1);
    let every = |status: u16, since: Instant| {
        let seen = seen.clone();
        async move { (0..routes.len()).all(|r| answered(&seen, r, since, status)) }
    };
    let started = Instant::now();
    assert!(poll(RECOVERY, || every(200, started)).await.is_some());

    let mut cluster = cluster;
    for halt in [Halt::Fast, Halt::Crash] {
        // Before the crash, a second client per route without pauses, so that many tokens are
        // answered in the last moments before the database goes down.
        let burst = Arc::new(AtomicBool::new(false));
        let mut bursts = Vec::new();
        if let Halt::Crash = halt {
            bursts = (0..routes.len())
                .map(|route| client(&instance, route, None, &seen, &burst))
                .collect();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        cluster = tokio::task::spawn_blocking(move || {
            cluster.halt(halt);
            cluster
        })
        .await
        .unwrap();
        let down = Instant::now();
        let all_refused = poll(Duration::from_secs(60), || every(503, down)).await;
        assert!(
            all_refused.is_some(),
            "{halt:?}: every route answers 503 while down"
        );
        assert_eq!(readyz(service).await, 503);
        burst.store(true, Ordering::SeqCst);
        load.extend(bursts);

        cluster = tokio::task::spawn_blocking(move || {
            cluster.resume();
            cluster
        })
        .await
        .unwrap();
        let up = Instant::now();
        let recovered = poll(RECOVERY, || every(200, up)).await;
        let recovered =
            recovered.unwrap_or_else(|| panic!("{halt:?}: every route serves again once back"));
        eprintln!(
            "{halt:?}: recovered {} ms after the database came back",
            recovered.as_millis()
        );
    }
    assert_eq!(readyz(service).await, 200);
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let recorded = recorded_jtis(&cluster.url("tm_outage")).await;
    for (index, _, outcome) in &seen {
        let route: &Route = &routes[*index];
        let outcome = outcome
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no answer", route.name()));
        match outcome.status {
            200 => {
                let token = outcome.token.as_deref().expect("a 200 carries a token");
                assert!(
                    recorded.contains(&jti(token)),
                    "{}: token without record",
                    route.name()
                );
            }
            503 => {
                let retry: u64 = outcome.retry_after.as_deref().unwrap().parse().unwrap();
                assert!(retry > 0, "{}: Retry-After {retry}", route.name());
                assert!(
                    route.is_unavailable_body(&outcome.body),
                    "{}: {:?}",
                    route.name(),
                    outcome.body
                );
            }
            other => panic!("{}: unexpected {other}: {:?}", route.name(), outcome.body),
        }
    }
    assert!(service.log().lines().all(|line| !line.contains("panicked")));
    drop(cluster);
}
