//! A follower far behind a leader that wrote large entries catches up. openraft gives one
//! AppendEntries one heartbeat interval and would put up to 300 entries in it; the log store
//! bounds it by encoded bytes instead, so each one arrives in time however far behind the
//! follower is (before, such a follower was sent the whole gap again and again and never caught
//! up: with both followers behind, the leader lost its quorum for good).

mod common;

use common::{Cluster, RaftSettings};

/// Apps written while the follower is down, each with a label of `LABEL_BYTES`: about 72 MB
/// in all, more than one peer message may carry (64 MiB), so sending the gap whole can never
/// succeed however fast the machine.
const APPS: usize = 72;
const LABEL_BYTES: usize = 1_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_far_behind_on_large_entries_catches_up() {
    // A heartbeat (the AppendEntries deadline) long enough for one large entry in a debug build.
    let raft = RaftSettings {
        heartbeat_interval_ms: 200,
        election_timeout_min_ms: 1500,
        election_timeout_max_ms: 3000,
        ..RaftSettings::default()
    };
    let mut cluster = Cluster::start_with(3, raft).await;
    let (leader, _) = cluster.wait_for_leader(&cluster.ids()).await;
    let follower = cluster
        .ids()
        .into_iter()
        .find(|&id| id != leader)
        .expect("a follower");
    cluster.kill(follower);

    let blob = "x".repeat(LABEL_BYTES);
    let mut last = String::new();
    for i in 0..APPS {
        last = format!("/catchup/a{i:03}");
        let body = serde_json::json!({
            "id": last,
            "cmd": "sleep 1000",
            "cpus": 0.1,
            "mem": 32,
            "instances": 0,
            "labels": { "blob": blob },
        })
        .to_string();
        let (status, answer) = cluster
            .send_json(reqwest::Method::POST, leader, "/v2/apps", &body)
            .await
            .expect("an answer from the leader");
        assert_eq!(status, 201, "POST {last}: {answer}");
    }

    cluster.restart(follower).await;
    // Entries apply in order: the last app there means the whole gap arrived.
    let app = cluster.wait_for_app_stale(follower, &last).await;
    assert_eq!(
        app["app"]["labels"]["blob"].as_str().map(str::len),
        Some(LABEL_BYTES)
    );
}
