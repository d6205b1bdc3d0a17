//! A third-party scheduler library against `baton mesos-local`: pymesos 0.3.15 (installed by
//! scripts/test.sh into target/pymesos-venv) runs tests/pymesos/driver.py, which registers,
//! launches, finishes and kills tasks, loses its stream and re-subscribes, restarts with its
//! framework id and tears down.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The driver script's own overall timeout is 90 s; this is the backstop.
const DRIVER_WAIT: Duration = Duration::from_secs(120);

/// A Python that can import pymesos: `$BATON_PYMESOS_PYTHON`, else the venv scripts/test.sh
/// makes. Panics (never skips) when there is none.
fn pymesos_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pymesos-venv/bin/python");
    let candidates: Vec<PathBuf> = std::env::var_os("BATON_PYMESOS_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv])
        .collect();
    for python in &candidates {
        let imports = Command::new(python)
            .args(["-c", "import pymesos"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if imports {
            return python.clone();
        }
    }
    panic!(
        "pymesos is not importable by {candidates:?}: run scripts/test.sh, which installs \
         pymesos 0.3.15 into target/pymesos-venv (or point BATON_PYMESOS_PYTHON at a Python \
         that has it)"
    );
}

/// A running `baton mesos-local`, killed on drop.
struct MesosLocal {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl MesosLocal {
    async fn start() -> MesosLocal {
        let dir = tempfile::Builder::new()
            .prefix("baton-pymesos-")
            .tempdir()
            .expect("temp dir");
        let port = common::free_ports(1)[0];
        let log = std::fs::File::create(dir.path().join("mesos-local.log")).expect("log file");
        let child = Command::new(common::baton_bin())
            .args(["mesos-local", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--agents", "1", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--allocation-interval-ms", "100"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn baton mesos-local");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(common::REQUEST_TIMEOUT)
            .build()
            .expect("http client");
        let ml = MesosLocal {
            child,
            port,
            dir,
            http,
        };
        let url = format!("http://127.0.0.1:{port}/version");
        common::eventually(
            Duration::from_secs(10),
            "mesos-local to serve /version",
            || async {
                let response = ml.http.get(&url).send().await.ok();
                response.filter(|r| r.status().is_success())
            },
        )
        .await;
        ml
    }

    async fn state(&self) -> serde_json::Value {
        let url = format!("http://127.0.0.1:{}/state", self.port);
        let response = self.http.get(&url).send().await.expect("GET /state");
        response.json().await.expect("/state is JSON")
    }
}

impl Drop for MesosLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.dir.path().join("mesos-local.log");
            eprintln!("----- mesos-local log -----\n{}", common::tail(&log, 80));
        }
    }
}

/// Asserts that `lines` contains lines starting with each of `wanted`, in this order.
fn assert_in_order(lines: &[&str], wanted: &[&str], output: &str) {
    let mut from = 0;
    for want in wanted {
        match lines[from..].iter().position(|l| l.starts_with(want)) {
            Some(i) => from += i + 1,
            None => panic!("no '{want}' (in order) in the driver's output:\n{output}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymesos_drives_mesos_local() {
    let python = pymesos_python();
    let ml = MesosLocal::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pymesos/driver.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(format!("127.0.0.1:{}", ml.port))
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(DRIVER_WAIT, run)
        .await
        .unwrap_or_else(|_| panic!("the pymesos driver ran for more than {DRIVER_WAIT:?}"))
        .expect("run the pymesos driver");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = format!(
        "{stdout}\n----- stderr -----\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{}:\n{text}", output.status);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_in_order(
        &lines,
        &[
            "EVENT registered ",
            "EVENT status echo-1 TASK_RUNNING",
            "EVENT status echo-1 TASK_FINISHED",
        ],
        &text,
    );
    assert_in_order(
        &lines,
        &[
            "EVENT status sleep-1 TASK_RUNNING",
            "EVENT status sleep-1 TASK_KILLED",
            "EVENT error \"Framework failed over\"",
            "EVENT disconnected",
            "EVENT reregistered 1.11.0",
            "EVENT reregistered 1.11.0",
            "EVENT status survivor TASK_RUNNING REASON_RECONCILIATION",
            "EVENT status survivor TASK_KILLED",
            "PYMESOS DRIVER OK",
        ],
        &text,
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("EVENT registered"))
            .count(),
        1,
        "only the first subscription is a registration:\n{text}"
    );
    let framework_id = lines
        .iter()
        .find_map(|l| l.strip_prefix("PYMESOS DRIVER OK framework_id="))
        .expect("the framework id");

    // The driver tore the framework down: mesos-local lists it as completed, with its tasks.
    let state = ml.state().await;
    let active = state["frameworks"].as_array().expect("frameworks");
    assert!(active.is_empty(), "{state}");
    let completed = state["completed_frameworks"]
        .as_array()
        .expect("completed_frameworks");
    assert!(
        completed.iter().any(|f| f["id"] == framework_id),
        "{framework_id} among {completed:?}"
    );
}
