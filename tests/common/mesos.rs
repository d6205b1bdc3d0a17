//! A real `baton mesos-local` for tests that run a cluster against Mesos: started on a port the
//! test picks, read through its `/state`, killed on drop (its task processes die with it).

use super::{REQUEST_TIMEOUT, baton_bin, eventually, free_ports, tail};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct MesosLocal {
    child: Option<Child>,
    pub url: String,
    pub dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// One framework as `/state` shows it.
#[derive(Clone, Debug)]
pub struct Framework {
    pub id: String,
    pub active: bool,
    pub reregistered_time: Option<f64>,
    /// (task id, state) of its live tasks.
    pub tasks: Vec<(String, String)>,
    pub completed: Vec<(String, String)>,
}

impl Framework {
    pub fn running(&self) -> Vec<String> {
        self.tasks
            .iter()
            .filter(|(_, s)| s == "TASK_RUNNING")
            .map(|(id, _)| id.clone())
            .collect()
    }
}

fn tasks(list: Option<&Value>) -> Vec<(String, String)> {
    list.and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    (
                        t["id"].as_str().unwrap_or_default().to_string(),
                        t["state"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl MesosLocal {
    /// Starts mesos-local with `agents` agents and short timers (heartbeats every second,
    /// allocation every 100 ms, unacknowledged updates resent every second).
    pub async fn start(agents: u32) -> MesosLocal {
        MesosLocal::start_with(agents, &[]).await
    }

    /// [`MesosLocal::start`] with extra command-line arguments (e.g. `--agent-resources`).
    pub async fn start_with(agents: u32, extra: &[&str]) -> MesosLocal {
        let dir = tempfile::Builder::new()
            .prefix("baton-mesos-")
            .tempdir()
            .expect("temp dir");
        let port = free_ports(1)[0];
        let log = std::fs::File::create(dir.path().join("mesos-local.log")).expect("log file");
        let child = Command::new(baton_bin())
            .args(["mesos-local", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--agents", &agents.to_string(), "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--heartbeat-interval-secs", "1"])
            .args(["--allocation-interval-ms", "100"])
            .args(["--status-retry-secs", "1"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn baton mesos-local");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("http client");
        let ml = MesosLocal {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            dir,
            http,
        };
        let version = format!("{}/version", ml.url);
        eventually(Duration::from_secs(10), "mesos-local to serve", || async {
            let r = ml.http.get(&version).send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await;
        ml
    }

    pub async fn get(&self, path: &str) -> Option<Value> {
        let r = self.http.get(format!("{}{path}", self.url)).send().await;
        r.ok()?.json().await.ok()
    }

    /// Every registered framework, from `/state`.
    pub async fn frameworks(&self) -> Vec<Framework> {
        let Some(state) = self.get("/state").await else {
            return Vec::new();
        };
        state["frameworks"]
            .as_array()
            .map(|fws| {
                fws.iter()
                    .map(|f| Framework {
                        id: f["id"].as_str().unwrap_or_default().to_string(),
                        active: f["active"].as_bool().unwrap_or(false),
                        reregistered_time: f["reregistered_time"].as_f64(),
                        tasks: tasks(f.get("tasks")),
                        completed: tasks(f.get("completed_tasks")),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The only framework; panics when there is not exactly one.
    pub async fn framework(&self) -> Framework {
        let mut fws = self.frameworks().await;
        assert_eq!(fws.len(), 1, "expected one framework, /state has {fws:?}");
        fws.remove(0)
    }

    /// Waits until the only framework is active and satisfies `f`.
    pub async fn wait_framework(
        &self,
        what: &str,
        timeout: Duration,
        f: impl Fn(&Framework) -> bool,
    ) -> Framework {
        let f = &f;
        eventually(timeout, what, || async move {
            let fws = self.frameworks().await;
            match fws.as_slice() {
                [one] if one.active && f(one) => Some(one.clone()),
                _ => None,
            }
        })
        .await
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }
}

impl Drop for MesosLocal {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.dir.path().join("mesos-local.log");
            eprintln!("----- mesos-local log -----\n{}", tail(&log, 80));
        }
    }
}
