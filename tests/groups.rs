//! `/v2/groups` and gRPC `GroupService` on three real nodes (no Mesos: a deployment of apps
//! with instances then never finishes, which holds its apps): nested groups with embeds, steps
//! in dependency order, cycles refused, `scaleBy`, deletion, versions and rollback, 409 until
//! forced, `dryRun`, and writes through a follower; and on a real mesos-local, an app is
//! launched only once what it depends on runs.

mod common;

use baton::proto::v1::group_service_client::GroupServiceClient;
use baton::proto::v1::{
    Consistency, DeleteGroupRequest, GetGroupRequest, GetGroupVersionRequest, GroupVersionsRequest,
    ListGroupsRequest, PutGroupRequest, RollbackGroupRequest, ScaleGroupRequest,
};
use common::mesos::MesosLocal;
use common::{Cluster, cli};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

async fn send(cluster: &Cluster, method: Method, path: &str, body: &Value) -> (u16, Value) {
    cluster.send_any(method, path, body, WAIT).await
}

async fn get(cluster: &Cluster, path: &str) -> Value {
    let (status, doc) = send(cluster, Method::GET, path, &Value::Null).await;
    assert_eq!(status, 200, "GET {path}: {doc}");
    doc
}

/// The deployment's steps as "Action /app" strings.
fn steps(deployment: &Value) -> Vec<Vec<String>> {
    deployment["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            s["actions"]
                .as_array()
                .expect("actions")
                .iter()
                .map(|a| {
                    format!(
                        "{} {}",
                        a["action"].as_str().unwrap(),
                        a["app"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .collect()
}

async fn deployment(cluster: &Cluster, id: &str) -> Option<Value> {
    let list = get(cluster, "/v2/deployments").await;
    list.as_array()?.iter().find(|d| d["id"] == id).cloned()
}

async fn instances(cluster: &Cluster, app: &str) -> Option<u64> {
    let (status, doc) = send(
        cluster,
        Method::GET,
        &format!("/v2/apps{app}"),
        &Value::Null,
    )
    .await;
    (status == 200).then(|| doc["app"]["instances"].as_u64().expect("instances"))
}

/// A shop: web depends on the back group; in it, api depends on db.
fn shop() -> Value {
    json!({
        "id": "/shop",
        "apps": [{"id": "web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 2,
                  "dependencies": ["/shop/back"]}],
        "groups": [{"id": "back", "apps": [
            {"id": "api", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "dependencies": ["../db"]},
            {"id": "db", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 3}
        ]}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_over_rest() {
    let cluster = Cluster::start(3).await;
    let all = cluster.ids();
    let (leader, _) = cluster.wait_for_leader(&all).await;

    // Create: 201, Location and the deployment header; the deployment steps by dependencies.
    let response = cluster
        .http()
        .post(cluster.url(leader, "/v2/groups"))
        .json(&shop())
        .send()
        .await
        .expect("POST /v2/groups");
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["location"], "/v2/groups/shop");
    let header = response.headers()["marathon-deployment-id"]
        .to_str()
        .unwrap()
        .to_string();
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["deploymentId"], header.as_str());
    assert!(created["version"].is_string());
    let plan = deployment(&cluster, &header)
        .await
        .expect("the deployment runs");
    assert_eq!(plan["affectedApps"].as_array().unwrap().len(), 3);
    assert_eq!(
        steps(&plan),
        vec![
            vec!["StartApplication /shop/back/db"],
            vec!["ScaleApplication /shop/back/db"],
            vec!["ScaleApplication /shop/back/api"],
            vec!["ScaleApplication /shop/web"],
        ]
    );
    let (status, doc) = send(&cluster, Method::POST, "/v2/groups", &shop()).await;
    assert_eq!(status, 409, "{doc}");

    // Get with the default embeds, nested; and with only the apps' tasks.
    let group = get(&cluster, "/v2/groups/shop").await;
    assert_eq!(group["id"], "/shop");
    assert_eq!(group["apps"][0]["id"], "/shop/web");
    assert_eq!(group["apps"][0]["dependencies"], json!(["/shop/back"]));
    assert_eq!(group["groups"][0]["id"], "/shop/back");
    let back_apps: Vec<&str> = group["groups"][0]["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(back_apps, ["/shop/back/api", "/shop/back/db"]);
    assert!(group["apps"][0].get("tasks").is_none());
    assert!(
        group.get("enforceRole").is_none(),
        "the Python client refuses it"
    );
    let tasks = get(
        &cluster,
        "/v2/groups/shop?embed=group.apps.tasks&embed=group.apps.counts",
    )
    .await;
    assert!(tasks.get("groups").is_none(), "{tasks}");
    assert_eq!(tasks["apps"][0]["tasks"], json!([]));
    assert_eq!(tasks["apps"][0]["tasksRunning"], 0);
    let root = get(&cluster, "/v2/groups").await;
    assert_eq!(root["id"], "/");
    assert_eq!(root["groups"][0]["id"], "/shop");
    let (status, doc) = send(&cluster, Method::GET, "/v2/groups/nope", &Value::Null).await;
    assert_eq!(
        (status, doc["message"].as_str()),
        (404, Some("Group '/nope' does not exist"))
    );
    let (status, _) = send(
        &cluster,
        Method::GET,
        "/v2/groups?embed=bogus",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 400);

    // The creation holds the apps (no Mesos, it never finishes): 409 until forced.
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/shop",
        &json!({"scaleBy": 1.5}),
    )
    .await;
    assert_eq!(status, 409, "{doc}");
    assert_eq!(doc["deployments"][0]["id"], header.as_str());
    assert_eq!(instances(&cluster, "/shop/back/db").await, Some(3));

    // dryRun: the plan, and nothing changes.
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/shop?dryRun=true",
        &json!({"scaleBy": 1.5}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(
        steps(&doc),
        vec![
            vec!["ScaleApplication /shop/back/db"],
            vec!["ScaleApplication /shop/back/api"],
            vec!["ScaleApplication /shop/web"],
        ]
    );
    assert_eq!(instances(&cluster, "/shop/back/db").await, Some(3));
    assert!(deployment(&cluster, &header).await.is_some());

    // scaleBy, forced: ceil(instances × 1.5); the old deployment is cancelled.
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/shop?force=true",
        &json!({"scaleBy": 1.5}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert!(deployment(&cluster, &header).await.is_none());
    assert_eq!(instances(&cluster, "/shop/back/db").await, Some(5));
    assert_eq!(instances(&cluster, "/shop/back/api").await, Some(2));
    assert_eq!(instances(&cluster, "/shop/web").await, Some(3));

    // Versions, newest first; the first one, and a rollback to it.
    let versions = get(&cluster, "/v2/groups/shop/versions").await;
    let versions: Vec<String> = serde_json::from_value(versions).expect("a list of versions");
    assert_eq!(versions.len(), 2);
    let first = versions[1].clone();
    let old = get(&cluster, &format!("/v2/groups/shop/versions/{first}")).await;
    assert_eq!(old["groups"][0]["apps"][1]["instances"], 3);
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/shop?force=true",
        &json!({"version": first}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(instances(&cluster, "/shop/back/db").await, Some(3));
    assert_eq!(instances(&cluster, "/shop/web").await, Some(2));
    let versions = get(&cluster, "/v2/groups/shop/versions").await;
    assert_eq!(versions.as_array().unwrap().len(), 3);

    // A cycle is refused with 422 and changes nothing.
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/cyc",
        &json!({"apps": [
            {"id": "a", "cmd": "sleep 1", "instances": 0, "dependencies": ["/cyc/b"]},
            {"id": "b", "cmd": "sleep 1", "instances": 0, "dependencies": ["/cyc/a"]}
        ]}),
    )
    .await;
    assert_eq!(status, 422, "{doc}");
    assert!(doc["message"].as_str().unwrap().contains("cyclic"), "{doc}");
    let (status, _) = send(&cluster, Method::GET, "/v2/groups/cyc", &Value::Null).await;
    assert_eq!(status, 404);

    // Bad bodies: 422 naming the path in the group document.
    let (status, doc) = send(
        &cluster,
        Method::POST,
        "/v2/groups",
        &json!({"id": "/bad", "groups": [{"id": "x", "apps": [{"id": "a", "cmd": "x", "mem": -1}]}]}),
    )
    .await;
    assert_eq!(status, 422, "{doc}");
    assert_eq!(doc["details"][0]["path"], "/groups(0)/apps(0)/mem", "{doc}");

    // An empty group exists; an update keeps what it leaves out.
    let (status, _) = send(
        &cluster,
        Method::POST,
        "/v2/groups",
        &json!({"id": "/empty"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(get(&cluster, "/v2/groups/empty").await["apps"], json!([]));
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/shop?force=true",
        &json!({"dependencies": ["/empty"]}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let group = get(&cluster, "/v2/groups/shop").await;
    assert_eq!(group["dependencies"], json!(["/empty"]));
    assert_eq!(group["groups"][0]["apps"].as_array().unwrap().len(), 2);

    // PATCH changes only enforceRole (true is not built yet), of a group that exists.
    let (status, doc) = send(
        &cluster,
        Method::PATCH,
        "/v2/groups/empty",
        &json!({"enforceRole": false}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let (status, doc) = send(
        &cluster,
        Method::PATCH,
        "/v2/groups/empty",
        &json!({"enforceRole": true}),
    )
    .await;
    assert_eq!(status, 422, "{doc}");
    assert_eq!(doc["details"][0]["path"], "/enforceRole", "{doc}");
    let (status, doc) = send(
        &cluster,
        Method::PATCH,
        "/v2/groups/empty",
        &json!({"apps": []}),
    )
    .await;
    assert_eq!(status, 422, "{doc}");
    let (status, _) = send(
        &cluster,
        Method::PATCH,
        "/v2/groups/none",
        &json!({"enforceRole": false}),
    )
    .await;
    assert_eq!(status, 404);

    // Delete: every app below goes, in one deployment.
    let (status, doc) = send(
        &cluster,
        Method::DELETE,
        "/v2/groups/shop?force=true",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let stop = deployment(&cluster, doc["deploymentId"].as_str().unwrap()).await;
    if let Some(stop) = stop {
        assert!(
            steps(&stop)[0]
                .iter()
                .all(|a| a.starts_with("StopApplication"))
        );
    }
    for app in ["/shop/web", "/shop/back/api", "/shop/back/db"] {
        assert_eq!(instances(&cluster, app).await, None, "{app} is gone");
    }
    let (status, _) = send(&cluster, Method::GET, "/v2/groups/shop", &Value::Null).await;
    assert_eq!(status, 404);
    assert_eq!(
        get(&cluster, "/v2/groups").await["groups"][0]["id"],
        "/empty"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_writes_through_a_follower_over_rest_and_grpc() {
    let cluster = Cluster::start(3).await;
    let all = cluster.ids();
    let (leader, _) = cluster.wait_for_leader(&all).await;
    let follower = *all.iter().find(|&&id| id != leader).expect("a follower");

    // REST through a follower: proxied to the leader.
    let body =
        json!({"id": "/f", "apps": [{"id": "a", "cmd": "sleep 1", "instances": 0}]}).to_string();
    let (status, doc) = cluster
        .send_json(Method::POST, follower, "/v2/groups", &body)
        .await
        .expect("an answer");
    assert_eq!(status, 201, "{doc}");
    let (status, doc) = cluster
        .send_json(Method::GET, follower, "/v2/groups/f", "")
        .await
        .expect("an answer");
    assert_eq!(status, 200);
    assert_eq!(doc["apps"][0]["id"], "/f/a");

    // gRPC through a follower: forwarded to the leader.
    let mut groups = GroupServiceClient::new(cluster.channel(follower));
    let put = groups
        .put_group(PutGroupRequest {
            id: "/g".into(),
            group_json: json!({"apps": [{"id": "x", "cmd": "sleep 1", "instances": 1}]})
                .to_string(),
            create: true,
            ..Default::default()
        })
        .await
        .expect("put through a follower")
        .into_inner();
    assert_eq!(put.id, "/g");
    assert!(!put.deployment_id.is_empty());
    let exists = groups
        .put_group(PutGroupRequest {
            id: "/g".into(),
            group_json: "{}".into(),
            create: true,
            ..Default::default()
        })
        .await
        .expect_err("the group exists");
    assert_eq!(exists.code(), tonic::Code::AlreadyExists);
    // The creation holds /g/x (no Mesos): refused until forced.
    let locked = groups
        .scale_group(ScaleGroupRequest {
            id: "/g".into(),
            scale_by: 3.0,
            ..Default::default()
        })
        .await
        .expect_err("locked");
    assert_eq!(locked.code(), tonic::Code::FailedPrecondition, "{locked:?}");
    groups
        .scale_group(ScaleGroupRequest {
            id: "/g".into(),
            scale_by: 3.0,
            force: true,
            ..Default::default()
        })
        .await
        .expect("forced scale");
    let plan = groups
        .put_group(PutGroupRequest {
            id: "/g".into(),
            group_json: json!({"scaleBy": 2}).to_string(),
            dry_run: true,
            ..Default::default()
        })
        .await
        .expect("dry run")
        .into_inner();
    let plan: Value = serde_json::from_str(&plan.steps_json).expect("steps json");
    assert_eq!(plan[0]["actions"][0]["action"], "ScaleApplication");
    let group = groups
        .get_group(GetGroupRequest {
            id: "/g".into(),
            consistency: Consistency::Linearizable as i32,
        })
        .await
        .expect("get")
        .into_inner();
    let doc: Value = serde_json::from_str(&group.group_json).expect("group json");
    assert_eq!(doc["apps"][0]["instances"], 3);
    let versions = groups
        .group_versions(GroupVersionsRequest {
            id: "/g".into(),
            consistency: Consistency::Linearizable as i32,
        })
        .await
        .expect("versions")
        .into_inner();
    assert_eq!(versions.versions.len(), 2);
    let first = versions.versions[1].clone();
    let old = groups
        .get_group_version(GetGroupVersionRequest {
            id: "/g".into(),
            version: first.clone(),
            consistency: Consistency::Linearizable as i32,
        })
        .await
        .expect("the first version")
        .into_inner();
    let old: Value = serde_json::from_str(&old.group_json).expect("group json");
    assert_eq!(old["apps"][0]["instances"], 1);
    groups
        .rollback_group(RollbackGroupRequest {
            id: "/g".into(),
            version: first,
            force: true,
            ..Default::default()
        })
        .await
        .expect("rollback");
    let listed = groups
        .list_groups(ListGroupsRequest {
            consistency: Consistency::Linearizable as i32,
        })
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<&str> = listed.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["/", "/f", "/g"]);
    let g: Value = serde_json::from_str(&listed.groups[2].group_json).expect("group json");
    assert_eq!(g["apps"][0]["instances"], 1, "rolled back");
    let deleted = groups
        .delete_group(DeleteGroupRequest {
            id: "/g".into(),
            force: true,
            ..Default::default()
        })
        .await
        .expect("delete")
        .into_inner();
    assert!(!deleted.deployment_id.is_empty());
    let gone = groups
        .get_group(GetGroupRequest {
            id: "/g".into(),
            consistency: Consistency::Linearizable as i32,
        })
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), tonic::Code::NotFound);
    let missing = groups
        .get_group(GetGroupRequest {
            id: "/none".into(),
            consistency: Consistency::Stale as i32,
        })
        .await
        .expect_err("no such group");
    assert_eq!(missing.code(), tonic::Code::NotFound);
}

/// The tasks of an app: (stagedAt, startedAt) each.
async fn task_times(cluster: &Cluster, app: &str) -> Vec<(String, Option<String>)> {
    let doc = get(cluster, &format!("/v2/apps{app}")).await;
    doc["app"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["stagedAt"].as_str().expect("stagedAt").to_string(),
                t["startedAt"].as_str().map(String::from),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_launches_only_once_its_dependencies_run() {
    let ml = MesosLocal::start(1).await;
    let (cluster, _) = Cluster::start_on_mesos(3, &ml.url, Vec::new()).await;
    // The one agent (8192 MB) fits only one db instance: db's step cannot finish.
    let db = |instances: u32| json!({"id": "db", "cmd": "sleep 1000", "cpus": 0.1, "mem": 5000, "instances": instances});
    let web = json!({"id": "web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
                     "dependencies": ["../db"]});
    let group = json!({"id": "/dep", "apps": [web, db(2)]});
    let (status, doc) = send(&cluster, Method::POST, "/v2/groups", &group).await;
    assert_eq!(status, 201, "{doc}");
    let plan = deployment(&cluster, doc["deploymentId"].as_str().unwrap())
        .await
        .expect("the deployment runs");
    ml.wait_framework("one db task running", WAIT, |f| f.running().len() == 1)
        .await;
    // Offers keep coming and are declined for db: web fits every one of them, yet waits.
    common::eventually(WAIT, "offers processed and declined for db", || async {
        let queue = get(&cluster, "/v2/queue").await;
        let item = queue["queue"]
            .as_array()?
            .iter()
            .find(|q| q["app"]["id"] == "/dep/db")?
            .clone();
        let summary = &item["processedOffersSummary"];
        let memory = summary["rejectSummaryLastOffers"]
            .as_array()?
            .iter()
            .find(|r| r["reason"] == "InsufficientMemory")?["declined"]
            .as_u64()?;
        (memory >= 1 && summary["processedOffersCount"].as_u64()? >= 3).then_some(())
    })
    .await;
    assert_eq!(task_times(&cluster, "/dep/web").await, vec![]);
    assert_eq!(ml.framework().await.tasks.len(), 1, "only db was launched");
    let current = deployment(&cluster, plan["id"].as_str().unwrap())
        .await
        .expect("still running");
    assert_eq!(current["currentActions"][0]["app"], "/dep/db");

    // db down to what fits: its step finishes, and web follows.
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/dep?force=true",
        &json!({"apps": [web, db(1)]}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    ml.wait_framework("db and web running", WAIT, |f| f.running().len() == 2)
        .await;
    let db_running = task_times(&cluster, "/dep/db").await[0]
        .1
        .clone()
        .expect("db runs");
    let web_staged = task_times(&cluster, "/dep/web").await[0].0.clone();
    assert!(
        web_staged >= db_running,
        "web {web_staged} before db {db_running}"
    );
}

/// The group's versions, newest first.
async fn group_versions(cluster: &Cluster, group: &str) -> Vec<String> {
    let path = if group == "/" {
        "/v2/groups/versions".to_string()
    } else {
        format!("/v2/groups{group}/versions")
    };
    serde_json::from_value(get(cluster, &path).await).expect("a list of versions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_writes_version_groups_and_group_rollbacks_restore_groups() {
    let cluster = Cluster::start(3).await;
    let all = cluster.ids();
    cluster.wait_for_leader(&all).await;

    // Every write through /v2/apps is a new version of each group above the app, root too.
    let app =
        |cmd: &str| json!({"id": "/vv/sub/a", "cmd": cmd, "cpus": 0.1, "mem": 16, "instances": 0});
    let (status, doc) = send(&cluster, Method::POST, "/v2/apps", &app("sleep 1")).await;
    assert_eq!(status, 201, "{doc}");
    let created = doc["version"].as_str().expect("version").to_string();
    assert_eq!(group_versions(&cluster, "/vv").await, vec![created.clone()]);
    assert_eq!(
        group_versions(&cluster, "/vv/sub").await,
        vec![created.clone()]
    );
    let root_before = group_versions(&cluster, "/").await;
    assert_eq!(root_before[0], created);
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/apps/vv/sub/a?force=true",
        &app("sleep 2"),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/apps?force=true",
        &json!([{"id": "/vv/b", "cmd": "sleep 3", "cpus": 0.1, "mem": 16, "instances": 0}]),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let (status, doc) = send(
        &cluster,
        Method::DELETE,
        "/v2/apps/vv/sub/a?force=true",
        &Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let versions = group_versions(&cluster, "/vv").await;
    assert_eq!(versions.len(), 4, "{versions:?}");
    assert_eq!(versions[3], created);
    assert_eq!(group_versions(&cluster, "/vv/sub").await.len(), 3);
    assert_eq!(
        group_versions(&cluster, "/").await.len(),
        root_before.len() + 3
    );
    assert_eq!(get(&cluster, "/v2/groups/vv").await["version"], versions[0]);
    // Each version is the group as that write left it.
    let old = get(&cluster, &format!("/v2/groups/vv/versions/{}", versions[2])).await;
    assert_eq!(old["groups"][0]["apps"][0]["cmd"], "sleep 2", "{old}");
    assert_eq!(old["apps"], json!([]));
    let now = get(&cluster, &format!("/v2/groups/vv/versions/{}", versions[0])).await;
    assert_eq!(now["apps"][0]["id"], "/vv/b");
    assert_eq!(now["groups"][0]["apps"], json!([]));

    // A cycle closed by a group's dependencies alone (no app changes) is refused.
    let (status, doc) = send(
        &cluster,
        Method::POST,
        "/v2/groups",
        &json!({"id": "/cy", "apps": [{"id": "a", "cmd": "sleep 1", "instances": 0, "dependencies": ["/cy/sub"]}],
                "groups": [{"id": "sub", "apps": [{"id": "b", "cmd": "sleep 1", "instances": 0}]}]}),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/cy/sub?force=true",
        &json!({"dependencies": ["/cy/a"]}),
    )
    .await;
    assert_eq!(status, 422, "{doc}");
    assert!(doc["message"].as_str().unwrap().contains("cyclic"), "{doc}");

    // Rolling back a group deployment puts the groups back too (no Mesos: it never ends).
    let (status, doc) = send(&cluster, Method::POST, "/v2/groups", &shop()).await;
    assert_eq!(status, 201, "{doc}");
    let before = get(&cluster, "/v2/groups/shop").await;
    let (status, doc) = send(
        &cluster,
        Method::PUT,
        "/v2/groups/shop?force=true",
        &json!({"dependencies": ["/cy"], "groups": [
            {"id": "new", "dependencies": ["/vv"], "apps": [{"id": "n", "cmd": "sleep 1", "instances": 1}]}
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let change = doc["deploymentId"]
        .as_str()
        .expect("deployment")
        .to_string();
    assert_eq!(
        get(&cluster, "/v2/groups/shop").await["groups"][0]["id"],
        "/shop/new"
    );
    let (status, doc) = send(
        &cluster,
        Method::DELETE,
        &format!("/v2/deployments/{change}"),
        &Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let after = get(&cluster, "/v2/groups/shop").await;
    assert_eq!(after["dependencies"], before["dependencies"], "{after}");
    let ids = |doc: &Value| -> Vec<String> {
        doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&after), ["/shop/back"]);
    assert_eq!(after["groups"][0]["apps"].as_array().unwrap().len(), 2);
    let (status, _) = send(&cluster, Method::GET, "/v2/groups/shop/new", &Value::Null).await;
    assert_eq!(status, 404);

    // The CLI: list, show, scale, delete through the gRPC GroupService.
    let (ok, out) = cli(&cluster, &["group", "list"]).await;
    assert!(ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("/shop/back\t") && l.contains("apps 2")),
        "{out}"
    );
    let (ok, out) = cli(&cluster, &["group", "list", "--json"]).await;
    assert!(ok, "{out}");
    let listed: Value = serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("json: {out}"));
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == "/vv/sub")
    );
    let (ok, out) = cli(&cluster, &["group", "show", "/shop"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("/shop/back/db\tinstances 3"), "{out}");
    assert!(
        out.contains("/shop/web\tinstances 2\tdepends on /shop/back"),
        "{out}"
    );
    let (ok, out) = cli(&cluster, &["group", "show", "/shop", "--json"]).await;
    assert!(ok, "{out}");
    let shown: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("json: {out}"));
    assert_eq!(shown["groups"][0]["id"], "/shop/back");
    let (ok, out) = cli(&cluster, &["group", "scale", "/shop", "--by", "2"]).await;
    assert!(!ok, "held by the rollback's deployment: {out}");
    let (ok, out) = cli(
        &cluster,
        &["group", "scale", "/shop", "--by", "2", "--force"],
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.starts_with("scaling /shop; deployment "), "{out}");
    assert_eq!(instances(&cluster, "/shop/back/db").await, Some(6));
    let (ok, out) = cli(&cluster, &["group", "scale", "/shop", "--by", "-1"]).await;
    assert!(!ok, "{out}");
    let (ok, out) = cli(&cluster, &["group", "show", "/nope"]).await;
    assert!(!ok && out.contains("does not exist"), "{out}");
    let (ok, out) = cli(&cluster, &["group", "delete", "/shop", "--force"]).await;
    assert!(ok, "{out}");
    assert!(out.starts_with("deleted /shop; deployment "), "{out}");
    let (status, _) = send(&cluster, Method::GET, "/v2/groups/shop", &Value::Null).await;
    assert_eq!(status, 404);
}
