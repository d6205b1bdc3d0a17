//! The scheduling workload: clients scale a few apps (`/jepsen-sched/a1` …, `sleep 100000`)
//! between 0 and 4 instances with forced updates (`scale`, key = app, value = instances), while
//! a sampler process reads mesos-local's `/state` every 200 ms (`observe`: the framework's live
//! tasks per app, with their ids) and the nodes' status (`leader`, recorded when it changes).
//! After the final heal every app is scaled once more, the sampler waits until the tasks match,
//! and mesos-local's launch log is recorded (`launches`, also saved as `launches.json`).

use super::{Completion, Worker};
use crate::cluster::{MESOS_IP, MESOS_PORT, NodeId, NodeStatus, leader_of, node_name};
use crate::history::{Op, OpType, Process, Recorder};
use crate::proto::StatusRequest;
use crate::proto::cluster_service_client::ClusterServiceClient;
use rand::Rng;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The group holding the workload's apps.
pub const GROUP: &str = "/jepsen-sched";
/// How many apps are scaled.
pub const APPS: usize = 3;
/// Instances range over `0..=MAX_INSTANCES`.
pub const MAX_INSTANCES: u64 = 4;
/// The sampler's process number in the history: far above any client's (clients start at 0
/// and grow by the concurrency with each unknown outcome).
pub const SAMPLER: u64 = 1_000_000;
/// How often the sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// One `/state`, launch-log or status request's time limit.
const HTTP_TIMEOUT: Duration = Duration::from_secs(1);
/// Task states that count as running (what occupies capacity).
const LIVE_STATES: [&str; 3] = ["TASK_RUNNING", "TASK_STAGING", "TASK_STARTING"];
/// The launch log's file in the run folder.
pub const LAUNCHES_FILE: &str = "launches.json";

pub fn app_id(n: usize) -> String {
    format!("{GROUP}/a{n}")
}

pub fn app_ids() -> Vec<String> {
    (1..=APPS).map(app_id).collect()
}

/// The definition of app `id` with `instances`; only `instances` ever changes, so every update
/// is a scale, never a restart.
pub fn definition(id: &str, instances: u64) -> String {
    json!({
        "id": id,
        "cmd": "sleep 100000",
        "instances": instances,
        "cpus": 0.01,
        "mem": 8,
        "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
    })
    .to_string()
}

/// One scale: a random app to a random number of instances.
pub async fn step(w: &mut Worker) {
    let app = app_id(w.rng().random_range(1..=APPS));
    let instances = w.rng().random_range(0..=MAX_INSTANCES);
    scale(w, &app, instances).await;
}

/// Scales `app` to `instances`; true when acknowledged.
async fn scale(w: &mut Worker, app: &str, instances: u64) -> bool {
    let node = w.pick_node();
    let pending = w.invoke("scale", Some(app), json!(instances), node);
    let completion = match w
        .apps()
        .put_forced(node, app, definition(app, instances))
        .await
    {
        Ok(_) => Completion::Ok(json!(instances)),
        Err(failure) => Completion::of_write(failure),
    };
    let ok = matches!(completion, Completion::Ok(_));
    w.complete(pending, completion);
    ok
}

