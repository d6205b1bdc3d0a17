//! Deployments on three real nodes with a real `baton mesos-local`: a rolling restart keeps
//! capacity within `minimumHealthCapacity`/`maximumOverCapacity` (sampled continuously) and
//! survives a leader SIGKILL without launching anything twice; a locked app answers 409 until
//! forced; a stuck deployment rolls back.

mod common;

use common::Cluster;
use common::mesos::MesosLocal;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A request through any running node, retried during elections; (status, body).
async fn send(cluster: &Cluster, method: Method, path: &str, body: &Value) -> (u16, Value) {
    cluster.send_any(method, path, body, WAIT).await
}

async fn deployments(cluster: &Cluster) -> Vec<Value> {
    let (status, doc) = send(cluster, Method::GET, "/v2/deployments", &Value::Null).await;
    assert_eq!(status, 200, "{doc}");
    doc.as_array().cloned().unwrap_or_default()
}

async fn wait_no_deployments(cluster: &Cluster) {
    common::eventually(WAIT, "every deployment to finish", || async {
        deployments(cluster).await.is_empty().then_some(())
    })
    .await;
}

fn app(cmd: &str, instances: u32) -> Value {
    json!({"id": "/roll", "cmd": cmd, "cpus": 0.1, "mem": 16, "instances": instances})
}

/// Every task mesos-local ever launched for the framework (live and completed), and the
/// running ones.
async fn tasks(ml: &MesosLocal) -> (BTreeSet<String>, BTreeSet<String>) {
    let fw = ml.framework().await;
    let all = fw
        .tasks
        .iter()
        .chain(&fw.completed)
        .map(|(id, _)| id.clone())
        .collect();
    (all, fw.running().into_iter().collect())
}

