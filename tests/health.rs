//! Health and readiness on three real nodes with a real `baton mesos-local`: a leader-run HTTP
//! check kills and replaces an instance whose endpoint fails; a slow starter lives through its
//! grace period; TCP checks (one never kills); a COMMAND check run by the agent kills its task
//! and a Mesos `check` reports its result; a new leader serves the committed health at once and
//! kills nothing healthy; a readiness check gates a rolling restart, over HTTPS too (a task with
//! a self-signed certificate); only the leader probes, and a leader that abdicates stops probing
//! at once and kills nothing.
//!
//! Tasks serve files from a folder the test owns (`python3 -m http.server`), so a test breaks an
//! endpoint by deleting a file. Each test's agent gets its own port range, so tests running at
//! the same time never bind the same port.

mod common;

use baton::proto::v1::event_service_client::EventServiceClient;
use baton::proto::v1::{Consistency, GetAppRequest, ListTasksRequest, WatchRequest};
use common::Cluster;
use common::mesos::MesosLocal;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// Port ranges of 100 for agents, below the kernel's ephemeral ports.
const RANGES: u32 = 200;

/// mesos-local with one agent whose port range is this test's own: tests in other processes
/// (nextest runs each in its own) hold a lock on the ranges they use, so two never share one.
async fn mesos() -> MesosLocal {
    let first = std::process::id() % RANGES;
    let base = (0..RANGES)
        .map(|n| 10_000 + ((first + n) % RANGES) * 100)
        .find(|base| {
            let path = std::env::temp_dir().join(format!("baton-health-ports-{base}.lock"));
            let Ok(file) = std::fs::File::create(&path) else {
                return false;
            };
            if file.try_lock().is_err() {
                return false;
            }
            // Held until this test process exits.
            std::mem::forget(file);
            true
        })
        .expect("a free agent port range");
    let resources = format!("cpus:8;mem:8192;disk:20000;ports:[{base}-{}]", base + 99);
    MesosLocal::start_with(1, &["--agent-resources", &resources]).await
}

async fn send(cluster: &Cluster, method: Method, path: &str, body: &Value) -> (u16, Value) {
    cluster.send_any(method, path, body, WAIT).await
}

async fn app(cluster: &Cluster, id: &str) -> Value {
    let (status, doc) = send(cluster, Method::GET, &format!("/v2/apps{id}"), &Value::Null).await;
    assert_eq!(status, 200, "{doc}");
    doc["app"].clone()
}

async fn create(cluster: &Cluster, definition: Value) {
    let (status, doc) = send(cluster, Method::POST, "/v2/apps", &definition).await;
    assert_eq!(status, 201, "{doc}");
}

