//! SIGKILL of the leader: a new leader takes over, writes succeed again, no acknowledged write is
//! lost (writes were in flight when it died), and the killed node restarts and catches up. A
//! leader that abdicates hands over although writes keep coming through every node.

mod common;

use baton::proto::v1::{Consistency, CreateAppRequest, Role};
use common::{CATCH_UP_WAIT, Cluster, ELECTION_WAIT, app_json, eventually};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent writers creating apps through every node, round robin, while the leader dies.
const WRITERS: usize = 4;

/// Within this an abdicated leader's followers have elected another (an election timeout or
/// two; an abdicated leader gives up waiting for one after 10 s).
const HAND_OVER: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread")]
async fn leader_sigkill_elects_a_new_leader_and_loses_no_acknowledged_write() {
    let mut cluster = Cluster::start(3).await;
    let all = cluster.ids();
    let (old_leader, old_term) = cluster.wait_for_leader(&all).await;
    let survivors: Vec<u64> = all.iter().copied().filter(|&id| id != old_leader).collect();

    // A batch written before the kill.
    let mut acked: Vec<String> = Vec::new();
    for i in 0..10 {
        let app = format!("/before/app-{i}");
        cluster.create_app(all[i % all.len()], &app).await;
        acked.push(app);
    }

    // Writers keep creating apps through every node while the leader is killed; every app whose
    // create was acknowledged is recorded. Failed creates are ambiguous and not recorded.
    let writers = Writers::start(&cluster, "/during");
    eventually(
        ELECTION_WAIT,
        "writes before the kill",
        writers.acked_since(None, 20),
    )
    .await;

    let killed_at = Instant::now();
    cluster.kill(old_leader);
    let (new_leader, new_term) = cluster.wait_for_leader(&survivors).await;
    assert_ne!(new_leader, old_leader);
    assert!(new_term > old_term, "new term {new_term} after {old_term}");
    let elected_after = killed_at.elapsed();

    // Writes succeed again: the writers get acknowledgements after the kill.
    eventually(
        ELECTION_WAIT,
        "acknowledged writes after the kill",
        writers.acked_since(Some(killed_at), 20),
    )
    .await;
    let attempts = writers.attempts.load(Ordering::Relaxed);
    let during = writers.stop().await;
    eprintln!(
        "elected node {new_leader} (term {new_term}) {elected_after:?} after the kill; \
         {} of {attempts} writes acknowledged",
        during.len(),
    );
    acked.extend(during.into_iter().map(|(app, _)| app));

    // A plain write through each survivor succeeds.
    for &id in &survivors {
        let app = format!("/after/through-{id}");
        let response = cluster
            .http()
            .post(cluster.url(id, "/v2/apps"))
            .header("content-type", "application/json")
            .body(app_json(&app))
            .send()
            .await
            .expect("POST after failover");
        assert_eq!(response.status(), 201, "POST {app} after failover");
        acked.push(app);
    }

    // No acknowledged write is lost: a linearizable list through every survivor has them all.
    for &id in &survivors {
        let listed = eventually(ELECTION_WAIT, "a linearizable list", || {
            let cluster = &cluster;
            async move { cluster.app_ids(id, Consistency::Linearizable).await.ok() }
        })
        .await;
        let missing: Vec<&String> = acked.iter().filter(|a| !listed.contains(a)).collect();
        assert!(
            missing.is_empty(),
            "node {id} lost acknowledged writes: {missing:?}"
        );
    }

    // The killed node restarts, follows the new leader and catches up with every write.
    cluster.restart(old_leader).await;
    cluster.wait_for_apps_stale(old_leader, &acked).await;
    let status = eventually(CATCH_UP_WAIT, "the restarted node to follow", || {
        let cluster = &cluster;
        async move {
            let s = cluster.status(old_leader).await?;
            (s.leader_id != 0 && s.leader_id != old_leader && s.term >= new_term).then_some(s)
        }
    })
    .await;
    assert_eq!(status.role, Role::Follower as i32, "{status:?}");
    let listed = cluster
        .app_ids(old_leader, Consistency::Linearizable)
        .await
        .expect("linearizable list through the restarted node");
    let missing: Vec<&String> = acked.iter().filter(|a| !listed.contains(a)).collect();
    assert!(missing.is_empty(), "restarted node misses {missing:?}");
}

