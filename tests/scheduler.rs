//! The leader's Mesos scheduler against a real `baton mesos-local`, on three real nodes: only
//! the leader subscribes; a new leader takes the same framework over without disturbing running
//! tasks; a status update sent while no leader is subscribed is recorded exactly once; a leader
//! that dies between provisioning and LAUNCH leaves no orphan; a paused leader, continued,
//! launches nothing; scale-down and deletion kill tasks; the only node of a cluster that
//! abdicates stands again and takes its own framework over anew, also when its term ended while
//! its first registration was still unanswered.

mod common;

use common::Cluster;
use common::mesos::{Framework, MesosLocal};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

const WAIT: Duration = Duration::from_secs(20);

/// Creates or updates an app through any node (followers forward), retrying during elections.
async fn put_app(cluster: &Cluster, method: Method, path: &str, body: &str) -> Value {
    put_app_avoiding(cluster, None, method, path, body).await
}

/// As `put_app`, never asking node `avoid` (a paused node would hold each try for the whole
/// request timeout).
async fn put_app_avoiding(
    cluster: &Cluster,
    avoid: Option<u64>,
    method: Method,
    path: &str,
    body: &str,
) -> Value {
    let what = format!("{method} {path}");
    common::eventually(WAIT, &what, || {
        let method = method.clone();
        async move {
            for id in cluster
                .running()
                .into_iter()
                .filter(|id| Some(*id) != avoid)
            {
                if let Some((status, doc)) = cluster.send_json(method.clone(), id, path, body).await
                    && (200..300).contains(&status)
                {
                    return Some(doc);
                }
            }
            None
        }
    })
    .await
}