/// Runs a rolling restart of three instances, sampling running tasks until the deployment is
/// gone; kills the leader midway when `kill_leader`. Checks capacity and no double launch.
async fn rolling_restart(kill_leader: bool) {
    let ml = MesosLocal::start(2).await;
    let (mut cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let (status, _) = send(&cluster, Method::POST, "/v2/apps", &app("sleep 1000", 3)).await;
    assert_eq!(status, 201);
    ml.wait_framework("three running tasks", WAIT, |f| f.running().len() == 3)
        .await;
    wait_no_deployments(&cluster).await;
    let (old, _) = tasks(&ml).await;

    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/apps/roll",
        &app("sleep 2000", 3),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let deployment = doc["deploymentId"]
        .as_str()
        .expect("deploymentId")
        .to_string();
    let mut killed = !kill_leader;
    let mut min_running = usize::MAX;
    let mut max_running = 0;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, running) = tasks(&ml).await;
        min_running = min_running.min(running.len());
        max_running = max_running.max(running.len());
        let new_running = running.difference(&old).count();
        if !killed && new_running >= 1 {
            cluster.kill(leader);
            killed = true;
        }
        let list = deployments(&cluster).await;
        if !list.iter().any(|d| d["id"] == deployment.as_str()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restart did not finish: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(killed);
    assert!(min_running >= 3, "running tasks dropped to {min_running}");
    assert!(max_running <= 6, "running tasks reached {max_running}");
    let (all, running) = tasks(&ml).await;
    assert_eq!(running.len(), 3);
    assert!(running.is_disjoint(&old), "every task is new");
    assert_eq!(
        all.len(),
        6,
        "three old and three new tasks, none launched twice: {all:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_keeps_capacity() {
    rolling_restart(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_survives_a_leader_kill() {
    rolling_restart(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_app_is_refused_until_forced_and_a_deployment_rolls_back() {
    let ml = MesosLocal::start(1).await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let (status, _) = send(&cluster, Method::POST, "/v2/apps", &app("sleep 1000", 1)).await;
    assert_eq!(status, 201);
    ml.wait_framework("one running task", WAIT, |f| f.running().len() == 1)
        .await;
    wait_no_deployments(&cluster).await;

    // Too big for any agent: the restart cannot progress and holds the app.
    let mut huge = app("sleep 3000", 1);
    huge["mem"] = json!(1_000_000);
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps/roll", &huge).await;
    assert_eq!(status, 200, "{doc}");
    let stuck = doc["deploymentId"].as_str().unwrap().to_string();
    let list = deployments(&cluster).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], stuck.as_str());
    assert_eq!(list[0]["affectedApps"], json!(["/roll"]));
    assert_eq!(list[0]["currentActions"][0]["action"], "RestartApplication");
    // The queue says why: no agent has the memory.
    let insufficient_mem = common::eventually(WAIT, "the queue to explain", || async {
        let (_, doc) = send(&cluster, Method::GET, "/v2/queue", &Value::Null).await;
        let item = doc["queue"].as_array()?.first()?.clone();
        let reasons = item["processedOffersSummary"]["rejectSummaryLastOffers"]
            .as_array()?
            .clone();
        let mem = reasons
            .iter()
            .find(|r| r["reason"] == "InsufficientMemory")?;
        (mem["declined"].as_u64()? > 0).then_some(item)
    })
    .await;
    assert_eq!(insufficient_mem["app"]["id"], "/roll");
    assert_eq!(insufficient_mem["count"], 1);

    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/apps/roll",
        &app("sleep 4000", 1),
    )
    .await;
    assert_eq!(status, 409, "{doc}");
    assert_eq!(doc["deployments"][0]["id"], stuck.as_str());
    assert!(doc["message"].as_str().unwrap().contains("locked"), "{doc}");

    // Rolling the stuck deployment back restores the definition before it.
    let path = format!("/v2/deployments/{stuck}");
    let (status, doc) = send(&cluster, Method::DELETE, &path, &Value::Null).await;
    assert_eq!(status, 200, "{doc}");
    let rollback = doc["deploymentId"].as_str().unwrap().to_string();
    assert_ne!(rollback, stuck);
    let (_, doc) = send(&cluster, Method::GET, "/v2/apps/roll", &Value::Null).await;
    assert_eq!(doc["app"]["cmd"], "sleep 1000");
    assert_eq!(doc["app"]["mem"], 16.0);
    wait_no_deployments(&cluster).await;

    // Stuck again, then forced over: the old deployment is cancelled, the new one runs.
    let (_, doc) = send(&cluster, Method::PUT, "/v2/apps/roll", &huge).await;
    let stuck = doc["deploymentId"].as_str().unwrap().to_string();
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/apps/roll?force=true",
        &app("sleep 5000", 1),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let forced = doc["deploymentId"].as_str().unwrap().to_string();
    let ids: Vec<String> = deployments(&cluster)
        .await
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !ids.contains(&stuck),
        "the forced-over deployment is cancelled"
    );
    wait_no_deployments(&cluster).await;
    let (_, doc) = send(&cluster, Method::GET, "/v2/apps/roll", &Value::Null).await;
    assert_eq!(doc["app"]["cmd"], "sleep 5000");
    assert_eq!(doc["app"]["tasksRunning"], 1);
    let _ = forced;
    // A cancelled deployment id is gone.
    let (status, _) = send(
        &cluster,
        Method::DELETE,
        &format!("/v2/deployments/{stuck}?force=true"),
        &Value::Null,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_app_backs_off_and_the_delay_resets() {
    let ml = MesosLocal::start(1).await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let crash = json!({"id": "/crash", "cmd": "exit 1", "cpus": 0.1, "mem": 16,
        "backoffSeconds": 60, "backoffFactor": 2, "maxLaunchDelaySeconds": 300});
    let (status, _) = send(&cluster, Method::POST, "/v2/apps", &crash).await;
    assert_eq!(status, 201);
    let delayed = common::eventually(WAIT, "the app to be backed off", || async {
        let (_, doc) = send(&cluster, Method::GET, "/v2/queue", &Value::Null).await;
        let item = doc["queue"].as_array()?.first()?.clone();
        (item["delay"]["timeLeftSeconds"].as_u64()? > 30).then_some(item)
    })
    .await;
    assert_eq!(delayed["delay"]["overdue"], false);
    let (_, doc) = send(&cluster, Method::GET, "/v2/apps/crash", &Value::Null).await;
    assert_eq!(
        doc["app"]["lastTaskFailure"]["state"], "TASK_FAILED",
        "{doc}"
    );
    let launched = ml.framework().await.completed.len();
    assert_eq!(launched, 1, "one failure, then the backoff holds");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ml.framework().await.completed.len(),
        1,
        "nothing relaunched while backed off"
    );

    let (status, _) = send(
        &cluster,
        Method::DELETE,
        "/v2/queue/crash/delay",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    common::eventually(WAIT, "a relaunch after the reset", || async {
        (ml.framework().await.completed.len() >= 2).then_some(())
    })
    .await;
    let (status, _) = send(
        &cluster,
        Method::DELETE,
        "/v2/queue/nope/delay",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 404);
}
