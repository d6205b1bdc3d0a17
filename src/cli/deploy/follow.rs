//! `baton app deploy`: the write, then its deployment followed through the event stream (or
//! by polling once the stream is lost), saying what it waits for when it makes no progress.

use super::progress::{DEPLOYMENT_EVENTS, Ending, Progress, actions, progress};
use super::queue::waiting_line;
use crate::cli::Client;
use crate::proto::v1::app_service_client::AppServiceClient;
use crate::proto::v1::event_service_client::EventServiceClient;
use crate::proto::v1::{
    Consistency, GetQueueRequest, ListDeploymentsRequest, UpdateAppRequest, WatchRequest,
};
use anyhow::Context;
use serde_json::Value;
use std::time::Duration;
use tonic::Streaming;

/// Without news of the deployment for this long, say what it waits for.
const QUIET_REPORT: Duration = Duration::from_secs(5);
/// How often a deployment is polled once the event stream is lost.
const POLL: Duration = Duration::from_millis(500);

/// `baton app deploy FILE`: creates or replaces the app, then (unless `no_wait`) follows its
/// deployment until it succeeds or fails, printing each step.
pub async fn app_deploy(
    client: &Client,
    definition_json: String,
    force: bool,
    no_wait: bool,
    json: bool,
) -> anyhow::Result<()> {
    let doc: Value = serde_json::from_str(&definition_json).context("the file is not JSON")?;
    let id = doc["id"]
        .as_str()
        .context("the app definition has no \"id\"")?
        .to_string();
    // Subscribed before the write, so no event of its deployment can be missed.
    let stream = if no_wait {
        None
    } else {
        let request = WatchRequest {
            from_index: 0,
            event_types: DEPLOYMENT_EVENTS.iter().map(|s| s.to_string()).collect(),
        };
        client
            .call(|c| {
                let request = request.clone();
                async move { EventServiceClient::new(c).watch(request).await }
            })
            .await
            .ok()
    };
    let request = UpdateAppRequest {
        id: id.clone(),
        definition_json,
        expected_revision: 0,
        request_id: uuid::Uuid::new_v4().to_string(),
        create_if_missing: true,
        force,
    };
    let app = apps_call!(client, update_app, request)?;
    let deployment = app.deployment_id.clone();
    if json {
        println!(
            "{}",
            serde_json::json!({"id": app.id, "version": app.version, "deploymentId": deployment})
        );
    } else {
        println!(
            "{}: version {}, deployment {deployment}",
            app.id, app.version
        );
    }
    if no_wait {
        return Ok(());
    }
    match follow(client, &deployment, &id, stream, json).await? {
        Ending::Succeeded => {
            if !json {
                println!("deployment {deployment} succeeded");
            }
            Ok(())
        }
        Ending::Gone => {
            if !json {
                println!("deployment {deployment} is no longer running");
            }
            Ok(())
        }
        Ending::Failed(reason) => anyhow::bail!("deployment {deployment} failed: {reason}"),
    }
}

/// Follows deployment `id` of `app` through the event stream (polling the deployments should
/// the stream be lost) until it ends.
async fn follow(
    client: &Client,
    id: &str,
    app: &str,
    stream: Option<Streaming<crate::proto::v1::Event>>,
    json: bool,
) -> anyhow::Result<Ending> {
    let mut step = 0;
    if let Some(mut stream) = stream {
        loop {
            let next = tokio::time::timeout(QUIET_REPORT, stream.message()).await;
            let event = match next {
                Err(_) => {
                    report_waiting(client, app, json).await;
                    continue;
                }
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) | Ok(Err(_)) => break,
            };
            let payload: Value = serde_json::from_str(&event.json).unwrap_or(Value::Null);
            let seen = progress(id, &event.event_type, &payload);
            if json && seen != Progress::Other {
                println!("{payload}");
            }
            match seen {
                Progress::Step { total, actions } => {
                    step += 1;
                    if !json {
                        println!("step {step}/{total}: {}", actions.join(", "));
                    }
                }
                Progress::StepDone { actions } if !json => {
                    println!("step {step} done: {}", actions.join(", "));
                }
                Progress::StepFailed { actions } if !json => {
                    println!("step {step} failed: {}", actions.join(", "));
                }
                Progress::Ended(ending) => return Ok(ending),
                _ => {}
            }
        }
        tracing::info!("the event stream was lost; polling the deployment");
    }
    let mut quiet = tokio::time::Instant::now();
    loop {
        let request = ListDeploymentsRequest {
            consistency: Consistency::Linearizable as i32,
        };
        let list = apps_call!(client, list_deployments, request)?;
        let Some(current) = list.deployments.iter().find(|d| d.id == id) else {
            return Ok(Ending::Gone);
        };
        let doc: Value = serde_json::from_str(&current.deployment_json).unwrap_or(Value::Null);
        let now_step = doc["currentStep"].as_u64().unwrap_or(0) as usize;
        if now_step != step {
            step = now_step;
            quiet = tokio::time::Instant::now();
            if json {
                println!("{doc}");
            } else {
                let total = doc["totalSteps"].as_u64().unwrap_or(0);
                let current = actions(&serde_json::json!({ "actions": doc["currentActions"] }));
                println!("step {step}/{total}: {}", current.join(", "));
            }
        } else if quiet.elapsed() >= QUIET_REPORT {
            quiet = tokio::time::Instant::now();
            report_waiting(client, app, json).await;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Says what the app waits for when its deployment makes no progress: the instances queued
/// and the reasons the last offers did not fit.
async fn report_waiting(client: &Client, app: &str, json: bool) {
    if json {
        return;
    }
    let Ok(queue) = apps_call!(client, get_queue, GetQueueRequest {}) else {
        return;
    };
    let items: Vec<Value> = queue
        .item_json
        .iter()
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect();
    let wanted = format!("/{}", app.trim_start_matches('/'));
    match items
        .iter()
        .find(|i| i["app"]["id"].as_str() == Some(&wanted))
    {
        Some(item) => println!("  waiting: {}", waiting_line(item)),
        None => println!("  waiting for instances to become running and healthy"),
    }
}