/// Creates app `id` running `sleep` in `instances` tasks and waits until Mesos runs them all;
/// the framework as it then is.
async fn run_app(cluster: &Cluster, ml: &MesosLocal, id: &str, instances: usize) -> Framework {
    let body = format!(
        r#"{{"id":"{id}","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":{instances}}}"#
    );
    put_app(cluster, Method::POST, "/v2/apps", &body).await;
    ml.wait_framework(&format!("{instances} running tasks of {id}"), WAIT, |f| {
        f.running().len() == instances
    })
    .await
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_takes_the_framework_over_without_touching_its_tasks() {
    let ml = MesosLocal::start(2).await;
    let (mut cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let before = run_app(&cluster, &ml, "/web", 2).await;
    assert_eq!(ml.frameworks().await.len(), 1, "only the leader subscribes");
    for (id, _) in &before.tasks {
        assert!(
            id.starts_with("web.instance-") && id.ends_with("._app.1"),
            "{id}"
        );
    }

    // Followers serve the committed instances from their own state.
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    let doc = common::eventually(WAIT, "a follower to serve the running tasks", || async {
        let url = cluster.url(follower, "/v2/apps/web?consistency=stale");
        let doc: Value = reqwest::get(url).await.ok()?.json().await.ok()?;
        (doc["app"]["tasksRunning"] == 2).then_some(doc)
    })
    .await;
    let served: Vec<String> = doc["app"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(set(&served), set(&before.running()));

    let killed_at = now_secs();
    let started = Instant::now();
    cluster.kill(leader);
    let after = ml
        .wait_framework("the new leader to re-subscribe", WAIT, |f| {
            f.reregistered_time.is_some_and(|t| t >= killed_at - 0.05)
        })
        .await;
    eprintln!(
        "re-subscribed {} ms after the leader was killed",
        started.elapsed().as_millis()
    );
    assert_eq!(after.id, before.id, "the framework id is kept");
    assert_eq!(set(&after.running()), set(&before.running()));

    // Reconciliation on the new leader changes nothing: same tasks, none ended, none added.
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.restart(leader).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = ml.framework().await;
    assert!(settled.active);
    assert_eq!(settled.id, before.id);
    assert_eq!(set(&settled.running()), set(&before.running()));
    assert!(settled.completed.is_empty(), "{:?}", settled.completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_down_and_deleting_kill_tasks() {
    let ml = MesosLocal::start(2).await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let three = run_app(&cluster, &ml, "/scale", 3).await;
    put_app(
        &cluster,
        Method::PUT,
        "/v2/apps/scale",
        r#"{"instances":1}"#,
    )
    .await;
    let one = ml
        .wait_framework("scale-down to one task", WAIT, |f| {
            f.running().len() == 1 && f.completed.len() == 2
        })
        .await;
    assert!(set(&three.running()).contains(&one.running()[0]));
    assert!(one.completed.iter().all(|(_, s)| s == "TASK_KILLED"));

    put_app(&cluster, Method::DELETE, "/v2/apps/scale", "").await;
    let none = ml
        .wait_framework("deletion to kill the last task", WAIT, |f| {
            f.tasks.is_empty() && f.completed.len() == 3
        })
        .await;
    assert!(none.completed.iter().all(|(_, s)| s == "TASK_KILLED"));
    // Nothing is relaunched once the app is gone.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = ml.framework().await;
    assert!(later.tasks.is_empty());
    assert_eq!(later.completed.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_sent_while_no_leader_is_subscribed_is_recorded_once() {
    let ml = MesosLocal::start(1).await;
    let (mut cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    // The first task finishes after 3 s; its replacement (the marker exists) runs on.
    let marker = cluster.dir.path().join("ran-once");
    let cmd = format!(
        "if [ -e {m} ]; then sleep 1000; else touch {m}; sleep 3; fi",
        m = marker.display()
    );
    let body = serde_json::json!({"id": "/once", "cmd": cmd, "cpus": 0.1, "mem": 16});
    put_app(&cluster, Method::POST, "/v2/apps", &body.to_string()).await;
    let first = ml
        .wait_framework("the first task to run", WAIT, |f| f.running().len() == 1)
        .await;

    // No quorum while the task finishes: the leader is dead and one follower stopped.
    let followers: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();
    cluster.kill(leader);
    cluster.pause(followers[0]);
    // Unacknowledged, the finished task stays among the live ones, as in Mesos.
    common::eventually(WAIT, "the first task to finish", || async {
        let f = ml.frameworks().await.pop()?;
        f.tasks
            .iter()
            .chain(&f.completed)
            .any(|(id, s)| *id == first.running()[0] && s == "TASK_FINISHED")
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.resume(followers[0]);

    // The new leader gets the retried TASK_FINISHED, commits it, and replaces the instance once.
    let replaced = ml
        .wait_framework("one replacement task", WAIT, |f| f.running().len() == 1)
        .await;
    assert_ne!(replaced.running(), first.running());
    cluster.restart(leader).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let settled = ml.framework().await;
    assert_eq!(
        settled.running(),
        replaced.running(),
        "no second replacement"
    );
    assert_eq!(
        settled.completed.len(),
        1,
        "exactly one task ended: {:?}",
        settled.completed
    );
    let doc = common::eventually(WAIT, "the app to show one running task", || async {
        let (_, doc) = cluster
            .send_json(Method::GET, followers[1], "/v2/apps/once", "")
            .await?;
        (doc["app"]["tasksRunning"] == 1).then_some(doc)
    })
    .await;
    assert_eq!(doc["app"]["tasks"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_dying_between_provisioning_and_launch_leaves_no_orphan() {
    let ml = MesosLocal::start(1).await;
    let marker = tempfile::tempdir().expect("temp dir");
    let fired = marker.path().join("fired");
    let env = vec![
        (
            "BATON_FAILPOINT".to_string(),
            "launch.after-provision".to_string(),
        ),
        (
            "BATON_FAILPOINT_ONCE".to_string(),
            fired.display().to_string(),
        ),
    ];
    let (mut cluster, leader) = Cluster::start_on_mesos(3, &ml.url, env).await;
    put_app(
        &cluster,
        Method::POST,
        "/v2/apps",
        r#"{"id":"/wal","cmd":"sleep 1000","cpus":0.1,"mem":16}"#,
    )
    .await;
    common::eventually(WAIT, "the leader to crash at the fail point", || async {
        fired.exists().then_some(())
    })
    .await;
    common::eventually(WAIT, "the crashed leader to exit", || {
        let exited = cluster.exited(leader);
        async move { exited.then_some(()) }
    })
    .await;

    // The next leader reconciles the provisioned instance (the master never heard of its task),
    // expunges it and launches one replacement.
    let running = ml
        .wait_framework("one task launched by the next leader", WAIT, |f| {
            f.running().len() == 1
        })
        .await;
    assert!(running.completed.is_empty(), "{:?}", running.completed);
    let survivor = (1..=3).find(|&id| id != leader).unwrap();
    let doc = common::eventually(WAIT, "the orphan instance to be gone", || async {
        let (_, doc) = cluster
            .send_json(Method::GET, survivor, "/v2/apps/wal", "")
            .await?;
        let tasks = doc["app"]["tasks"].as_array()?;
        (tasks.len() == 1 && tasks[0]["state"] == "TASK_RUNNING").then_some(doc)
    })
    .await;
    assert_eq!(
        doc["app"]["tasks"][0]["id"].as_str(),
        Some(running.running()[0].as_str())
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = ml.framework().await;
    assert_eq!(settled.running(), running.running());
    assert!(settled.completed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_continued_launches_nothing() {
    let ml = MesosLocal::start(2).await;
    let (cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let before = run_app(&cluster, &ml, "/p", 1).await;
    let paused_at = now_secs();
    cluster.pause(leader);
    ml.wait_framework("a new leader to subscribe", WAIT, |f| {
        f.reregistered_time.is_some_and(|t| t >= paused_at)
    })
    .await;
    // A try at the paused leader would wait out the request timeout, and a refusal from a
    // survivor (the first deployment not yet finished by the new leader) would send the next
    // try there again: past the wait.
    put_app_avoiding(
        &cluster,
        Some(leader),
        Method::PUT,
        "/v2/apps/p",
        r#"{"instances":2}"#,
    )
    .await;
    let two = ml
        .wait_framework("two running tasks", WAIT, |f| f.running().len() == 2)
        .await;
    cluster.resume(leader);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let settled = ml.framework().await;
    assert_eq!(settled.id, before.id);
    assert_eq!(set(&settled.running()), set(&two.running()));
    assert!(settled.completed.is_empty(), "{:?}", settled.completed);
    assert_eq!(ml.frameworks().await.len(), 1);
    // The launch log: the paused leader's stream launched the first task only; the second
    // came from the new leader's subscription.
    let log = ml.get("/admin/launches").await.expect("launch log");
    let launches = log["launches"].as_array().expect("launches");
    assert_eq!(launches.len(), 2, "{launches:?}");
    let old_stream = &launches[0]["stream_id"];
    assert_eq!(
        launches[0]["task_id"].as_str(),
        Some(before.running()[0].as_str())
    );
    assert_ne!(&launches[1]["stream_id"], old_stream, "{launches:?}");
}

/// Runs the `baton` CLI against the cluster; (success, stdout + stderr).
fn cli(cluster: &Cluster, args: &[&str]) -> (bool, String) {
    let endpoints: Vec<String> = cluster.nodes.iter().map(|n| n.grpc.clone()).collect();
    let out = std::process::Command::new(common::baton_bin())
        .args(args)
        .args(["--endpoints", &endpoints.join(",")])
        .output()
        .expect("run the baton CLI");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_teardown_kills_every_task_and_registers_anew() {
    let ml = MesosLocal::start(2).await;
    let (cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let old = run_app(&cluster, &ml, "/td", 2).await;
    let status = cluster.status(leader).await.expect("leader status");
    assert_eq!(status.framework_id, old.id, "the stored framework id");

    let (ok, text) = cli(
        &cluster,
        &["cluster", "teardown-framework", "--framework-id", "not-it"],
    );
    assert!(!ok, "a wrong framework id is refused: {text}");
    assert!(
        text.contains(&old.id),
        "the refusal names the framework: {text}"
    );

    let (ok, text) = cli(
        &cluster,
        &["cluster", "teardown-framework", "--framework-id", &old.id],
    );
    assert!(ok, "teardown refused: {text}");
    // Mesos kills the old framework's tasks; baton registers anew and relaunches the app.
    let new = ml
        .wait_framework("a new framework running the app", WAIT, |f| {
            f.id != old.id && f.running().len() == 2
        })
        .await;
    let state = ml.get("/state").await.expect("/state");
    let completed: Vec<&str> = state["completed_frameworks"]
        .as_array()
        .expect("completed_frameworks")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(completed.contains(&old.id.as_str()), "{completed:?}");
    assert!(set(&new.running()).is_disjoint(&set(&old.running())));
    let status = common::eventually(WAIT, "the new framework id to be stored", || async {
        let s = cluster.status(leader).await?;
        (s.framework_id == new.id && !s.framework_teardown_requested).then_some(s)
    })
    .await;
    assert_eq!(status.framework_id, new.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_only_node_abdicates_and_takes_its_framework_over_anew() {
    let ml = MesosLocal::start(1).await;
    let (cluster, leader) = Cluster::start_on_mesos(1, &ml.url, Vec::new()).await;
    let before = run_app(&cluster, &ml, "/solo", 1).await;
    let term_before = cluster.status(leader).await.expect("status").term;

    let abdicated_at = now_secs();
    let (status, answer) = cluster
        .send_json(Method::DELETE, leader, "/v2/leader", "")
        .await
        .expect("abdicate");
    assert_eq!(status, 200, "{answer}");
    // Nobody else can lead: the node ends its term and subscribes again, as a new term would.
    let after = ml
        .wait_framework("the node to subscribe again", WAIT, |f| {
            f.reregistered_time.is_some_and(|t| t >= abdicated_at)
        })
        .await;
    assert_eq!(after.id, before.id, "the framework id is kept");
    assert_eq!(set(&after.running()), set(&before.running()));
    assert_eq!(ml.frameworks().await.len(), 1, "no second framework");

    // It leads again, with the Raft term it had (it never lost it), and takes writes.
    let status = cluster.status(leader).await.expect("status");
    assert_eq!(status.leader_id, leader);
    assert_eq!(status.term, term_before);
    put_app(&cluster, Method::PUT, "/v2/apps/solo", r#"{"instances":2}"#).await;
    ml.wait_framework("two running tasks", WAIT, |f| f.running().len() == 2)
        .await;
    let settled = ml.framework().await;
    assert!(settled.completed.is_empty(), "{:?}", settled.completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_term_that_ends_while_its_first_registration_is_unanswered_leaves_one_framework() {
    // The master registers the framework as the SUBSCRIBE arrives and answers 3 s later.
    let ml = MesosLocal::start_with(1, &["--subscribe-answer-delay-ms", "3000"]).await;
    let (cluster, leader) = Cluster::start_on_mesos(1, &ml.url, Vec::new()).await;
    let registered = common::eventually(WAIT, "the first registration to arrive", || async {
        let fws = ml.frameworks().await;
        (fws.len() == 1).then(|| fws[0].id.clone())
    })
    .await;
    let status = cluster.status(leader).await.expect("status");
    assert!(status.framework_id.is_empty(), "the answer is still held");

    // End the term while the answer is held: the next term must subscribe with the id the
    // master gave, not register a second framework.
    let (code, answer) = cluster
        .send_json(Method::DELETE, leader, "/v2/leader", "")
        .await
        .expect("abdicate");
    assert_eq!(code, 200, "{answer}");
    let committed = common::eventually(WAIT, "the framework id to be committed", || async {
        let id = cluster.status(leader).await?.framework_id;
        (!id.is_empty()).then_some(id)
    })
    .await;
    assert_eq!(committed, registered);
    ml.wait_framework("the node to subscribe with that id", WAIT, |f| {
        f.reregistered_time.is_some()
    })
    .await;
    let running = run_app(&cluster, &ml, "/one", 1).await;
    assert_eq!(running.id, registered);
    assert_eq!(ml.frameworks().await.len(), 1, "no second framework");
}