/// After the heal: scales every app to a random count until acknowledged (or `until`
/// passes); the acknowledged counts, which the tasks must come to match.
pub async fn final_scale(w: &mut Worker, until: Instant) -> BTreeMap<String, u64> {
    let mut targets = BTreeMap::new();
    for app in app_ids() {
        let instances = w.rng().random_range(1..MAX_INSTANCES);
        loop {
            if scale(w, &app, instances).await {
                targets.insert(app.clone(), instances);
                break;
            }
            if Instant::now() >= until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    targets
}

/// The live tasks of the workload's apps in a `/state` answer: app id → task ids, every app
/// present (empty when it has none). A task counts under its `name`, which is its app's id
/// (with or without the leading slash).
pub fn live_tasks(state: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> =
        app_ids().into_iter().map(|a| (a, Vec::new())).collect();
    let frameworks = state["frameworks"].as_array().map_or(&[][..], |v| v);
    for task in frameworks
        .iter()
        .flat_map(|f| f["tasks"].as_array().map_or(&[][..], |v| v))
    {
        let live = task["state"]
            .as_str()
            .is_some_and(|s| LIVE_STATES.contains(&s));
        let name = task["name"].as_str().unwrap_or_default();
        let app = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("/{name}")
        };
        if let (true, Some(ids)) = (live, out.get_mut(&app)) {
            ids.push(task["id"].as_str().unwrap_or_default().to_string());
        }
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

/// An observation's value: `{"counts": {app: n}, "tasks": {app: [task ids]}}`.
fn observation(tasks: &BTreeMap<String, Vec<String>>) -> Value {
    let counts: Map<String, Value> = tasks
        .iter()
        .map(|(app, ids)| (app.clone(), json!(ids.len())))
        .collect();
    json!({"counts": counts, "tasks": tasks})
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The sampler process: mesos-local's tasks, who leads, and at the end the launch log.
pub struct Sampler {
    http: reqwest::Client,
    nodes: Vec<(NodeId, tonic::transport::Channel)>,
    recorder: Recorder,
    /// The last leader recorded (node, term), to record only changes.
    last_leader: Option<(Option<NodeId>, u64)>,
}

impl Sampler {
    pub fn new(
        nodes: Vec<(NodeId, tonic::transport::Channel)>,
        recorder: Recorder,
    ) -> anyhow::Result<Sampler> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(HTTP_TIMEOUT)
            .build()?;
        Ok(Sampler {
            http,
            nodes,
            recorder,
            last_leader: None,
        })
    }

    fn record(&self, kind: OpType, f: &str, value: Value, error: Option<String>) {
        let mut op = Op::new(Process::Client(SAMPLER), kind, f, None, value);
        op.error = error;
        self.recorder.record(op);
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("http://{MESOS_IP}:{MESOS_PORT}{path}");
        let response = self.http.get(&url).send().await?.error_for_status()?;
        Ok(response.json().await?)
    }

    /// Reads `/state` and records the observation; the live tasks, if the read succeeded.
    pub async fn observe(&self) -> Option<BTreeMap<String, Vec<String>>> {
        self.record(OpType::Invoke, "observe", Value::Null, None);
        match self.get("/state").await {
            Ok(state) => {
                let tasks = live_tasks(&state);
                self.record(OpType::Ok, "observe", observation(&tasks), None);
                Some(tasks)
            }
            Err(e) => {
                self.record(OpType::Fail, "observe", Value::Null, Some(format!("{e:#}")));
                None
            }
        }
    }

    /// Asks every node's status and records the leader when it changed.
    async fn leader(&mut self) {
        let asks = self.nodes.iter().map(|(_, channel)| async move {
            let mut client = ClusterServiceClient::new(channel.clone());
            match tokio::time::timeout(HTTP_TIMEOUT, client.status(StatusRequest {})).await {
                Ok(Ok(reply)) => Some(NodeStatus::from(reply.into_inner())),
                _ => None,
            }
        });
        let statuses: Vec<NodeStatus> = futures::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        let leader = leader_of(&statuses);
        let term = statuses
            .iter()
            .filter(|s| Some(s.id) == leader || Some(s.leader) == leader)
            .map(|s| s.term)
            .max()
            .unwrap_or(0);
        if self.last_leader == Some((leader, term)) {
            return;
        }
        self.last_leader = Some((leader, term));
        let value = json!({"node": leader.map(node_name), "term": term});
        self.record(OpType::Invoke, "leader", Value::Null, None);
        self.record(OpType::Ok, "leader", value, None);
    }

    /// Samples every 200 ms until `cancel`; returns itself for the final phase.
    pub async fn run(mut self, cancel: CancellationToken) -> Sampler {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return self,
                _ = tick.tick() => {}
            }
            self.leader().await;
            self.observe().await;
        }
    }

    /// After the final scale: samples until every app with a target runs exactly that many
    /// tasks (or `until` passes). True when they matched.
    pub async fn settle(&mut self, targets: &BTreeMap<String, u64>, until: Instant) -> bool {
        loop {
            self.leader().await;
            if let Some(tasks) = self.observe().await {
                let matched = targets
                    .iter()
                    .all(|(app, &n)| tasks.get(app).map_or(0, Vec::len) as u64 == n);
                if matched {
                    return true;
                }
            }
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
    }

    /// Fetches mesos-local's launch log, saves it in `dir` and records it as one `launches`
    /// op whose value also holds the wall clock at that moment (`wall_ms`), which maps the
    /// log's `time_ms` onto the history's time.
    pub async fn launches(&self, dir: &Path) {
        self.record(OpType::Invoke, "launches", Value::Null, None);
        match self.get("/admin/launches").await {
            Ok(log) => {
                let text = serde_json::to_string_pretty(&log).unwrap_or_default();
                let saved = std::fs::write(dir.join(LAUNCHES_FILE), text + "\n");
                if let Err(e) = saved {
                    eprintln!("jepsen: cannot save {LAUNCHES_FILE}: {e}");
                }
                let value = json!({"launches": log["launches"], "wall_ms": wall_ms()});
                self.record(OpType::Ok, "launches", value, None);
            }
            Err(e) => self.record(
                OpType::Fail,
                "launches",
                Value::Null,
                Some(format!("{e:#}")),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_tasks_group_running_ones_by_app_name() {
        let state = json!({"frameworks": [{"tasks": [
            {"id": "t1", "name": "/jepsen-sched/a1", "state": "TASK_RUNNING"},
            {"id": "t2", "name": "jepsen-sched/a1", "state": "TASK_STAGING"},
            {"id": "t3", "name": "/jepsen-sched/a2", "state": "TASK_KILLING"},
            {"id": "t4", "name": "/jepsen/r1", "state": "TASK_RUNNING"},
            {"id": "t5", "name": "/jepsen-sched/a3", "state": "TASK_STARTING"},
        ]}]});
        let tasks = live_tasks(&state);
        assert_eq!(tasks["/jepsen-sched/a1"], vec!["t1", "t2"]);
        assert!(tasks["/jepsen-sched/a2"].is_empty(), "killing is not live");
        assert_eq!(tasks["/jepsen-sched/a3"], vec!["t5"]);
        assert_eq!(tasks.len(), APPS);
        let v = observation(&tasks);
        assert_eq!(v["counts"]["/jepsen-sched/a1"], 2);
        assert_eq!(v["counts"]["/jepsen-sched/a2"], 0);
        assert!(live_tasks(&json!({})).values().all(Vec::is_empty));
    }

    #[test]
    fn a_scale_changes_only_instances() {
        let a: Value = serde_json::from_str(&definition("/jepsen-sched/a1", 0)).unwrap();
        let mut b: Value = serde_json::from_str(&definition("/jepsen-sched/a1", 4)).unwrap();
        assert_eq!(b["instances"], 4);
        b["instances"] = json!(0);
        assert_eq!(a, b);
        assert_eq!(a["upgradeStrategy"]["maximumOverCapacity"], 1.0);
    }
}
