//! Tasks on three real nodes with a real `baton mesos-local`: listing (`/v2/apps/{id}/tasks`,
//! `/v2/tasks?status=`), killing one task (replaced under a new id), killing with `scale=true`
//! (the app shrinks through a deployment), a restart (every task replaced, the count kept) and
//! unknown ids (404).

mod common;

use common::Cluster;
use common::mesos::MesosLocal;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(40);

/// A request through any running node, retried during elections; (status, body).
async fn send(cluster: &Cluster, method: Method, path: &str, body: &Value) -> (u16, Value) {
    cluster.send_any(method, path, body, WAIT).await
}

async fn wait_no_deployments(cluster: &Cluster) {
    common::eventually(WAIT, "every deployment to finish", || async {
        let (status, doc) = send(cluster, Method::GET, "/v2/deployments", &Value::Null).await;
        (status == 200 && doc.as_array().is_some_and(Vec::is_empty)).then_some(())
    })
    .await;
}

/// The ids of the tasks `/v2/apps/web/tasks` lists as TASK_RUNNING, once there are `n` tasks
/// and all of them run.
async fn wait_running(cluster: &Cluster, n: usize, what: &str) -> BTreeSet<String> {
    common::eventually(WAIT, what, || async {
        let (status, doc) = send(cluster, Method::GET, "/v2/apps/web/tasks", &Value::Null).await;
        let tasks = doc["tasks"].as_array()?;
        let running: BTreeSet<String> = tasks
            .iter()
            .filter(|t| t["state"] == "TASK_RUNNING")
            .filter_map(|t| t["id"].as_str().map(String::from))
            .collect();
        (status == 200 && tasks.len() == n && running.len() == n).then_some(running)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_listed_killed_replaced_scaled_and_restarted() {
    let ml = MesosLocal::start(2).await;
    let (cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let app = json!({"id": "/web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 3});
    let (status, doc) = send(&cluster, Method::POST, "/v2/apps", &app).await;
    assert_eq!(status, 201, "{doc}");
    let first = wait_running(&cluster, 3, "three running tasks").await;
    wait_no_deployments(&cluster).await;
    let in_mesos: BTreeSet<String> = ml.framework().await.running().into_iter().collect();
    assert_eq!(
        first, in_mesos,
        "the tasks baton lists are the ones Mesos runs"
    );

    // /v2/tasks lists every app's tasks and filters by state.
    let (status, doc) = send(
        &cluster,
        Method::GET,
        "/v2/tasks?status=running",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let listed: BTreeSet<String> = doc["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            assert_eq!(t["appId"], "/web");
            t["id"].as_str().expect("task id").to_string()
        })
        .collect();
    assert_eq!(listed, first);
    let (_, doc) = send(
        &cluster,
        Method::GET,
        "/v2/tasks?status=staging",
        &Value::Null,
    )
    .await;
    assert_eq!(doc["tasks"], json!([]), "no task is staging");

    // Unknown task ids and apps are 404, as in Marathon.
    let (status, doc) = send(
        &cluster,
        Method::DELETE,
        "/v2/apps/web/tasks/web.instance-nope._app.1",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 404, "{doc}");
    assert_eq!(
        doc["message"],
        "Task 'web.instance-nope._app.1' does not exist"
    );
    let ids = json!({"ids": ["web.instance-nope._app.1"]});
    let (status, _) = send(&cluster, Method::POST, "/v2/tasks/delete", &ids).await;
    assert_eq!(status, 404);
    let (status, _) = send(&cluster, Method::GET, "/v2/apps/nope/tasks", &Value::Null).await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &cluster,
        Method::POST,
        "/v2/apps/nope/restart",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 404);

    // A killed task is replaced: a new task id, the count back to three.
    let victim = first.iter().next().expect("a task").clone();
    let (status, doc) = send(
        &cluster,
        Method::DELETE,
        &format!("/v2/apps/web/tasks/{victim}"),
        &Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["task"]["id"], victim.as_str());
    let replaced = common::eventually(WAIT, "the killed task to be replaced", || async {
        let running = wait_running(&cluster, 3, "three running tasks").await;
        (!running.contains(&victim)).then_some(running)
    })
    .await;
    assert_eq!(replaced.intersection(&first).count(), 2);
    wait_no_deployments(&cluster).await;

    // A restart replaces every task and keeps three running; the answer is Marathon's.
    let response = cluster
        .http()
        .post(cluster.url(leader, "/v2/apps//web/restart?force=False"))
        .header("content-type", "application/json")
        .send()
        .await
        .expect("restart answered");
    assert_eq!(response.status().as_u16(), 200);
    let header = response
        .headers()
        .get("marathon-deployment-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .expect("Marathon-Deployment-Id");
    let doc: Value = response.json().await.expect("json body");
    assert_eq!(doc["deploymentId"], header.as_str());
    assert!(doc["version"].as_str().is_some(), "{doc}");
    wait_no_deployments(&cluster).await;
    let restarted = wait_running(&cluster, 3, "three restarted tasks").await;
    assert!(restarted.is_disjoint(&replaced), "every task is new");
    let (_, doc) = send(&cluster, Method::GET, "/v2/apps/web", &Value::Null).await;
    assert_eq!(doc["app"]["instances"], 3);
    assert_eq!(
        doc["app"]["versionInfo"]["lastConfigChangeAt"], doc["app"]["version"],
        "a restart is a configuration change: {doc}"
    );

    // A kill with scale shrinks the app through a deployment.
    let victim = restarted.iter().next().expect("a task").clone();
    let ids = json!({"ids": [victim]});
    let (status, doc) = send(&cluster, Method::POST, "/v2/tasks/delete?scale=true", &ids).await;
    assert_eq!(status, 200, "{doc}");
    assert!(doc["deploymentId"].as_str().is_some(), "{doc}");
    wait_no_deployments(&cluster).await;
    let left = wait_running(&cluster, 2, "two running tasks").await;
    assert!(!left.contains(&victim));
    let (_, doc) = send(&cluster, Method::GET, "/v2/apps/web", &Value::Null).await;
    assert_eq!(doc["app"]["instances"], 2);
    ml.wait_framework("two tasks in Mesos", WAIT, |f| f.running().len() == 2)
        .await;

    // Killing by host names only that host's tasks; scale and wipe together are refused.
    let (status, doc) = send(
        &cluster,
        Method::DELETE,
        "/v2/apps/web/tasks?host=no-such-host",
        &Value::Null,
    )
    .await;
    assert_eq!((status, &doc["tasks"]), (200, &json!([])), "{doc}");
    let (status, _) = send(
        &cluster,
        Method::DELETE,
        "/v2/apps/web/tasks?scale=true&wipe=true",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(wait_running(&cluster, 2, "two running tasks").await, left);
}
