//! A node's life cycle: SIGTERM drains and exits cleanly without losing acknowledged writes, and
//! `baton dev` runs a one-node cluster that keeps its data across restarts.

mod common;

use common::{Cluster, app_json, baton_bin, eventually, free_ports};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_and_exits_cleanly_keeping_every_acknowledged_write() {
    let mut cluster = Cluster::start(3).await;
    let (leader, _) = cluster.wait_for_leader(&cluster.ids()).await;

    // Writers keep the leader busy while it is told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, url, stop) = (
            cluster.http().clone(),
            cluster.url(leader, "/v2/apps"),
            Arc::clone(&stop),
        );
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("/drain/w{w}/a{n}");
                n += 1;
                let sent = http
                    .post(&url)
                    .body(app_json(&id))
                    .header("content-type", "application/json")
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => acknowledged.push(id),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = cluster.terminate(leader, Duration::from_secs(15));
    stop.store(true, Ordering::Relaxed);
    let status = status.expect("the node did not exit within 15 s of SIGTERM");
    assert!(status.success(), "SIGTERM exit status: {status:?}");

    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.expect("writer task"));
    }
    assert!(
        !acknowledged.is_empty(),
        "no write was acknowledged before SIGTERM"
    );
    let survivors: Vec<u64> = cluster.running();
    cluster.wait_for_leader(&survivors).await;
    for id in survivors {
        cluster.wait_for_apps_stale(id, &acknowledged).await;
    }
}

/// Kills the process when dropped, so a failing test leaves nothing running.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn baton_dev_runs_tasks_on_its_embedded_mesos_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = free_ports(4);
    let http_addr = format!("127.0.0.1:{}", ports[0]);
    let start = || {
        Command::new(baton_bin())
            .args(["dev", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--http", &http_addr])
            .args(["--grpc", &format!("127.0.0.1:{}", ports[1])])
            .args(["--peer", &format!("127.0.0.1:{}", ports[2])])
            .args(["--mesos-listen", &format!("127.0.0.1:{}", ports[3])])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Guard)
            .expect("start baton dev")
    };
    let client = reqwest::Client::new();
    let base = format!("http://{http_addr}");
    let mut dev = start();
    eventually(
        Duration::from_secs(20),
        "baton dev to accept a write",
        || {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let r = client
                    .post(format!("{base}/v2/apps"))
                    .header("content-type", "application/json")
                    .body(app_json("/dev/hello"))
                    .send()
                    .await
                    .ok()?;
                (r.status() == 201).then_some(())
            }
        },
    )
    .await;
    // The embedded mesos-local runs the app's task as a real process.
    let running_task = |client: reqwest::Client, base: String| async move {
        let r = client
            .get(format!("{base}/v2/apps/dev/hello"))
            .send()
            .await
            .ok()?;
        let app: serde_json::Value = r.json().await.ok()?;
        let task = app["app"]["tasks"].get(0)?;
        (task["state"] == "TASK_RUNNING").then(|| task["id"].as_str().map(String::from))?
    };
    let first = eventually(Duration::from_secs(20), "the app's task to run", || {
        running_task(client.clone(), base.clone())
    })
    .await;
    let sandboxes = dir.path().join("data").join("mesos");
    assert!(
        sandboxes.exists(),
        "sandboxes live under the dev data folder"
    );
    common::signal(dev.0.id(), "-TERM");
    let status = dev.0.wait().expect("wait for baton dev");
    assert!(status.success(), "baton dev exit status: {status:?}");

    let dev = start();
    let app: serde_json::Value =
        eventually(Duration::from_secs(20), "the app after a restart", || {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let r = client
                    .get(format!("{base}/v2/apps/dev/hello"))
                    .send()
                    .await
                    .ok()?;
                if r.status() != 200 {
                    return None;
                }
                r.json().await.ok()
            }
        })
        .await;
    assert_eq!(app["app"]["id"], "/dev/hello");
    // The restarted mesos-local starts empty: reconciliation finds the old task gone and the
    // instance is replaced by a new task.
    let second = eventually(Duration::from_secs(30), "a replacement task to run", || {
        let (client, base, first) = (client.clone(), base.clone(), first.clone());
        async move { running_task(client, base).await.filter(|id| *id != first) }
    })
    .await;
    assert_ne!(second, first);
    drop(dev);
}

/// A node gives memory back promptly: it runs without transparent huge pages and with
/// mimalloc's purge delay shortened (set by re-executing itself, so the pid stays the one
/// its parent started).
#[tokio::test]
async fn a_node_runs_without_huge_pages_and_with_a_short_purge_delay() {
    let cluster = Cluster::start(1).await;
    let pid = cluster.node(1).pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("its status");
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["THP_enabled:", "0"]),
        "transparent huge pages still enabled:\n{status}"
    );
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("its environment");
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|var| var == b"MIMALLOC_PURGE_DELAY=10"),
        "no MIMALLOC_PURGE_DELAY=10 in the node's environment"
    );
}
