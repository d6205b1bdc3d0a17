//! SIGSTOP of the leader (a pause, not a crash): the others elect a new leader, and the paused
//! node, once continued, never reports itself leader of its stale term; it soon follows the new
//! leader and forwards the writes sent to it.

mod common;

use baton::proto::v1::{Role, StatusReply, StatusRequest};
use common::{CATCH_UP_WAIT, Cluster, app_json};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn paused_leader_does_not_act_as_leader_when_continued() {
    let cluster = Cluster::start(3).await;
    let all = cluster.ids();
    let (old_leader, old_term) = cluster.wait_for_leader(&all).await;
    let others: Vec<u64> = all.iter().copied().filter(|&id| id != old_leader).collect();
    cluster.create_app(old_leader, "/before/pause").await;

    // A connection to the old leader opened before the pause, so that the first status call is
    // already queued in its socket when it is continued.
    let mut client = cluster.cluster_client(old_leader);
    let before = client
        .status(StatusRequest {})
        .await
        .expect("status before the pause")
        .into_inner();
    assert_eq!(before.role, Role::Leader as i32);

    cluster.pause(old_leader);
    let (new_leader, new_term) = cluster.wait_for_leader(&others).await;
    assert!(new_term > old_term, "new term {new_term} after {old_term}");
    cluster.create_app(new_leader, "/during/pause").await;

    // Status calls queued while it is stopped, then continued: poll as fast as it answers.
    let mut queued = Vec::new();
    for _ in 0..4 {
        let mut c = client.clone();
        queued.push(tokio::spawn(
            async move { c.status(StatusRequest {}).await },
        ));
    }
    tokio::time::sleep(Duration::from_millis(50)).await; // let the calls reach the socket
    cluster.resume(old_leader);
    let mut replies: Vec<StatusReply> = Vec::new();
    for call in queued {
        if let Ok(Ok(r)) = call.await {
            replies.push(r.into_inner());
        }
    }
    let deadline = Instant::now() + CATCH_UP_WAIT;
    let follows = |s: &StatusReply| {
        s.leader_id != 0
            && s.leader_id != old_leader
            && s.term >= new_term
            && s.role == Role::Follower as i32
    };
    loop {
        let s = client
            .status(StatusRequest {})
            .await
            .expect("status after the pause")
            .into_inner();
        let done = follows(&s);
        replies.push(s);
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the continued node never followed the new leader: {:?}",
            replies.last()
        );
    }
    eprintln!(
        "{} status replies after SIGCONT, the first: {:?}",
        replies.len(),
        replies
            .first()
            .map(|s| (Role::try_from(s.role), s.term, s.leader_id))
    );
    for s in &replies {
        assert!(
            !(s.role == Role::Leader as i32 && s.term <= new_term),
            "the continued node claimed leadership of term {} while node {new_leader} leads term {new_term}: {s:?}",
            s.term
        );
    }
    assert_eq!(replies.last().map(|s| s.leader_id), Some(new_leader));

    // It is a follower now: its writes are forwarded to the new leader, over gRPC and REST.
    let forwarded = cluster.create_app(old_leader, "/after/grpc").await;
    assert_eq!(forwarded.revision, 1);
    let response = cluster
        .http()
        .post(cluster.url(old_leader, "/v2/apps"))
        .header("content-type", "application/json")
        .body(app_json("/after/rest"))
        .send()
        .await
        .expect("POST through the continued node");
    assert_eq!(response.status(), 201);
    assert!(
        response.headers().contains_key("x-marathon-via"),
        "proxied: {:?}",
        response.headers()
    );
    for &id in &all {
        for app in [
            "/before/pause",
            "/during/pause",
            "/after/grpc",
            "/after/rest",
        ] {
            let got = cluster.get_app_linearizable(id, app).await;
            assert_eq!(got.id, app);
        }
    }
}
