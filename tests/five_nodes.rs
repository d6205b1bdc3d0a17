//! A five-node cluster keeps serving with two nodes down (the leader among them), and with three
//! down refuses writes with a clear "unavailable" (REST 503, gRPC UNAVAILABLE) within seconds.

mod common;

use baton::proto::v1::{Consistency, CreateAppRequest, Role};
use common::{Cluster, app_json, eventually};
use std::time::{Duration, Instant};

/// How fast a refusal must come: the product's own waits (a follower waits 2 s for a leader)
/// plus slack for a loaded machine; a hang is far longer.
const REFUSAL_WITHIN: Duration = Duration::from_secs(5);
/// An ambiguous write is answered after the product's 5 s write timeout, plus slack.
const AMBIGUOUS_WITHIN: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread")]
async fn five_nodes_serve_with_two_down_and_refuse_writes_with_three_down() {
    let mut cluster = Cluster::start(5).await;
    let all = cluster.ids();
    let (leader, _) = cluster.wait_for_leader(&all).await;
    cluster.create_app(leader, "/before").await;

    // Two down: the leader and one follower.
    let follower = *all.iter().find(|&&id| id != leader).expect("a follower");
    cluster.kill(leader);
    cluster.kill(follower);
    let live: Vec<u64> = all
        .iter()
        .copied()
        .filter(|&id| id != leader && id != follower)
        .collect();
    let (new_leader, _) = cluster.wait_for_leader(&live).await;

    // Every survivor takes writes (gRPC and REST) and reads everything back linearizably.
    let mut written = vec!["/before".to_string()];
    for &id in &live {
        let app = format!("/two-down/grpc-{id}");
        cluster.create_app(id, &app).await;
        written.push(app);
        let app = format!("/two-down/rest-{id}");
        let response = cluster
            .http()
            .post(cluster.url(id, "/v2/apps"))
            .header("content-type", "application/json")
            .body(app_json(&app))
            .send()
            .await
            .expect("POST with two nodes down");
        assert_eq!(response.status(), 201, "POST {app} through node {id}");
        written.push(app);
    }
    for &id in &live {
        let listed = cluster
            .app_ids(id, Consistency::Linearizable)
            .await
            .expect("linearizable list with two nodes down");
        for app in &written {
            assert!(listed.contains(app), "node {id} misses {app}: {listed:?}");
        }
    }

    // Three down: kill one more follower. The two left cannot form a quorum. The leader keeps
    // heartbeating the last follower, so no election happens: it stays leader in Raft's eyes,
    // and must itself stop acting as leader.
    let third = *live
        .iter()
        .find(|&&id| id != new_leader)
        .expect("a follower");
    cluster.kill(third);
    let quorum_lost_at = Instant::now();
    let left: Vec<u64> = live.iter().copied().filter(|&id| id != third).collect();

    // A write sent at once is never acknowledged, and is answered (at worst as "may have
    // committed" after the product's 5 s write timeout), not left hanging.
    let started = Instant::now();
    let response = cluster
        .http()
        .post(cluster.url(new_leader, "/v2/apps"))
        .header("content-type", "application/json")
        .body(app_json("/three-down/at-once"))
        .send()
        .await
        .expect("POST right after the quorum loss is answered");
    let (status, elapsed) = (response.status(), started.elapsed());
    eprintln!("write right after the quorum loss: {status} after {elapsed:?}");
    assert!(
        status == 503 || status == 504,
        "a write without quorum must fail, got {status}"
    );
    assert!(elapsed < AMBIGUOUS_WITHIN, "took {elapsed:?}");

    eventually(
        common::ELECTION_WAIT,
        "the leader to stop acting as leader",
        || {
            let cluster = &cluster;
            let left = &left;
            async move {
                for &id in left {
                    let s = cluster.status(id).await?;
                    if s.role == Role::Leader as i32 {
                        return None;
                    }
                }
                Some(())
            }
        },
    )
    .await;
    // From twice the maximum election timeout after its last quorum ack on, a leader refuses
    // writes at once (`quorum_timeout` in src/node.rs): the steady state asserted below.
    let settings = &cluster.raft;
    let refuse_from = quorum_lost_at + Duration::from_millis(2 * settings.election_timeout_max_ms);
    tokio::time::sleep_until((refuse_from + Duration::from_millis(200)).into()).await;

    for round in 0..2 {
        for &id in &left {
            let app = format!("/three-down/rest-{id}-{round}");
            let started = Instant::now();
            let response = cluster
                .http()
                .post(cluster.url(id, "/v2/apps"))
                .header("content-type", "application/json")
                .body(app_json(&app))
                .send()
                .await
                .expect("POST with three nodes down is answered");
            let elapsed = started.elapsed();
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            eprintln!("REST refusal through node {id}: {status} after {elapsed:?}");
            assert_eq!(
                status, 503,
                "POST through node {id} with three down: {body}"
            );
            assert!(
                elapsed < REFUSAL_WITHIN,
                "REST refusal through node {id} took {elapsed:?}"
            );
            let message: serde_json::Value = serde_json::from_str(&body).expect("JSON error body");
            assert!(message["message"].is_string(), "{body}");

            let app = format!("/three-down/grpc-{id}-{round}");
            let started = Instant::now();
            let result = cluster
                .apps(id)
                .create_app(CreateAppRequest {
                    definition_json: app_json(&app),
                    request_id: String::new(),
                    force: true,
                })
                .await;
            let elapsed = started.elapsed();
            let status = result.expect_err("a gRPC create with three nodes down must fail");
            eprintln!(
                "gRPC refusal through node {id}: {:?} after {elapsed:?}",
                status.code()
            );
            assert_eq!(
                status.code(),
                tonic::Code::Unavailable,
                "gRPC create through node {id} with three down: {status:?}"
            );
            assert!(
                elapsed < REFUSAL_WITHIN,
                "gRPC refusal through node {id} took {elapsed:?}"
            );
        }
    }

    // Stale reads still work on the two left; the refused writes changed nothing.
    for &id in &left {
        let listed = cluster
            .app_ids(id, Consistency::Stale)
            .await
            .expect("stale list");
        assert!(
            listed.iter().all(|a| !a.starts_with("/three-down")),
            "node {id} holds a refused write: {listed:?}"
        );
        for app in &written {
            assert!(listed.contains(app), "node {id} misses {app}");
        }
    }
}
