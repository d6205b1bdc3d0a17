//! Refusals: revision conflicts (gRPC ABORTED), malformed JSON (400), invalid definitions (422,
//! Marathon's body), existing ids (409) change nothing; a bad config exits 2 naming each problem.

mod common;

use baton::proto::v1::{
    Consistency, CreateAppRequest, DeleteAppRequest, GetAppRequest, ListAppsRequest,
    UpdateAppRequest,
};
use common::{Cluster, app_json, baton_bin, free_ports};
use serde_json::Value;
use std::process::Command;

/// Every app's (id, revision, version) through node `id`, linearizably.
async fn snapshot_of_apps(cluster: &Cluster, id: u64) -> Vec<(String, u64, String)> {
    let mut apps: Vec<_> = cluster
        .apps(id)
        .list_apps(ListAppsRequest {
            consistency: Consistency::Linearizable as i32,
            prefix: String::new(),
        })
        .await
        .expect("list apps")
        .into_inner()
        .apps
        .into_iter()
        .map(|a| (a.id, a.revision, a.version))
        .collect();
    apps.sort();
    apps
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_and_bad_requests_are_refused_and_change_nothing() {
    let cluster = Cluster::start(3).await;
    let all = cluster.ids();
    let (leader, _) = cluster.wait_for_leader(&all).await;
    let follower = *all.iter().find(|&&id| id != leader).expect("a follower");

    let first = cluster.create_app(leader, "/shop/cart").await;
    cluster.create_app(leader, "/shop/pay").await;
    let mut apps = cluster.apps(follower);
    let second = apps
        .update_app(UpdateAppRequest {
            id: "/shop/cart".into(),
            definition_json: r#"{"cmd":"sleep 2"}"#.into(),
            expected_revision: first.revision,
            request_id: String::new(),
            create_if_missing: false,
            force: true,
        })
        .await
        .expect("an update at the current revision")
        .into_inner();
    assert_eq!(second.revision, first.revision + 1);
    let before = snapshot_of_apps(&cluster, follower).await;

    // A stale expected_revision is a conflict (through a follower, so also after forwarding).
    for (through, expected) in [(follower, first.revision), (leader, 7)] {
        let status = cluster
            .apps(through)
            .update_app(UpdateAppRequest {
                id: "/shop/cart".into(),
                definition_json: r#"{"cmd":"sleep 3"}"#.into(),
                expected_revision: expected,
                request_id: String::new(),
                create_if_missing: false,
                force: true,
            })
            .await
            .expect_err("an update at a stale revision");
        assert_eq!(status.code(), tonic::Code::Aborted, "{status:?}");
        let status = cluster
            .apps(through)
            .delete_app(DeleteAppRequest {
                id: "/shop/cart".into(),
                expected_revision: expected,
                request_id: String::new(),
                force: true,
            })
            .await
            .expect_err("a delete at a stale revision");
        assert_eq!(status.code(), tonic::Code::Aborted, "{status:?}");
    }
    let cart = cluster
        .apps(leader)
        .get_app(GetAppRequest {
            id: "/shop/cart".into(),
            consistency: Consistency::Linearizable as i32,
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(cart.revision, second.revision);
    assert_eq!(cart.definition_json, second.definition_json);

    // An existing id: 409 over REST, ALREADY_EXISTS over gRPC.
    for id in [leader, follower] {
        let response = cluster
            .http()
            .post(cluster.url(id, "/v2/apps"))
            .header("content-type", "application/json")
            .body(app_json("/shop/pay"))
            .send()
            .await
            .expect("POST");
        assert_eq!(
            response.status(),
            409,
            "POST of an existing id through node {id}"
        );
        let body: Value = response.json().await.expect("json body");
        assert!(body["message"].is_string(), "{body}");
    }
    let status = cluster
        .apps(follower)
        .create_app(CreateAppRequest {
            definition_json: app_json("/shop/pay"),
            request_id: String::new(),
            force: true,
        })
        .await
        .expect_err("create of an existing id");
    assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status:?}");

    // Malformed JSON: 400 "Invalid JSON" with details, for POST and PUT, on leader and follower.
    let malformed = [
        r#"{"id": "/shop/broken", "cmd": "#,
        "not json",
        r#"{"id": 5}"#,
    ];
    for id in [leader, follower] {
        for body in malformed {
            for (method, path) in [("POST", "/v2/apps"), ("PUT", "/v2/apps/shop/broken")] {
                let request = match method {
                    "POST" => cluster.http().post(cluster.url(id, path)),
                    _ => cluster.http().put(cluster.url(id, path)),
                };
                let response = request
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(
                    response.status(),
                    400,
                    "{method} {path} {body:?} via node {id}"
                );
                let doc: Value = response.json().await.expect("json error body");
                assert_eq!(doc["message"], "Invalid JSON", "{doc}");
                assert!(doc["details"].is_array(), "{doc}");
            }
        }
    }

    // Invalid definitions: 422 "Object is not valid" with {path, errors} details.
    let invalid = [
        (r#"{"id":"/shop/bad","cmd":"sleep 1","cpus":0}"#, "/cpus"),
        (r#"{"id":"/shop/bad","cmd":"sleep 1","mem":-5}"#, "/mem"),
    ];
    for id in [leader, follower] {
        for (body, path) in invalid {
            let response = cluster
                .http()
                .post(cluster.url(id, "/v2/apps"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("POST");
            assert_eq!(response.status(), 422, "{body} via node {id}");
            let doc: Value = response.json().await.expect("json error body");
            assert_eq!(doc["message"], "Object is not valid", "{doc}");
            let details = doc["details"].as_array().expect("details array");
            assert!(
                details
                    .iter()
                    .any(|d| d["path"] == path
                        && d["errors"].as_array().is_some_and(|e| !e.is_empty())),
                "422 details name {path}: {doc}"
            );
        }
        // An invalid update of an existing app is refused the same way.
        let response = cluster
            .http()
            .put(cluster.url(id, "/v2/apps/shop/cart"))
            .header("content-type", "application/json")
            .body(r#"{"cpus":0}"#)
            .send()
            .await
            .expect("PUT");
        assert_eq!(response.status(), 422, "invalid PUT via node {id}");
    }
    let status = cluster
        .apps(follower)
        .create_app(CreateAppRequest {
            definition_json: r#"{"id":"/shop/bad","cmd":"sleep 1","cpus":0}"#.into(),
            request_id: String::new(),
            force: true,
        })
        .await
        .expect_err("gRPC create of an invalid app");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");

    // Nothing changed: same apps, same revisions and versions, on every node.
    for &id in &all {
        assert_eq!(snapshot_of_apps(&cluster, id).await, before, "node {id}");
    }
}

#[test]
fn bad_config_exits_2_naming_every_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = free_ports(6);
    let config = format!(
        r#"[node]
id = 1
data_dir = {data:?}
peer_listen = "127.0.0.1:{p0}"
grpc_listen = "127.0.0.1:{p1}"
http_listen = "127.0.0.1:{p2}"
colour = "blue"

[[members]]
id = 1
peer = "127.0.0.1:{p0}"
grpc = "127.0.0.1:{p1}"
http = "127.0.0.1:{p2}"

[[members]]
id = 1
peer = "127.0.0.1:{p3}"
grpc = "127.0.0.1:{p4}"
http = "127.0.0.1:{p5}"

[raft]
election_timeout_min_ms = 500
election_timeout_max_ms = 400
"#,
        data = dir.path().join("data").display().to_string(),
        p0 = p[0],
        p1 = p[1],
        p2 = p[2],
        p3 = p[3],
        p4 = p[4],
        p5 = p[5],
    );
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, config).expect("write config");
    let output = Command::new(baton_bin())
        .arg("node")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run baton node");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code; stderr:\n{stderr}"
    );
    for problem in [
        "unknown key `node.colour`",
        "duplicate member id 1",
        "`raft.election_timeout_min_ms` (500) must be less than `raft.election_timeout_max_ms` (400)",
    ] {
        assert!(
            stderr.contains(problem),
            "stderr names {problem:?}:\n{stderr}"
        );
    }
    assert!(
        !dir.path().join("data").join("raft-log.redb").exists(),
        "a refused config starts nothing"
    );
}