/// Clients creating apps through every node, round robin, recording each acknowledged create.
struct Writers {
    acked: Arc<Mutex<Vec<(String, Instant)>>>,
    stop: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Writers {
    fn start(cluster: &Cluster, prefix: &str) -> Writers {
        let all = cluster.ids();
        let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let attempts = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let clients: Vec<_> = all.iter().map(|&id| cluster.apps(id)).collect();
            let (acked, stop, attempts) = (acked.clone(), stop.clone(), attempts.clone());
            let prefix = prefix.to_string();
            tasks.push(tokio::spawn(async move {
                let mut k = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let app = format!("{prefix}/w{w}-{k}");
                    let mut client = clients[(w + k) % clients.len()].clone();
                    k += 1;
                    attempts.fetch_add(1, Ordering::Relaxed);
                    let request = CreateAppRequest {
                        definition_json: app_json(&app),
                        request_id: String::new(),
                        force: true,
                    };
                    let call = client.create_app(request);
                    match tokio::time::timeout(Duration::from_secs(10), call).await {
                        Ok(Ok(_)) => acked.lock().expect("lock").push((app, Instant::now())),
                        _ => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            }));
        }
        Writers {
            acked,
            stop,
            attempts,
            tasks,
        }
    }

    /// A condition for `eventually`: `n` creates acknowledged (after `since`, if given).
    fn acked_since(
        &self,
        since: Option<Instant>,
        n: usize,
    ) -> impl Fn() -> std::future::Ready<Option<()>> + use<> {
        let acked = self.acked.clone();
        move || {
            let count = acked
                .lock()
                .expect("lock")
                .iter()
                .filter(|(_, at)| since.is_none_or(|s| *at > s))
                .count();
            std::future::ready((count >= n).then_some(()))
        }
    }

    /// Stops the writers; the apps whose create was acknowledged.
    async fn stop(self) -> Vec<(String, Instant)> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("writer task");
        }
        std::mem::take(&mut *self.acked.lock().expect("lock"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abdicating_leader_hands_over_while_writes_keep_coming() {
    let cluster = Cluster::start(3).await;
    let all = cluster.ids();
    let (old_leader, old_term) = cluster.wait_for_leader(&all).await;
    let writers = Writers::start(&cluster, "/abdication");
    eventually(
        ELECTION_WAIT,
        "writes before abdicating",
        writers.acked_since(None, 20),
    )
    .await;

    let abdicated_at = Instant::now();
    let (status, answer) = cluster
        .send_json(reqwest::Method::DELETE, old_leader, "/v2/leader", "")
        .await
        .expect("abdicate");
    assert_eq!(status, 200, "{answer}");
    // The answer comes once it stopped leading: it names no leader, or the next one.
    let named = cluster
        .send_json(reqwest::Method::GET, old_leader, "/v2/leader", "")
        .await
        .expect("GET /v2/leader");
    assert_ne!(
        named.1["leader"].as_str(),
        Some(cluster.node(old_leader).http.as_str()),
        "{named:?}"
    );
    // Writes through every node must not keep the followers from electing another leader.
    let asked = all[0];
    let (new_leader, new_term) = eventually(HAND_OVER, "another leader", || {
        let cluster = &cluster;
        async move {
            let s = cluster.status(asked).await?;
            (s.leader_id != 0 && s.leader_id != old_leader).then_some((s.leader_id, s.term))
        }
    })
    .await;
    assert!(new_term > old_term, "new term {new_term} after {old_term}");
    eprintln!(
        "node {new_leader} leads {:?} after node {old_leader} abdicated",
        abdicated_at.elapsed()
    );
    eventually(
        ELECTION_WAIT,
        "acknowledged writes under the new leader",
        writers.acked_since(Some(abdicated_at + HAND_OVER), 20),
    )
    .await;
    let acked = writers.stop().await;
    let listed = cluster
        .app_ids(new_leader, Consistency::Linearizable)
        .await
        .expect("linearizable list");
    let missing: Vec<&String> = acked
        .iter()
        .map(|(app, _)| app)
        .filter(|a| !listed.contains(a))
        .collect();
    assert!(missing.is_empty(), "lost acknowledged writes: {missing:?}");
}
