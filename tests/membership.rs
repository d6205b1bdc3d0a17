//! Online membership change with the CLI: a fourth node started with `--join` is added with
//! `baton cluster add`, receives the data and serves as a voter, then `baton cluster remove`
//! takes it out while the cluster keeps serving.

mod common;

use baton::proto::v1::{Consistency, Role};
use common::{CATCH_UP_WAIT, Cluster, baton_bin, eventually};
use std::process::Output;

/// Runs `baton cluster …` against `endpoints` and returns its output.
async fn cli(endpoints: &str, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(baton_bin());
    // `--endpoints` belongs to `cluster`, so it goes before the subcommand.
    cmd.args(["cluster", "--endpoints", endpoints]).args(args);
    cmd.env_remove("BATON_ENDPOINTS");
    let output = tokio::time::timeout(std::time::Duration::from_secs(90), cmd.output())
        .await
        .expect("the CLI finishes")
        .expect("run baton cluster");
    assert!(
        output.status.success(),
        "baton cluster {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_add_and_remove_a_fourth_node_online() {
    let mut cluster = Cluster::start(3).await;
    let voters = cluster.ids();
    let (leader, _) = cluster.wait_for_leader(&voters).await;
    let apps: Vec<String> = (0..10).map(|i| format!("/before/app-{i}")).collect();
    cluster.create_apps(&voters, &apps).await;

    let new = cluster.add_joining_node();
    cluster.restart(new).await;
    let waiting = cluster
        .status(new)
        .await
        .expect("status of the joining node");
    assert_eq!(
        waiting.leader_id, 0,
        "a --join node waits to be added: {waiting:?}"
    );
    assert!(
        cluster
            .app_ids(new, Consistency::Stale)
            .await
            .expect("stale list")
            .is_empty(),
        "a --join node holds nothing before it is added"
    );

    let endpoints: String = voters
        .iter()
        .map(|&id| cluster.node(id).grpc.clone())
        .collect::<Vec<_>>()
        .join(",");
    let node = cluster.node(new);
    let id_arg = new.to_string();
    let added = cli(
        &endpoints,
        &[
            "add", "--id", &id_arg, "--peer", &node.peer, "--grpc", &node.grpc, "--http",
            &node.http,
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("{new} voter "))),
        "added as a voter: {stdout}"
    );

    // It receives the data, knows the leader, and is a voter in everyone's view.
    cluster.wait_for_apps_stale(new, &apps).await;
    let all = cluster.ids();
    let (leader_now, _) = cluster.wait_for_leader(&all).await;
    for &id in &all {
        let s = cluster.status(id).await.expect("status");
        let ids: Vec<(u64, bool)> = s.members.iter().map(|m| (m.id, m.voter)).collect();
        assert_eq!(
            ids,
            [(1, true), (2, true), (3, true), (4, true)],
            "node {id}: {s:?}"
        );
    }
    // It serves: writes through it are forwarded, reads through it are linearizable.
    cluster.create_app(new, "/through/new-node").await;
    for &id in &all {
        cluster.get_app_linearizable(id, "/through/new-node").await;
    }
    let status = cluster.status(new).await.expect("status");
    if leader_now != new {
        assert_eq!(status.role, Role::Follower as i32, "{status:?}");
    }

    // The JSON status of the CLI names four voters.
    let shown = cli(&endpoints, &["status", "--json"]).await;
    let doc: serde_json::Value =
        serde_json::from_slice(&shown.stdout).expect("`cluster status --json` prints JSON");
    assert_eq!(doc["members"].as_array().map(Vec::len), Some(4), "{doc}");

    // Remove it again; the three others carry on.
    let removed = cli(&endpoints, &["remove", "--id", &id_arg]).await;
    let stdout = String::from_utf8_lossy(&removed.stdout);
    assert!(
        stdout.lines().count() == 3 && !stdout.lines().any(|l| l.starts_with(&format!("{new} "))),
        "removed: {stdout}"
    );
    eventually(
        CATCH_UP_WAIT,
        "every voter to drop the removed node",
        || {
            let cluster = &cluster;
            let voters = &voters;
            async move {
                for &id in voters {
                    let s = cluster.status(id).await?;
                    if s.members.iter().any(|m| m.id == new) || s.members.len() != 3 {
                        return None;
                    }
                }
                Some(())
            }
        },
    )
    .await;
    cluster.kill(new);
    let (_, _) = cluster.wait_for_leader(&voters).await;
    cluster.create_app(leader, "/after/removal").await;
    for &id in &voters {
        cluster.get_app_linearizable(id, "/after/removal").await;
    }
}
