//! A node whose data folder was wiped rejoins through a snapshot: the leader has purged the log
//! behind its snapshot, so only an InstallSnapshot can bring the empty node up to date.

mod common;

use baton::proto::v1::{Consistency, CreateAppRequest, Role};
use common::{CATCH_UP_WAIT, Cluster, RaftSettings, eventually};
use std::time::{Duration, Instant};

/// The leader snapshots every 50 entries and keeps almost no log behind a snapshot.
const SNAPSHOT_EVERY: u64 = 50;
/// openraft purges the log in batches of this many entries (`purge_batch_size` in src/raft).
const PURGE_BATCH: u64 = 256;

#[tokio::test(flavor = "multi_thread")]
async fn wiped_node_rejoins_through_a_snapshot() {
    let settings = RaftSettings {
        snapshot_logs_since_last: Some(SNAPSHOT_EVERY),
        max_in_snapshot_log_to_keep: Some(0),
        ..RaftSettings::default()
    };
    let mut cluster = Cluster::configure(3, settings.clone());
    // The node to be wiped never builds a snapshot of its own (its threshold is out of reach),
    // so a snapshot file in its folder can only have come from the leader.
    let never = RaftSettings {
        snapshot_logs_since_last: Some(1_000_000),
        ..settings
    };
    let all = cluster.ids();
    for &id in &all {
        cluster.spawn(id);
    }
    for &id in &all {
        cluster.wait_serving(id).await;
    }
    let (leader, _) = cluster.wait_for_leader(&all).await;
    let wiped = *all.iter().find(|&&id| id != leader).expect("a follower");
    let others: Vec<u64> = all.iter().copied().filter(|&id| id != wiped).collect();

    let mut apps: Vec<String> = (0..20).map(|i| format!("/early/app-{i}")).collect();
    cluster.create_apps(&all, &apps).await;
    cluster.wait_for_apps_stale(wiped, &apps).await;

    cluster.kill(wiped);
    cluster.wipe(wiped);
    cluster.write_config_with(wiped as usize - 1, all.len(), &never);

    // Enough log entries for the leader to snapshot (several times) and purge its log: openraft
    // purges in batches of `purge_batch_size` (256) entries. Writes go one at a time, so each is
    // an entry of its own even if the leader batches concurrent writes; the leader's applied
    // index says when there are enough.
    let (leader, _) = cluster.wait_for_leader(&others).await;
    let start = cluster
        .status(leader)
        .await
        .expect("leader status")
        .last_applied_index;
    let target = start + PURGE_BATCH + 2 * SNAPSHOT_EVERY;
    let mut clients: Vec<_> = others.iter().map(|&id| cluster.apps(id)).collect();
    let mut i = 0usize;
    loop {
        let app = format!("/late/app-{i}");
        let client = &mut clients[i % others.len()];
        client
            .create_app(CreateAppRequest {
                definition_json: common::app_json(&app),
                request_id: String::new(),
                force: true,
            })
            .await
            .unwrap_or_else(|s| panic!("creating {app}: {s:?}"));
        apps.push(app);
        i += 1;
        if i.is_multiple_of(50) {
            let applied = cluster
                .status(leader)
                .await
                .map_or(0, |s| s.last_applied_index);
            if applied >= target {
                break;
            }
        }
    }
    let (leader, term) = cluster.wait_for_leader(&others).await;
    let leader_snapshot = cluster.node(leader).data_dir.join("snapshot.bin");
    eventually(CATCH_UP_WAIT, "the leader's snapshot", || {
        let leader_snapshot = leader_snapshot.clone();
        async move { leader_snapshot.exists().then_some(()) }
    })
    .await;
    let leader_applied = cluster
        .status(leader)
        .await
        .expect("leader status")
        .last_applied_index;

    // Restart the wiped node with its usual config (no --join) and watch its applied index.
    cluster.restart(wiped).await;
    let mut applied_seen = Vec::new();
    let deadline = Instant::now() + CATCH_UP_WAIT;
    loop {
        if let Some(s) = cluster.status(wiped).await {
            if applied_seen.last() != Some(&s.last_applied_index) {
                applied_seen.push(s.last_applied_index);
            }
            if s.last_applied_index >= leader_applied {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "wiped node stuck; applied indexes seen {applied_seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("applied indexes of the wiped node: {applied_seen:?} (leader at {leader_applied})");

    cluster.wait_for_apps_stale(wiped, &apps).await;
    let held = cluster
        .app_ids(wiped, Consistency::Stale)
        .await
        .expect("stale list");
    assert_eq!(
        held.len(),
        apps.len(),
        "the wiped node holds exactly the cluster's apps"
    );
    assert!(
        cluster.node(wiped).data_dir.join("snapshot.bin").exists(),
        "the wiped node's data came through a snapshot, so it keeps that snapshot"
    );
    let first_applied = applied_seen.iter().copied().find(|&i| i > 1).unwrap_or(0);
    assert!(
        first_applied >= SNAPSHOT_EVERY,
        "the applied index jumped to a snapshot, not one entry at a time: {applied_seen:?}"
    );

    // It is a full member again: it follows the leader and its writes are forwarded.
    let status = cluster.status(wiped).await.expect("status");
    assert_eq!(status.role, Role::Follower as i32, "{status:?}");
    assert!(status.term >= term);
    cluster.create_app(wiped, "/after/rejoin").await;
    for &id in &all {
        cluster.wait_for_app_stale(id, "/after/rejoin").await;
    }
}
