//! The event stream on three real nodes: a follower serves `/v2/events` from its own applied
//! log while an app is created, changed and deleted through another node, and a gRPC `Watch`
//! resumed from an index returns exactly the events a live watcher saw from there on.

mod common;

use baton::proto::v1::event_service_client::EventServiceClient;
use baton::proto::v1::{Event, WatchRequest};
use common::Cluster;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::Code;
use tonic::transport::Endpoint;

const WAIT: Duration = Duration::from_secs(30);

/// Reads SSE frames off a streaming body and sends `(event, data)` pairs on.
async fn read_frames(response: reqwest::Response, frames: mpsc::UnboundedSender<(String, Value)>) {
    common::read_sse(response, |kind, data| {
        let doc = serde_json::from_str(&data).expect("every data line is JSON");
        frames.send((kind, doc)).is_ok()
    })
    .await;
}

async fn next_frame(frames: &mut mpsc::UnboundedReceiver<(String, Value)>) -> (String, Value) {
    tokio::time::timeout(WAIT, frames.recv())
        .await
        .expect("a frame within the wait")
        .expect("the stream stays open")
}

/// The next frames' types, checking each carries its `eventType` and a millisecond timestamp.
async fn expect_frames(
    frames: &mut mpsc::UnboundedReceiver<(String, Value)>,
    kinds: &[&str],
) -> Vec<Value> {
    let mut docs = Vec::new();
    for want in kinds {
        let (kind, doc) = next_frame(frames).await;
        assert_eq!(kind, *want, "frame {doc}");
        assert_eq!(doc["eventType"], *want);
        let ts = doc["timestamp"].as_str().expect("timestamp");
        assert!(ts.ends_with('Z') && ts.len() == 24, "ISO-8601 millis: {ts}");
        docs.push(doc);
    }
    docs
}

async fn send_ok(cluster: &Cluster, method: Method, through: u64, path: &str, body: Value) {
    let (status, doc) = cluster
        .send_json(method, through, path, &body.to_string())
        .await
        .expect("an answer");
    assert!((200..300).contains(&status), "{path}: {status} {doc}");
}

