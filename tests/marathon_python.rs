//! The Python `marathon` client (PyPI 0.13.0, whose models refuse unknown keys) drives a
//! three-node cluster with a real mesos-local: apps, tasks, deployments, queue, leader, info
//! and the event stream (`driver.py`), and groups (`groups.py`). `scripts/test.sh` installs the
//! client (it needs Python 3.9).

mod common;

use common::Cluster;
use common::mesos::MesosLocal;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The Python with `marathon` installed: `$BATON_MARATHON_PYTHON`, or the venv test.sh makes.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("BATON_MARATHON_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/marathon-venv/bin/python")
}

/// Runs `tests/marathon_python/<script>` against a three-node cluster on a mesos-local with two
/// agents, passing it the nodes' URLs; asserts it succeeds within `limit`, prints `ok_line`, and
/// prints every one of `steps`.
async fn drive(script: &str, limit: Duration, ok_line: &str, steps: &[&str]) {
    let python = python();
    let importable = Command::new(&python)
        .args(["-c", "import marathon"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        importable,
        "the Python marathon client is not installed at {}: run scripts/test.sh, which installs it",
        python.display()
    );
    let ml = MesosLocal::start(2).await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    let urls: Vec<String> = (1..=3).map(|id| cluster.url(id, "")).collect();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/marathon_python")
        .join(script);
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(path)
            .arg(urls.join(","))
            .output()
            .expect("run the driver")
    });
    let out = tokio::time::timeout(limit, run)
        .await
        .expect("the driver finishes")
        .expect("the driver thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(ok_line),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for step in steps {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_marathon_client_drives_baton() {
    drive(
        "driver.py",
        Duration::from_secs(240),
        "MARATHON PYTHON OK",
        &[
            "EVENT created running=2",
            "EVENT scaled running=3",
            "EVENT killed and replaced",
            "EVENT killed with scale running=2",
            "EVENT restarted",
            "EVENT queued count=1",
            "EVENT events",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_marathon_client_drives_groups() {
    drive(
        "groups.py",
        Duration::from_secs(300),
        "MARATHON PYTHON GROUPS OK",
        &[
            "EVENT created",
            "EVENT listed",
            "EVENT scaled",
            "EVENT updated",
            "EVENT rolled back",
            "EVENT deleted",
            "EVENT group changes",
        ],
    )
    .await;
}