/// The app's task ids, sorted.
fn task_ids(app: &Value) -> Vec<String> {
    let mut ids: Vec<String> = app["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Waits until the app reports `n` healthy tasks; the app then.
async fn wait_healthy(cluster: &Cluster, id: &str, n: u64) -> Value {
    common::eventually(WAIT, &format!("{id} to have {n} healthy tasks"), || async {
        let app = app(cluster, id).await;
        (app["tasksHealthy"] == n).then_some(app)
    })
    .await
}

/// An HTTP server task serving `dir`.
fn server(dir: &Path) -> String {
    format!("cd {} && exec python3 -m http.server $PORT0", dir.display())
}

/// A temporary directory whose `health` file says "ok", for `server` to serve.
fn healthy_dir() -> tempfile::TempDir {
    let www = tempfile::tempdir().expect("temp dir");
    std::fs::write(www.path().join("health"), "ok").expect("health file");
    www
}

/// Creates `id`: `instances` HTTP servers of `www` (0.1 cpus, 32 MB each) checked by `check`.
async fn create_server(
    cluster: &Cluster,
    id: &str,
    www: &tempfile::TempDir,
    instances: u32,
    check: Value,
) {
    create(
        cluster,
        json!({"id": id, "cmd": server(www.path()), "cpus": 0.1, "mem": 32,
               "instances": instances, "healthChecks": [check]}),
    )
    .await;
}

fn http_check(path: &str, grace: u64, max_failures: u32) -> Value {
    json!({"protocol": "HTTP", "path": path, "portIndex": 0, "gracePeriodSeconds": grace,
           "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": max_failures,
           "delaySeconds": 0})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_endpoint_fails_is_killed_and_replaced() {
    let ml = mesos().await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let www = healthy_dir();
    create_server(&cluster, "/hc/web", &www, 1, http_check("/health", 5, 2)).await;
    let healthy = wait_healthy(&cluster, "/hc/web", 1).await;
    let first = task_ids(&healthy);
    assert_eq!(first.len(), 1);
    let result = &healthy["tasks"][0]["healthCheckResults"][0];
    assert_eq!(result["alive"], true, "{result}");
    assert!(result["firstSuccess"].is_string(), "{result}");
    assert!(
        result["instanceId"]
            .as_str()
            .is_some_and(|i| first[0].starts_with(i))
    );

    std::fs::remove_file(www.path().join("health")).expect("break the endpoint");
    // Two failures in a row past the grace period: killed, and replaced.
    let replaced = common::eventually(WAIT, "a replacement task", || async {
        let app = app(&cluster, "/hc/web").await;
        let ids = task_ids(&app);
        (!ids.is_empty() && !ids.contains(&first[0])).then_some(ids)
    })
    .await;
    // The replacement is inside its grace period: mended in time, it turns healthy.
    std::fs::write(www.path().join("health"), "ok").expect("mend the endpoint");
    assert_ne!(replaced, first);
    let mended = wait_healthy(&cluster, "/hc/web", 1).await;
    assert_eq!(mended["tasksUnhealthy"], 0);
    // The kill counts as a failure of the app, as in Marathon.
    assert_eq!(
        mended["lastTaskFailure"]["taskId"],
        first[0].as_str(),
        "{mended}"
    );
    let killed = ml.framework().await;
    assert!(
        killed
            .completed
            .iter()
            .any(|(id, state)| *id == first[0] && state == "TASK_KILLED"),
        "{:?}",
        killed.completed
    );

    // Every node's event stream told the story in Marathon's health events.
    let kinds = [
        "health_status_changed_event",
        "failed_health_check_event",
        "instance_health_changed_event",
        "unhealthy_instance_kill_event",
    ];
    for id in cluster.running() {
        let mut stream = EventServiceClient::new(cluster.channel(id))
            .watch(WatchRequest {
                from_index: 1,
                event_types: kinds.iter().map(|k| k.to_string()).collect(),
            })
            .await
            .expect("watch")
            .into_inner();
        let mut seen = Vec::new();
        let kill = loop {
            let next = tokio::time::timeout(Duration::from_secs(10), stream.message()).await;
            let event = next
                .expect("the kill event within 10 s")
                .expect("the stream stays up")
                .expect("an event");
            let doc: Value = serde_json::from_str(&event.json).expect("event JSON");
            seen.push(event.event_type.clone());
            if event.event_type == "unhealthy_instance_kill_event" {
                break doc;
            }
        };
        assert_eq!(kill["taskId"], first[0].as_str(), "{kill}");
        assert_eq!(kill["appId"], "/hc/web");
        for kind in kinds {
            assert!(seen.iter().any(|k| k == kind), "node {id} saw {seen:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_starter_lives_through_its_grace_period() {
    let ml = mesos().await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let www = healthy_dir();
    // Refuses connections for 6 s; one failure past the grace period would kill it.
    create(
        &cluster,
        json!({"id": "/hc/slow", "cmd": format!("sleep 6 && {}", server(www.path())),
               "cpus": 0.1, "mem": 32, "instances": 1,
               "healthChecks": [http_check("/health", 20, 1)]}),
    )
    .await;
    let running = common::eventually(WAIT, "the task to run", || async {
        let app = app(&cluster, "/hc/slow").await;
        (app["tasksRunning"] == 1).then_some(task_ids(&app))
    })
    .await;
    let healthy = wait_healthy(&cluster, "/hc/slow", 1).await;
    assert_eq!(
        task_ids(&healthy),
        running,
        "the slow task was never replaced"
    );
    let result = &healthy["tasks"][0]["healthCheckResults"][0];
    assert_eq!(result["consecutiveFailures"], 0, "{result}");
    assert!(
        result["lastFailure"].is_null(),
        "failures in grace are not counted: {result}"
    );
    assert!(ml.framework().await.completed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_checks_pass_and_fail_and_zero_failures_never_kills() {
    let ml = mesos().await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let www = tempfile::tempdir().expect("temp dir");
    let tcp = |max: u32| {
        json!([{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 0, "intervalSeconds": 1,
                "timeoutSeconds": 1, "maxConsecutiveFailures": max, "delaySeconds": 0}])
    };
    create(
        &cluster,
        json!({"id": "/hc/listening", "cmd": server(www.path()), "cpus": 0.1, "mem": 32,
               "instances": 1, "healthChecks": tcp(3)}),
    )
    .await;
    create(
        &cluster,
        json!({"id": "/hc/deaf", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32,
               "instances": 1, "healthChecks": tcp(0)}),
    )
    .await;
    wait_healthy(&cluster, "/hc/listening", 1).await;
    let deaf = common::eventually(WAIT, "the deaf task to be unhealthy", || async {
        let app = app(&cluster, "/hc/deaf").await;
        (app["tasksUnhealthy"] == 1).then_some(app)
    })
    .await;
    let first = task_ids(&deaf);
    let result = &deaf["tasks"][0]["healthCheckResults"][0];
    assert_eq!(result["alive"], false, "{result}");
    assert!(
        result["lastFailureCause"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{result}"
    );
    // Failing for several more intervals: maxConsecutiveFailures 0 never kills.
    common::eventually(WAIT, "more failures", || async {
        let app = app(&cluster, "/hc/deaf").await;
        let failures = app["tasks"][0]["healthCheckResults"][0]["consecutiveFailures"].as_u64()?;
        (failures >= 4).then_some(())
    })
    .await;
    assert_eq!(task_ids(&app(&cluster, "/hc/deaf").await), first);
    // The deployment of an app whose instance never turns healthy does not finish.
    let (_, list) = send(&cluster, Method::GET, "/v2/deployments", &Value::Null).await;
    let waiting = list.as_array().expect("deployments").iter().any(|d| {
        d["affectedApps"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "/hc/deaf"))
    });
    assert!(waiting, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_check_on_the_agent_kills_its_task_and_checks_report_results() {
    let ml = mesos().await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let flag = dir.path().join("flag");
    std::fs::write(&flag, "ok").expect("flag");
    create(
        &cluster,
        json!({"id": "/hc/agent", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "instances": 1,
               "healthChecks": [{"protocol": "COMMAND",
                   "command": {"value": format!("test -f {}", flag.display())},
                   "gracePeriodSeconds": 1, "intervalSeconds": 1, "timeoutSeconds": 1,
                   "maxConsecutiveFailures": 2, "delaySeconds": 0}],
               "check": {"exec": {"command": {"shell": "exit 3"}}, "intervalSeconds": 1,
                   "timeoutSeconds": 1, "delaySeconds": 0}}),
    )
    .await;
    let healthy = wait_healthy(&cluster, "/hc/agent", 1).await;
    let first = task_ids(&healthy);
    let checked = common::eventually(WAIT, "the check's result", || async {
        let app = app(&cluster, "/hc/agent").await;
        let result = app["tasks"][0]["checkResult"].clone();
        (result["command"]["exitCode"] == 3).then_some(result)
    })
    .await;
    assert_eq!(checked, json!({"command": {"exitCode": 3}}));
    std::fs::remove_file(&flag).expect("fail the check");
    common::eventually(WAIT, "the agent to kill the task", || async {
        let fw = ml.framework().await;
        fw.completed
            .iter()
            .any(|(id, state)| *id == first[0] && state == "TASK_KILLED")
            .then_some(())
    })
    .await;
    std::fs::write(&flag, "ok").expect("mend the check");
    let replaced = wait_healthy(&cluster, "/hc/agent", 1).await;
    assert_ne!(task_ids(&replaced), first, "the killed task was replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_serves_committed_health_and_kills_nothing_healthy() {
    let ml = mesos().await;
    let (mut cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let www = healthy_dir();
    create_server(&cluster, "/hc/keep", &www, 2, http_check("/health", 3, 2)).await;
    let before = wait_healthy(&cluster, "/hc/keep", 2).await;
    let tasks = task_ids(&before);
    cluster.kill(leader);
    let survivors: Vec<u64> = cluster.running();
    let (new_leader, _) = cluster.wait_for_leader(&survivors).await;
    assert_ne!(new_leader, leader);
    // The first linearizable answer of the new leader already knows the health.
    let first = app(&cluster, "/hc/keep").await;
    assert_eq!(first["tasksHealthy"], 2, "{first}");
    for task in first["tasks"].as_array().expect("tasks") {
        assert_eq!(task["healthCheckResults"][0]["alive"], true, "{task}");
    }
    // And it stays so while the new leader checks again: nothing killed, nothing unknown.
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        let now = app(&cluster, "/hc/keep").await;
        assert_eq!(now["tasksHealthy"], 2, "{now}");
        assert_eq!(task_ids(&now), tasks);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(ml.framework().await.completed.is_empty());

    // The same over gRPC, and in `baton app show`.
    let app = cluster
        .apps(new_leader)
        .get_app(GetAppRequest {
            id: "/hc/keep".into(),
            consistency: Consistency::Linearizable as i32,
        })
        .await
        .expect("GetApp")
        .into_inner();
    assert_eq!(
        (app.tasks_running, app.tasks_healthy, app.tasks_unhealthy),
        (2, 2, 0)
    );
    let listed = cluster
        .apps(new_leader)
        .list_tasks(ListTasksRequest {
            app_id: "/hc/keep".into(),
            consistency: Consistency::Linearizable as i32,
            statuses: Vec::new(),
        })
        .await
        .expect("ListTasks")
        .into_inner();
    assert_eq!(listed.tasks.len(), 2);
    for task in &listed.tasks {
        assert_eq!(task.state, "TASK_RUNNING");
        let results = &task.health_check_results;
        assert!(results.len() == 1 && results[0].alive, "{results:?}");
        assert!(!results[0].first_success.is_empty());
    }
    let endpoints: Vec<String> = survivors
        .iter()
        .map(|id| cluster.node(*id).grpc.clone())
        .collect();
    let shown = std::process::Command::new(common::baton_bin())
        .args([
            "app",
            "show",
            "/hc/keep",
            "--endpoints",
            &endpoints.join(","),
        ])
        .output()
        .expect("run baton app show");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{text}");
    assert!(text.contains("healthy 2\tunhealthy 0"), "{text}");
    for task in &tasks {
        assert!(
            text.lines()
                .any(|l| l.starts_with(task.as_str()) && l.ends_with("\thealthy")),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_gates_a_rolling_restart() {
    let ml = mesos().await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let www = tempfile::tempdir().expect("temp dir");
    std::fs::write(www.path().join("ready"), "yes").expect("ready file");
    create(
        &cluster,
        json!({"id": "/hc/ready", "cmd": server(www.path()), "cpus": 0.1, "mem": 32,
               "instances": 1, "portDefinitions": [{"port": 0, "name": "http-api"}],
               "readinessChecks": [{"path": "/ready", "portName": "http-api",
                   "intervalSeconds": 2, "timeoutSeconds": 1,
                   "httpStatusCodesForReady": [200], "preserveLastResponse": true}],
               "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1}}),
    )
    .await;
    let no_deployments = || async {
        let (_, list) = send(&cluster, Method::GET, "/v2/deployments", &Value::Null).await;
        list.as_array().is_some_and(Vec::is_empty).then_some(())
    };
    common::eventually(WAIT, "the start to finish once ready", no_deployments).await;
    let old = task_ids(&app(&cluster, "/hc/ready").await);
    assert_eq!(old.len(), 1);

    std::fs::remove_file(www.path().join("ready")).expect("not ready");
    let (status, doc) = send(
        &cluster,
        Method::POST,
        "/v2/apps/hc/ready/restart",
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    // The new instance runs but is not ready: the old one stays, the deployment waits.
    let waiting = common::eventually(WAIT, "a new, unready instance", || async {
        let app = app(&cluster, "/hc/ready").await;
        let results = app["readinessCheckResults"].as_array()?.clone();
        (app["tasksRunning"] == 2 && !results.is_empty()).then_some(results)
    })
    .await;
    assert_eq!(waiting[0]["ready"], false, "{waiting:?}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let held = app(&cluster, "/hc/ready").await;
    assert!(
        task_ids(&held).contains(&old[0]),
        "the old task stays: {held}"
    );
    let (_, list) = send(&cluster, Method::GET, "/v2/deployments", &Value::Null).await;
    let deployment = &list[0];
    assert_eq!(
        deployment["currentActions"][0]["action"],
        "RestartApplication"
    );
    assert_eq!(
        deployment["currentActions"][0]["readinessCheckResults"][0]["ready"], false,
        "{deployment}"
    );

    std::fs::write(www.path().join("ready"), "yes").expect("ready again");
    common::eventually(WAIT, "the restart to finish", no_deployments).await;
    let done = app(&cluster, "/hc/ready").await;
    let new = task_ids(&done);
    assert_eq!(new.len(), 1);
    assert_ne!(
        new, old,
        "the old task was replaced once the new one was ready"
    );
}

/// A task answering every GET with 200, except 503 to probes whose `User-Agent` names the node
/// written in the file `poison` (once it exists). It appends each request's `User-Agent` to
/// the file `agents`.
const AGENT_LOGGER: &str = r#"
import http.server, os, sys
port, agents, poison = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        agent = self.headers.get("User-Agent", "")
        with open(agents, "a") as f:
            f.write(agent + "\n")
        failing = False
        if os.path.exists(poison):
            with open(poison) as f:
                failing = ("(node %s)" % f.read().strip()) in agent
        self.send_response(503 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", port), Handler).serve_forever()
"#;

/// The `User-Agent`s the task logged so far.
fn agents(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn probed_by(agent: &str, node: u64) -> bool {
    agent.ends_with(&format!("(node {node})"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_probes_and_an_abdicated_leader_stops_at_once() {
    let ml = mesos().await;
    let (cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("agents.py");
    std::fs::write(&script, AGENT_LOGGER).expect("script");
    let (log, poison) = (dir.path().join("agents"), dir.path().join("poison"));
    let cmd = format!(
        "exec python3 {} $PORT0 {} {}",
        script.display(),
        log.display(),
        poison.display()
    );
    // After the first success (which ends the grace period, so a slow start is not killed) one
    // failure kills: a node still probing after it lost leadership would kill at once.
    create(
        &cluster,
        json!({"id": "/hc/leader", "cmd": cmd, "cpus": 0.1, "mem": 32, "instances": 1,
               "healthChecks": [http_check("/health", 30, 1)]}),
    )
    .await;
    let tasks = task_ids(&wait_healthy(&cluster, "/hc/leader", 1).await);
    // A few rounds of checks: every probe came from the leader.
    common::eventually(WAIT, "three probes", || async {
        (agents(&log).len() >= 3).then_some(())
    })
    .await;
    let before = agents(&log);
    assert!(
        before.iter().all(|a| probed_by(a, leader)),
        "only the leader {leader} probes: {before:?}"
    );

    let at_abdication = before.len();
    let (status, body) = cluster
        .send_json(Method::DELETE, leader, "/v2/leader", "")
        .await
        .expect("abdicate");
    assert_eq!(status, 200, "{body}");
    let all = cluster.ids();
    let new_leader = common::eventually(WAIT, "another leader", || async {
        let (now, _) = cluster.wait_for_leader(&all).await;
        (now != leader).then_some(now)
    })
    .await;
    // The old leader fails every probe from now on, should it still send any.
    std::fs::write(&poison, leader.to_string()).expect("poison");
    let mark = agents(&log).len();
    common::eventually(WAIT, "the new leader to probe", || async {
        let after = agents(&log).split_off(mark);
        (after.iter().filter(|a| probed_by(a, new_leader)).count() >= 5).then_some(())
    })
    .await;
    // From the new leader's first probe on, only it probes (and none of those came before).
    let since = agents(&log).split_off(at_abdication);
    let first = since
        .iter()
        .position(|a| probed_by(a, new_leader))
        .expect("the new leader probed");
    assert!(
        since[first..].iter().all(|a| probed_by(a, new_leader)),
        "after abdicating, node {leader} no longer probes; the new leader {new_leader} does: {since:?}"
    );
    assert!(
        since[mark - at_abdication..]
            .iter()
            .all(|a| probed_by(a, new_leader)),
        "{since:?}"
    );
    // Nothing was killed, and the new leader sees the task healthy.
    let now = app(&cluster, "/hc/leader").await;
    assert_eq!(now["tasksHealthy"], 1, "{now}");
    assert_eq!(task_ids(&now), tasks);
    let completed = ml.framework().await.completed;
    assert!(completed.is_empty(), "{completed:?} {now}");
}

/// A task serving HTTPS with the certificate and key given: every GET answers 200 once the file
/// `ready` exists in `root`, 503 before; each request's path and `User-Agent` are appended to
/// `root/requests`.
const TLS_SERVER: &str = r#"
import http.server, os, ssl, sys
port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.path.join(root, "requests"), "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("User-Agent", "")))
        ready = os.path.exists(os.path.join(root, "ready"))
        body = b"ready" if ready else b"warming up"
        self.send_response(200 if ready else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_readiness_check_of_a_self_signed_task_gates_its_deployment() {
    let ml = mesos().await;
    let (cluster, leader) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let (cert, key) = (root.join("cert.pem"), root.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=task.invalid", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let script = root.join("tls.py");
    std::fs::write(&script, TLS_SERVER).expect("script");
    let cmd = format!(
        "exec python3 {} $PORT0 {} {} {}",
        script.display(),
        root.display(),
        cert.display(),
        key.display()
    );
    create(
        &cluster,
        json!({"id": "/hc/tls", "cmd": cmd, "cpus": 0.1, "mem": 32, "instances": 1,
               "portDefinitions": [{"port": 0, "name": "https"}],
               "readinessChecks": [{"protocol": "HTTPS", "path": "/ready", "portName": "https",
                   "intervalSeconds": 2, "timeoutSeconds": 1,
                   "httpStatusCodesForReady": [200]}]}),
    )
    .await;
    let requests = || {
        std::fs::read_to_string(root.join("requests"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // Probes get through the TLS handshake (the handler runs) and find the task not ready.
    common::eventually(WAIT, "two HTTPS readiness probes", || async {
        (requests().len() >= 2).then_some(())
    })
    .await;
    let waiting = app(&cluster, "/hc/tls").await;
    assert_eq!(waiting["tasksRunning"], 1, "{waiting}");
    assert_eq!(
        waiting["readinessCheckResults"][0]["ready"], false,
        "{waiting}"
    );
    let (_, list) = send(&cluster, Method::GET, "/v2/deployments", &Value::Null).await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "still deploying: {list}"
    );

    std::fs::write(root.join("ready"), "yes").expect("ready");
    common::eventually(WAIT, "the deployment to finish once ready", || async {
        let (_, list) = send(&cluster, Method::GET, "/v2/deployments", &Value::Null).await;
        list.as_array().is_some_and(Vec::is_empty).then_some(())
    })
    .await;
    let seen = requests();
    let agent = format!("/ready baton/{} (node {leader})", env!("CARGO_PKG_VERSION"));
    assert!(seen.iter().all(|r| *r == agent), "{seen:?}");
}