async fn collect(stream: &mut tonic::Streaming<Event>, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        let next = tokio::time::timeout(WAIT, stream.message()).await;
        out.push(next.expect("an event in time").expect("ok").expect("open"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_streams_marathon_events_and_grpc_watch_resumes() {
    let mut cluster = Cluster::start(3).await;
    let (leader, _) = cluster.wait_for_leader(&[1, 2, 3]).await;
    let follower = (1..=3).find(|&id| id != leader).expect("a follower");
    let writer = (1..=3)
        .find(|&id| id != follower && id != leader)
        .expect("a third node");

    let grpc = Endpoint::from_shared(format!("http://{}", cluster.node(follower).grpc))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    let mut watcher = EventServiceClient::new(grpc.clone());
    let mut live = watcher
        .watch(WatchRequest {
            from_index: 0,
            event_types: vec![],
        })
        .await
        .expect("watch")
        .into_inner();

    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let refused = http
        .get(cluster.url(follower, "/v2/events"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status().as_u16(), 406);
    let url = cluster.url(
        follower,
        "/v2/events?event_type=api_post_event&event_type=deployment_info,deployment_success\
         &event_type=app_terminated_event",
    );
    let response = http
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("subscribed");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    // Served by the follower itself, never proxied to the leader.
    assert!(response.headers().get("x-marathon-leader").is_none());
    let (tx, mut frames) = mpsc::unbounded_channel();
    tokio::spawn(read_frames(response, tx));

    // Created: a start step and a scale step.
    let app = json!({"id": "/ev/web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "instances": 0});
    send_ok(&cluster, Method::POST, writer, "/v2/apps", app).await;
    let docs = expect_frames(
        &mut frames,
        &[
            "api_post_event",
            "deployment_info",
            "deployment_info",
            "deployment_success",
        ],
    )
    .await;
    assert_eq!(docs[0]["uri"], "/v2/apps/ev/web");
    assert_eq!(docs[0]["appDefinition"]["id"], "/ev/web");
    assert_eq!(docs[0]["appDefinition"]["cmd"], "sleep 1000");
    let plan_id = docs[1]["plan"]["id"].clone();
    assert!(plan_id.is_string());
    assert_eq!(
        docs[1]["currentStep"]["actions"][0]["action"],
        "StartApplication"
    );
    assert_eq!(docs[1]["currentStep"]["actions"][0]["app"], "/ev/web");
    assert_eq!(
        docs[2]["currentStep"]["actions"][0]["action"],
        "ScaleApplication"
    );
    assert_eq!(docs[3]["id"], plan_id);

    // The live watcher saw the creation too, up to its deployment_success; a resume starts
    // after it.
    let mut creation = Vec::new();
    while !creation
        .iter()
        .any(|e: &Event| e.event_type == "deployment_success")
    {
        creation.extend(collect(&mut live, 1).await);
    }
    assert_eq!(creation[0].event_type, "api_post_event");
    let resume_from = creation.last().expect("events").index + 1;

    // Changed: a restart.
    let changed = json!({"cmd": "sleep 2000", "instances": 0});
    send_ok(&cluster, Method::PUT, writer, "/v2/apps/ev/web", changed).await;
    let docs = expect_frames(
        &mut frames,
        &["api_post_event", "deployment_info", "deployment_success"],
    )
    .await;
    assert_eq!(docs[0]["appDefinition"]["cmd"], "sleep 2000");
    assert_eq!(
        docs[1]["currentStep"]["actions"][0]["action"],
        "RestartApplication"
    );

    // Deleted: stopped, then terminated.
    send_ok(
        &cluster,
        Method::DELETE,
        writer,
        "/v2/apps/ev/web",
        Value::Null,
    )
    .await;
    let docs = expect_frames(
        &mut frames,
        &[
            "deployment_info",
            "app_terminated_event",
            "deployment_success",
        ],
    )
    .await;
    assert_eq!(
        docs[0]["currentStep"]["actions"][0]["action"],
        "StopApplication"
    );
    assert_eq!(docs[1]["appId"], "/ev/web");

    // The live watcher's events since `resume_from`, up to the delete's deployment_success.
    let mut missed = Vec::new();
    while !missed
        .iter()
        .any(|e: &Event| e.event_type == "deployment_success" && e.json.contains("StopApplication"))
    {
        missed.extend(collect(&mut live, 1).await);
    }
    assert!(missed.iter().all(|e| e.index >= resume_from));
    let types: Vec<&str> = missed.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types.first(), Some(&"api_post_event"), "{types:?}");

    // A watcher that resumes there gets exactly the same events, from any node.
    for node in [follower, leader] {
        let channel = Endpoint::from_shared(format!("http://{}", cluster.node(node).grpc))
            .expect("endpoint")
            .connect_lazy();
        let mut resumed = EventServiceClient::new(channel)
            .watch(WatchRequest {
                from_index: resume_from,
                event_types: vec![],
            })
            .await
            .expect("resume")
            .into_inner();
        assert_eq!(
            collect(&mut resumed, missed.len()).await,
            missed,
            "node {node}"
        );
    }

    // Filtered by type, over gRPC too.
    let mut deployments_only = EventServiceClient::new(grpc.clone())
        .watch(WatchRequest {
            from_index: resume_from,
            event_types: vec!["deployment_success".into()],
        })
        .await
        .expect("resume")
        .into_inner();
    let successes = collect(&mut deployments_only, 2).await;
    assert!(
        successes
            .iter()
            .all(|e| e.event_type == "deployment_success")
    );

    // A restarted node holds only what it applied since: an older index is refused.
    cluster.kill(follower);
    cluster.restart(follower).await;
    let channel = Endpoint::from_shared(format!("http://{}", cluster.node(follower).grpc))
        .expect("endpoint")
        .connect_lazy();
    let refused = EventServiceClient::new(channel)
        .watch(WatchRequest {
            from_index: 1,
            event_types: vec![],
        })
        .await
        .expect_err("index 1 is gone");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().starts_with("events before index "),
        "{}",
        refused.message()
    );
}
