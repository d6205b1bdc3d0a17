//! Writes sent to a follower (gRPC and REST) are forwarded to the leader and read back
//! linearizably, at once, from every node; every node then serves them from its own state.

mod common;

use baton::proto::v1::{Consistency, CreateAppRequest, GetAppRequest, UpdateAppRequest};
use common::{Cluster, app_json};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn writes_through_a_follower_are_read_back_from_every_node() {
    let cluster = Cluster::start(3).await;
    let (leader, _) = cluster.wait_for_leader(&cluster.ids()).await;
    let follower = *cluster
        .ids()
        .iter()
        .find(|&&id| id != leader)
        .expect("a follower");
    let nodes = cluster.ids();

    // gRPC create through the follower.
    let created = cluster
        .apps(follower)
        .create_app(CreateAppRequest {
            definition_json: app_json("/grpc/web"),
            request_id: String::new(),
            force: true,
        })
        .await
        .expect("gRPC create through a follower")
        .into_inner();
    assert_eq!(created.id, "/grpc/web");
    assert_eq!(created.revision, 1);

    // REST create through the follower: proxied, and marked so.
    let response = cluster
        .http()
        .post(cluster.url(follower, "/v2/apps"))
        .header("content-type", "application/json")
        .body(app_json("/rest/api"))
        .send()
        .await
        .expect("REST create through a follower");
    assert_eq!(response.status(), 201, "POST /v2/apps through a follower");
    assert_eq!(
        response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("/v2/apps/rest/api")
    );
    assert!(
        response.headers().contains_key("x-marathon-via"),
        "a proxied answer names the follower in X-Marathon-Via: {:?}",
        response.headers()
    );
    let leader_http = format!("http://{}", cluster.node(leader).http);
    assert_eq!(
        response
            .headers()
            .get("x-marathon-leader")
            .map(|v| v.to_str().unwrap_or_default()),
        Some(leader_http.as_str()),
        "the leader marks its answer"
    );

    // Linearizable reads from every node see both writes at once (no waiting).
    for &id in &nodes {
        for app in ["/grpc/web", "/rest/api"] {
            let got = cluster.get_app_linearizable(id, app).await;
            assert_eq!(got.id, app, "node {id}");
            let doc: Value = serde_json::from_str(&got.definition_json).expect("definition json");
            assert_eq!(doc["cmd"], "sleep 1000", "node {id}: {doc}");
        }
        let response = cluster
            .http()
            .get(cluster.url(id, "/v2/apps"))
            .send()
            .await
            .expect("GET /v2/apps");
        assert_eq!(response.status(), 200, "GET /v2/apps on node {id}");
        let body: Value = response.json().await.expect("json");
        let mut ids: Vec<&str> = body["apps"]
            .as_array()
            .expect("apps array")
            .iter()
            .filter_map(|a| a["id"].as_str())
            .collect();
        ids.sort();
        assert_eq!(ids, ["/grpc/web", "/rest/api"], "node {id} lists both apps");
    }

    // An update through the follower is read back, with its new revision, from every node.
    let updated = cluster
        .apps(follower)
        .update_app(UpdateAppRequest {
            id: "/grpc/web".into(),
            definition_json: r#"{"cmd":"sleep 2000","cpus":0.2,"mem":64}"#.into(),
            expected_revision: 1,
            request_id: String::new(),
            create_if_missing: false,
            force: true,
        })
        .await
        .expect("gRPC update through a follower")
        .into_inner();
    assert_eq!(updated.revision, 2);
    for &id in &nodes {
        let got = cluster.get_app_linearizable(id, "/grpc/web").await;
        assert_eq!(got.revision, 2, "node {id} reads the update linearizably");
        let response = cluster
            .http()
            .get(cluster.url(id, "/v2/apps/grpc/web"))
            .send()
            .await
            .expect("GET /v2/apps/grpc/web");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["app"]["cmd"], "sleep 2000", "node {id}: {body}");
    }

    // Once applied everywhere, every node serves the same documents from its own state.
    let c = &cluster;
    for &id in &nodes {
        cluster.wait_for_app_stale(id, "/rest/api").await;
        let stale =
            common::eventually(common::CATCH_UP_WAIT, "the update applied", || async move {
                let app = c
                    .apps(id)
                    .get_app(GetAppRequest {
                        id: "/grpc/web".into(),
                        consistency: Consistency::Stale as i32,
                    })
                    .await
                    .ok()?
                    .into_inner();
                (app.revision == 2).then_some(app)
            })
            .await;
        assert_eq!(stale.definition_json, updated.definition_json, "node {id}");
        let mut ids = cluster
            .app_ids(id, Consistency::Stale)
            .await
            .expect("stale list");
        ids.sort();
        assert_eq!(ids, ["/grpc/web", "/rest/api"], "node {id}");
    }
}
