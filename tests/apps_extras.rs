//! Apps on three real nodes, the parts beyond create/update/delete: bulk `PUT /v2/apps` as one
//! deployment, `?label=` selectors and the `id`/`cmd` filters, rollback to a stored version,
//! `/metrics` and `/metrics/prometheus` on every node, `status_update_event` for every task
//! status, the unreachable strategy against mesos-local's `/admin` partitions, and the CLI's
//! `app deploy`, `deploy` and `queue`.

mod common;

use common::mesos::MesosLocal;
use common::{Cluster, cli, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(40);

async fn send(cluster: &Cluster, method: Method, path: &str, body: &Value) -> (u16, Value) {
    cluster.send_any(method, path, body, WAIT).await
}

/// The ids `GET /v2/apps?{query}` lists, sorted.
async fn listed(cluster: &Cluster, query: &str) -> (u16, Value, Vec<String>) {
    let (status, doc) = send(
        cluster,
        Method::GET,
        &format!("/v2/apps?{query}"),
        &Value::Null,
    )
    .await;
    let mut ids: Vec<String> = doc["apps"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|a| a["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    (status, doc, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_put_label_selectors_and_rollback_to_a_version() {
    let cluster = Cluster::start(3).await;
    let (leader, _) = cluster.wait_for_leader(&[1, 2, 3]).await;
    let apps = json!([
        {"id": "/x/web", "cmd": "python3 -m http.server", "instances": 1, "cpus": 0.1, "mem": 16,
         "labels": {"env": "prod", "tier": "web"}},
        {"id": "x/db", "cmd": "sleep 1000", "instances": 1, "cpus": 0.1, "mem": 16,
         "labels": {"env": "dev", "tier": "db"}},
    ]);
    // Bulk PUT: one deployment for both apps (without Mesos it stays running).
    let r = cluster
        .http()
        .put(cluster.url(leader, "/v2/apps"))
        .json(&apps)
        .send()
        .await
        .expect("bulk put");
    assert_eq!(r.status().as_u16(), 200);
    let header = r.headers()["marathon-deployment-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let doc: Value = r.json().await.expect("json");
    assert_eq!(doc["deploymentId"], header.as_str());
    assert!(doc["version"].is_string());
    let (_, deployments) = send(&cluster, Method::GET, "/v2/deployments", &Value::Null).await;
    let deployments = deployments.as_array().expect("array").clone();
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    let affected: BTreeSet<&str> = deployments[0]["affectedApps"]
        .as_array()
        .expect("affected")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(affected, BTreeSet::from(["/x/db", "/x/web"]));

    // Locked by that deployment: refused without force, accepted with it (cancelling it).
    let scale = json!([{"id": "/x/web", "instances": 2}, {"id": "/x/db", "instances": 0}]);
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps", &scale).await;
    assert_eq!(status, 409, "{doc}");
    assert_eq!(doc["deployments"][0]["id"], header.as_str());
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps?force=true", &scale).await;
    assert_eq!(status, 200, "{doc}");
    let (_, web) = send(&cluster, Method::GET, "/v2/apps/x/web", &Value::Null).await;
    assert_eq!(web["app"]["instances"], 2);
    assert_eq!(
        web["app"]["cmd"], "python3 -m http.server",
        "merged, not replaced"
    );
    let (_, deployments) = send(&cluster, Method::GET, "/v2/deployments", &Value::Null).await;
    let ids: Vec<&str> = deployments
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(ids, [doc["deploymentId"].as_str().expect("id")]);

    // One bad element refuses the whole request, naming the element.
    let bad = json!([{"id": "/x/new", "cmd": "x"}, {"id": "/x/other", "cmd": "x", "cpus": -1}]);
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps?force=true", &bad).await;
    assert_eq!(status, 422, "{doc}");
    assert_eq!(doc["message"], "Object is not valid");
    assert!(
        doc["details"][0]["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("(1)/cpus")),
        "{doc}"
    );
    let (status, _) = send(&cluster, Method::GET, "/v2/apps/x/new", &Value::Null).await;
    assert_eq!(status, 404, "nothing of a refused bulk put is stored");
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps", &json!({"id": "/x"})).await;
    assert_eq!(status, 400, "an object is not an array: {doc}");

    // Label selectors, and the id and cmd filters.
    for (query, want) in [
        ("label=env==prod", vec!["/x/web"]),
        ("label=env%21%3Dprod", vec!["/x/db"]),
        ("label=env+in+(prod,+dev)", vec!["/x/db", "/x/web"]),
        ("label=env+notin+(prod)", vec!["/x/db"]),
        ("label=tier,env==dev", vec!["/x/db"]),
        ("label=missing", vec![]),
        ("id=X/W", vec!["/x/web"]),
        ("cmd=http.server", vec!["/x/web"]),
        ("label=tier&cmd=sleep", vec!["/x/db"]),
    ] {
        let (status, doc, ids) = listed(&cluster, query).await;
        assert_eq!(status, 200, "{query}: {doc}");
        assert_eq!(ids, want, "{query}");
    }
    let (status, doc, _) = listed(&cluster, "label=env+in+(prod").await;
    assert_eq!(status, 422, "{doc}");
    assert!(
        doc["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Can not parse label selector env in (prod")),
        "{doc}"
    );

    // Rollback: {"version": v} makes the stored definition of v the newest.
    let (_, versions) = send(
        &cluster,
        Method::GET,
        "/v2/apps/x/db/versions",
        &Value::Null,
    )
    .await;
    let first = versions["versions"]
        .as_array()
        .and_then(|v| v.last())
        .and_then(Value::as_str)
        .expect("the first version")
        .to_string();
    let change = json!({"cmd": "sleep 2000", "instances": 3});
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps/x/db?force=true", &change).await;
    assert_eq!(status, 200, "{doc}");
    let back = json!({"version": first});
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps/x/db?force=true", &back).await;
    assert_eq!(status, 200, "{doc}");
    assert!(doc["deploymentId"].is_string(), "{doc}");
    let (_, db) = send(&cluster, Method::GET, "/v2/apps/x/db", &Value::Null).await;
    assert_eq!(db["app"]["cmd"], "sleep 1000");
    assert_eq!(db["app"]["instances"], 1);
    assert_eq!(db["app"]["labels"]["tier"], "db");
    assert!(
        db["app"]["version"].as_str().expect("version") > first.as_str(),
        "a rollback is a new version"
    );
    let unknown = json!({"version": "2001-01-01T00:00:00.000Z"});
    let (status, doc) = send(&cluster, Method::PUT, "/v2/apps/x/db?force=true", &unknown).await;
    assert_eq!(status, 404, "{doc}");
    assert_eq!(
        doc["message"],
        "App '/x/db' does not exist in version 2001-01-01T00:00:00.000Z"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_serves_its_own_metrics_as_json_and_prometheus_text() {
    let cluster = Cluster::start(3).await;
    let (leader, term) = cluster.wait_for_leader(&[1, 2, 3]).await;
    cluster.create_app(leader, "/metered").await;
    let gauge = |doc: &Value, name: &str| doc["gauges"][name]["value"].as_f64();
    let counter = |doc: &Value, name: &str| doc["counters"][name]["count"].as_u64();
    for id in [1, 2, 3] {
        // Each node's gauges agree with what it says of itself over gRPC at the same moment
        // (compared until they do, since an election on a busy machine moves both).
        let doc = eventually(WAIT, &format!("node {id}'s metrics"), || async {
            let before = cluster.status(id).await?;
            let r = cluster
                .http()
                .get(cluster.url(id, "/metrics"))
                .send()
                .await
                .ok()?;
            let doc: Value = r.json().await.ok()?;
            let after = cluster.status(id).await?;
            let leads = if after.role == baton::proto::v1::Role::Leader as i32 {
                1.0
            } else {
                0.0
            };
            let agreed = before.term == after.term
                && before.leader_id == after.leader_id
                && before.role == after.role
                && gauge(&doc, "marathon.apps.active.gauge") == Some(1.0)
                && gauge(&doc, "baton.raft.term.gauge") == Some(after.term as f64)
                && gauge(&doc, "baton.raft.leader.gauge") == Some(after.leader_id as f64)
                && gauge(&doc, "baton.raft.is-leader.gauge") == Some(leads);
            agreed.then_some(doc)
        })
        .await;
        for section in ["counters", "gauges", "histograms", "meters", "timers"] {
            assert!(doc[section].is_object(), "{section}: {doc}");
        }
        assert!(doc["version"].is_string());
        assert!(gauge(&doc, "baton.raft.term.gauge").is_some_and(|t| t >= term as f64));
        assert!(gauge(&doc, "baton.raft.applied-index.gauge").is_some_and(|i| i >= 2.0));
        assert_eq!(gauge(&doc, "marathon.deployments.active.gauge"), Some(1.0));
        assert_eq!(gauge(&doc, "marathon.instances.running.gauge"), Some(0.0));
        assert!(counter(&doc, "marathon.http.requests.counter").is_some());
        let timer = &doc["timers"]["marathon.http.requests.duration.timer.seconds"];
        assert!(timer["count"].as_u64().is_some(), "{doc}");
    }
    let (leader, _) = cluster.wait_for_leader(&[1, 2, 3]).await;
    // Whichever node led when the app was created committed it (leadership may have moved).
    let mut committed = 0;
    let mut answered = 0;
    for id in [1, 2, 3] {
        let r = cluster.http().get(cluster.url(id, "/metrics")).send().await;
        let doc: Value = r.expect("metrics").json().await.expect("json");
        committed += counter(&doc, "baton.raft.writes.committed.counter").unwrap_or(0);
        answered += counter(&doc, "marathon.http.responses.2xx.counter").unwrap_or(0);
    }
    assert!(committed >= 1, "the app's creation was counted");
    assert!(answered >= 3, "each node answered /metrics before");
    let follower = [1, 2, 3]
        .into_iter()
        .find(|&i| i != leader)
        .expect("a follower");
    let text = eventually(WAIT, "the follower's Prometheus text", || async {
        let r = cluster
            .http()
            .get(cluster.url(follower, "/metrics/prometheus"))
            .send()
            .await
            .ok()?;
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(
            r.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = r.text().await.ok()?;
        let status = cluster.status(follower).await?;
        let leader_line = format!("baton_raft_leader_gauge {}", status.leader_id);
        let lines: Vec<&str> = text.lines().collect();
        (lines.contains(&"baton_raft_is_leader_gauge 0") && lines.contains(&leader_line.as_str()))
            .then_some(text)
    })
    .await;
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "# TYPE marathon_apps_active_gauge gauge",
        "marathon_apps_active_gauge 1",
        "# TYPE marathon_http_requests_counter counter",
        "# TYPE marathon_http_requests_duration_timer_seconds histogram",
    ] {
        assert!(lines.contains(&want), "no '{want}' in:\n{text}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("marathon_http_requests_duration_timer_seconds_bucket{le=\"+Inf\"} ")),
        "{text}"
    );
}

/// Reads SSE frames off a streaming body and sends the `(event, data)` pairs whose data is JSON.
async fn read_frames(response: reqwest::Response, frames: mpsc::UnboundedSender<(String, Value)>) {
    common::read_sse(response, |kind, data| match serde_json::from_str(&data) {
        Ok(doc) => frames.send((kind, doc)).is_ok(),
        Err(_) => true,
    })
    .await;
}

/// The next `status_update_event` whose task has `status`.
async fn next_status(frames: &mut mpsc::UnboundedReceiver<(String, Value)>, status: &str) -> Value {
    loop {
        let (kind, doc) = tokio::time::timeout(WAIT, frames.recv())
            .await
            .unwrap_or_else(|_| panic!("a {status} status_update_event in time"))
            .expect("the stream stays open");
        if kind == "status_update_event" && doc["taskStatus"] == status {
            return doc;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_status_is_a_status_update_event_with_marathons_fields() {
    let ml = MesosLocal::start(1).await;
    let (cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let follower = [1, 2, 3]
        .into_iter()
        .find(|&i| i != leader)
        .expect("a follower");
    let response = cluster
        .http()
        .get(cluster.url(follower, "/v2/events?event_type=status_update_event"))
        .header("accept", "text/event-stream")
        .timeout(Duration::from_secs(300))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(response.status().as_u16(), 200);
    let (tx, mut frames) = mpsc::unbounded_channel();
    tokio::spawn(read_frames(response, tx));
    let app = json!({"id": "/seen", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
                     "portDefinitions": [{"port": 0}]});
    let (status, doc) = send(&cluster, Method::POST, "/v2/apps", &app).await;
    assert_eq!(status, 201, "{doc}");
    let running = next_status(&mut frames, "TASK_RUNNING").await;
    let task = running["taskId"].as_str().expect("taskId").to_string();
    assert!(task.starts_with("seen.instance-"), "{running}");
    assert_eq!(running["appId"], "/seen");
    assert_eq!(running["host"], "127.0.1.1");
    assert_eq!(
        running["ipAddresses"],
        json!([{"ipAddress": "127.0.1.1", "protocol": "IPv4"}])
    );
    assert!(running["slaveId"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        running["ports"].as_array().is_some_and(|p| p.len() == 1),
        "{running}"
    );
    assert!(running["message"].is_string());
    assert!(running["version"].is_string());
    assert!(running["timestamp"].is_string());
    // A terminal status is one too: the task killed by a scale-down.
    let kill = format!("/v2/apps/seen/tasks/{task}?scale=true&force=true");
    let (status, doc) = send(&cluster, Method::DELETE, &kill, &Value::Null).await;
    assert_eq!(status, 200, "{doc}");
    let killed = next_status(&mut frames, "TASK_KILLED").await;
    assert_eq!(killed["taskId"], task.as_str());
    assert_eq!(killed["appId"], "/seen");
    assert_eq!(killed["host"], "127.0.1.1");
    assert_eq!(killed["slaveId"], running["slaveId"]);
    assert_eq!(killed["ports"], running["ports"]);
}

/// `/v2/apps/ur/tasks`: (id, state, slaveId) of each task.
async fn tasks_of(cluster: &Cluster) -> Vec<(String, String, String)> {
    let (_, doc) = send(cluster, Method::GET, "/v2/apps/ur/tasks", &Value::Null).await;
    doc["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    let field = |k: &str| t[k].as_str().unwrap_or_default().to_string();
                    (field("id"), field("state"), field("slaveId"))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn admin(ml: &MesosLocal, path: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", ml.url))
        .send()
        .await
        .expect("admin call");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_instance_is_replaced_after_inactive_after_expunged_then_killed_on_return() {
    let ml = MesosLocal::start(2).await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let app = json!({"id": "/ur", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
                     "unreachableStrategy": {"inactiveAfterSeconds": 3, "expungeAfterSeconds": 8}});
    let (status, doc) = send(&cluster, Method::POST, "/v2/apps", &app).await;
    assert_eq!(status, 201, "{doc}");
    let (task, _, agent) = eventually(WAIT, "the task to run", || async {
        let tasks = tasks_of(&cluster).await;
        match tasks.as_slice() {
            [one] if one.1 == "TASK_RUNNING" => Some(one.clone()),
            _ => None,
        }
    })
    .await;
    let partitioned = Instant::now();
    admin(&ml, &format!("/admin/agents/{agent}/unreachable")).await;
    eventually(WAIT, "the task to be unreachable", || async {
        let tasks = tasks_of(&cluster).await;
        tasks
            .iter()
            .any(|t| t.0 == task && t.1 == "TASK_UNREACHABLE")
            .then_some(())
    })
    .await;
    // A replacement runs elsewhere, but only once inactiveAfterSeconds passed.
    let replacement = eventually(WAIT, "a replacement to run", || async {
        let tasks = tasks_of(&cluster).await;
        let other = tasks.iter().find(|t| t.0 != task)?;
        Some((other.clone(), tasks.len()))
    })
    .await;
    let replaced_after = partitioned.elapsed();
    assert!(
        replaced_after >= Duration::from_millis(2_900),
        "replaced after {replaced_after:?}, before inactiveAfterSeconds"
    );
    assert_ne!(
        replacement.0.2, agent,
        "the replacement runs on the other agent"
    );
    assert_eq!(
        replacement.1, 2,
        "the unreachable instance is kept meanwhile"
    );
    // Expunged once expungeAfterSeconds passed.
    eventually(WAIT, "the unreachable instance to be expunged", || async {
        let tasks = tasks_of(&cluster).await;
        (!tasks.iter().any(|t| t.0 == task)).then_some(())
    })
    .await;
    let expunged_after = partitioned.elapsed();
    assert!(
        expunged_after >= Duration::from_millis(7_900),
        "expunged after {expunged_after:?}, before expungeAfterSeconds"
    );
    // The agent comes back: its task, no longer baton's, is killed; the replacement stays.
    admin(&ml, &format!("/admin/agents/{agent}/reachable")).await;
    eventually(WAIT, "the returned task to be killed", || async {
        let fw = ml.framework().await;
        fw.completed
            .iter()
            .any(|(id, state)| *id == task && state == "TASK_KILLED")
            .then_some(())
    })
    .await;
    let tasks = tasks_of(&cluster).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].0, replacement.0.0);
    assert_eq!(tasks[0].1, "TASK_RUNNING");
}

/// The running deployments' ids, through `baton deploy list --json`.
async fn deployment_ids(cluster: &Cluster) -> Vec<String> {
    let (ok, out) = cli(cluster, &["deploy", "list", "--json"]).await;
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("json: {out}"));
    list.as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["id"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_deploys_and_follows_cancels_rolls_back_and_shows_the_queue() {
    let ml = MesosLocal::start(2).await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let dir = cluster.dir.path();
    let web = dir.join("web.json");
    let definition =
        json!({"id": "/cli", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 2});
    std::fs::write(&web, definition.to_string()).expect("write");
    let web = web.to_str().expect("utf-8");
    let (ok, out) = cli(&cluster, &["app", "deploy", web]).await;
    assert!(ok, "{out}");
    for want in [
        "step 1/2: StartApplication /cli",
        "step 2/2: ScaleApplication /cli",
        "succeeded",
    ] {
        assert!(out.contains(want), "no '{want}' in:\n{out}");
    }
    let (_, doc) = send(&cluster, Method::GET, "/v2/apps/cli", &Value::Null).await;
    assert_eq!(doc["app"]["tasksRunning"], 2, "done means running: {doc}");
    // A changed definition: a rolling restart, followed to its end.
    let changed =
        json!({"id": "/cli", "cmd": "sleep 2000", "cpus": 0.1, "mem": 16, "instances": 2});
    std::fs::write(dir.join("web.json"), changed.to_string()).expect("write");
    let (ok, out) = cli(&cluster, &["app", "deploy", web]).await;
    assert!(ok, "{out}");
    assert!(out.contains("step 1/1: RestartApplication /cli"), "{out}");

    // Too big for any agent: the follower says why it waits; a forced cancel fails it.
    let big = dir.join("big.json");
    let definition = json!({"id": "/big", "cmd": "sleep 1000", "cpus": 0.1, "mem": 100000});
    std::fs::write(&big, definition.to_string()).expect("write");
    let big = big.to_str().expect("utf-8").to_string();
    let follow = {
        let endpoints: Vec<String> = cluster.nodes.iter().map(|n| n.grpc.clone()).collect();
        let big = big.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(common::baton_bin())
                .args(["app", "deploy", &big, "--endpoints", &endpoints.join(",")])
                .output()
                .expect("run the baton CLI")
        })
    };
    let started = Instant::now();
    let id = eventually(WAIT, "the deployment of /big", || async {
        deployment_ids(&cluster).await.into_iter().next()
    })
    .await;
    eventually(WAIT, "the queue to say why /big waits", || async {
        let (ok, out) = cli(&cluster, &["queue"]).await;
        (ok && out
            .lines()
            .any(|l| l.starts_with("/big ") && l.contains("InsufficientMemory")))
        .then_some(())
    })
    .await;
    let (ok, out) = cli(&cluster, &["queue", "--json"]).await;
    assert!(ok, "{out}");
    let queue: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(queue["queue"][0]["app"]["id"], "/big", "{queue}");
    assert_eq!(queue["queue"][0]["count"], 1);
    // Let the follower report at least once that it makes no progress.
    tokio::time::sleep_until((started + Duration::from_secs(7)).into()).await;
    let (ok, out) = cli(&cluster, &["deploy", "cancel", &id, "--force"]).await;
    assert!(ok, "{out}");
    assert!(out.contains(&format!("deployment {id} stopped")), "{out}");
    let followed = tokio::time::timeout(WAIT, follow)
        .await
        .expect("the follower ends")
        .expect("it ran");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&followed.stdout),
        String::from_utf8_lossy(&followed.stderr)
    );
    assert!(
        !followed.status.success(),
        "a cancelled deployment fails:\n{text}"
    );
    assert!(text.contains(&format!("deployment {id} failed")), "{text}");
    assert!(text.contains("waiting: 1 instance(s) to launch"), "{text}");
    assert!(deployment_ids(&cluster).await.is_empty());

    // Rollback: a new app's deployment rolled back removes the app again.
    let definition = json!({"id": "/big2", "cmd": "sleep 1000", "cpus": 0.1, "mem": 100000});
    std::fs::write(dir.join("big2.json"), definition.to_string()).expect("write");
    let big2 = dir.join("big2.json");
    let (ok, out) = cli(
        &cluster,
        &["app", "deploy", big2.to_str().expect("utf-8"), "--no-wait"],
    )
    .await;
    assert!(ok, "{out}");
    let id = deployment_ids(&cluster).await.pop().expect("a deployment");
    assert!(out.contains(&id), "the deployment id is printed: {out}");
    let (ok, out) = cli(&cluster, &["deploy", "rollback", &id]).await;
    assert!(ok, "{out}");
    assert!(out.contains("rolling back as deployment"), "{out}");
    eventually(WAIT, "the rollback to remove /big2", || async {
        let (status, _) = send(&cluster, Method::GET, "/v2/apps/big2", &Value::Null).await;
        (status == 404).then_some(())
    })
    .await;
    let (ok, out) = cli(&cluster, &["deploy", "cancel", "no-such-deployment"]).await;
    assert!(!ok);
    assert!(
        out.contains("DeploymentPlan no-such-deployment does not exist"),
        "{out}"
    );
}
