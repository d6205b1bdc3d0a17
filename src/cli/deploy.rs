//! `baton app deploy`, `baton deploy …` and `baton queue`: deploying a definition and following
//! its deployment step by step, the running deployments, and the launch queue with the offer
//! funnel that says why instances are not launched.

use super::{CallError, Client};
use crate::proto::v1::app_service_client::AppServiceClient;
use crate::proto::v1::event_service_client::EventServiceClient;
use crate::proto::v1::{
    CancelDeploymentRequest, Consistency, GetQueueRequest, ListDeploymentsRequest,
    UpdateAppRequest, WatchRequest,
};
use anyhow::Context;
use clap::Subcommand;
use serde_json::Value;
use std::time::Duration;
use tonic::Streaming;

/// Without news of the deployment for this long, say what it waits for.
const QUIET_REPORT: Duration = Duration::from_secs(5);
/// How often a deployment is polled once the event stream is lost.
const POLL: Duration = Duration::from_millis(500);

/// The event types that tell a deployment's progress.
const DEPLOYMENT_EVENTS: [&str; 5] = [
    "deployment_info",
    "deployment_step_success",
    "deployment_step_failure",
    "deployment_success",
    "deployment_failed",
];

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Lists the running deployments.
    List {
        /// Read this node's own state instead of asking the leader.
        #[arg(long)]
        stale: bool,
    },
    /// Cancels a deployment as Marathon's DELETE does: rolled back by a new deployment to what
    /// its apps were before it; with --force only stopped, leaving apps where they are.
    Cancel {
        id: String,
        #[arg(long)]
        force: bool,
    },
    /// Rolls a deployment back: a new deployment takes its apps back to what they were.
    Rollback { id: String },
}

/// Calls `$method` of the app service on whichever node answers.
macro_rules! apps_call {
    ($client:expr, $method:ident, $request:expr) => {{
        let request = $request;
        $client
            .call(|c| {
                let request = request.clone();
                async move { AppServiceClient::new(c).$method(request).await }
            })
            .await
    }};
}

/// How a followed deployment ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Succeeded,
    Failed(String),
    /// The event stream was lost and the deployment is gone; how it ended is not known here.
    Gone,
}

/// What one event says about deployment `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Progress {
    /// A step started: its 1-based number (counted by the follower), total, and actions.
    Step {
        total: usize,
        actions: Vec<String>,
    },
    StepDone {
        actions: Vec<String>,
    },
    StepFailed {
        actions: Vec<String>,
    },
    Ended(Ending),
    /// About another deployment.
    Other,
}

fn actions(step: &Value) -> Vec<String> {
    step["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| {
                    format!(
                        "{} {}",
                        a["action"].as_str().unwrap_or("?"),
                        a["app"].as_str().or(a["pod"].as_str()).unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads one Marathon deployment event for deployment `id`.
fn progress(id: &str, event_type: &str, payload: &Value) -> Progress {
    let plan_id = payload["plan"]["id"].as_str().or(payload["id"].as_str());
    if plan_id != Some(id) {
        return Progress::Other;
    }
    let total = payload["plan"]["steps"].as_array().map_or(0, Vec::len);
    let current = actions(&payload["currentStep"]);
    match event_type {
        "deployment_info" => Progress::Step {
            total,
            actions: current,
        },
        "deployment_step_success" => Progress::StepDone { actions: current },
        "deployment_step_failure" => Progress::StepFailed { actions: current },
        "deployment_success" => Progress::Ended(Ending::Succeeded),
        "deployment_failed" => Progress::Ended(Ending::Failed(
            payload["reason"]
                .as_str()
                .unwrap_or("the deployment failed")
                .to_string(),
        )),
        _ => Progress::Other,
    }
}

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

/// `3 instance(s) to launch; last offers: InsufficientMemory 2/2` (or the backoff left).
fn waiting_line(item: &Value) -> String {
    let count = item["count"].as_u64().unwrap_or(0);
    let mut line = format!("{count} instance(s) to launch");
    let left = item["delay"]["timeLeftSeconds"].as_u64().unwrap_or(0);
    if left > 0 {
        line.push_str(&format!("; backed off for {left} s after failures"));
    }
    let reasons = reasons(item);
    if reasons.is_empty() {
        line.push_str("; no offer declined yet");
    } else {
        line.push_str(&format!("; last offers: {}", reasons.join(", ")));
    }
    line
}

/// The funnel reasons that declined some of the last offers: `Reason declined/processed`.
fn reasons(item: &Value) -> Vec<String> {
    item["processedOffersSummary"]["rejectSummaryLastOffers"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter(|s| s["declined"].as_u64().unwrap_or(0) > 0)
                .map(|s| {
                    format!(
                        "{} {}/{}",
                        s["reason"].as_str().unwrap_or("?"),
                        s["declined"].as_u64().unwrap_or(0),
                        s["processed"].as_u64().unwrap_or(0)
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn run_deploy(client: &Client, command: DeployCommand, json: bool) -> anyhow::Result<()> {
    match command {
        DeployCommand::List { stale } => {
            let consistency = if stale {
                Consistency::Stale
            } else {
                Consistency::Linearizable
            };
            let request = ListDeploymentsRequest {
                consistency: consistency as i32,
            };
            let list = apps_call!(client, list_deployments, request)?;
            let docs: Vec<Value> = list
                .deployments
                .iter()
                .map(|d| serde_json::from_str(&d.deployment_json))
                .collect::<Result<_, _>>()?;
            if json {
                println!("{}", Value::Array(docs));
                return Ok(());
            }
            for d in &docs {
                let apps: Vec<&str> = d["affectedApps"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let current = actions(&serde_json::json!({ "actions": d["currentActions"] }));
                println!(
                    "{}\tstep {}/{}\t{}\t{}",
                    d["id"].as_str().unwrap_or("?"),
                    d["currentStep"],
                    d["totalSteps"],
                    apps.join(","),
                    current.join(", ")
                );
            }
        }
        DeployCommand::Cancel { id, force } => cancel(client, id, force, json).await?,
        DeployCommand::Rollback { id } => cancel(client, id, false, json).await?,
    }
    Ok(())
}

async fn cancel(client: &Client, id: String, force: bool, json: bool) -> Result<(), CallError> {
    let request = CancelDeploymentRequest {
        id: id.clone(),
        force,
    };
    let reply = apps_call!(client, cancel_deployment, request)?;
    if json {
        println!(
            "{}",
            serde_json::json!({"id": id, "rollbackDeploymentId": reply.rollback_deployment_id, "version": reply.version})
        );
    } else if reply.rollback_deployment_id.is_empty() {
        println!("deployment {id} stopped");
    } else {
        println!(
            "deployment {id} cancelled; rolling back as deployment {} (version {})",
            reply.rollback_deployment_id, reply.version
        );
    }
    Ok(())
}

/// `baton queue`: the apps waiting to launch, with the funnel of why the last offers did not
/// fit (`--json`: Marathon's `{"queue": [...]}`).
pub async fn run_queue(client: &Client, json: bool) -> anyhow::Result<()> {
    let reply = apps_call!(client, get_queue, GetQueueRequest {})?;
    let items: Vec<Value> = reply
        .item_json
        .iter()
        .map(|j| serde_json::from_str(j))
        .collect::<Result<_, _>>()?;
    if json {
        println!("{}", serde_json::json!({ "queue": items }));
        return Ok(());
    }
    print!("{}", queue_table(&items));
    Ok(())
}

/// The queue as a table: app, instances waiting, backoff left, offers processed and unused,
/// and the reasons of the last offers in Marathon's funnel order.
fn queue_table(items: &[Value]) -> String {
    let mut rows = vec![[
        "APP".to_string(),
        "WAITING".to_string(),
        "DELAY".to_string(),
        "OFFERS".to_string(),
        "UNUSED".to_string(),
        "WHY NOT (last offers)".to_string(),
    ]];
    for item in items {
        let summary = &item["processedOffersSummary"];
        let left = item["delay"]["timeLeftSeconds"].as_u64().unwrap_or(0);
        let reasons = reasons(item);
        rows.push([
            item["app"]["id"].as_str().unwrap_or("?").to_string(),
            item["count"].as_u64().unwrap_or(0).to_string(),
            if left > 0 {
                format!("{left}s")
            } else {
                "-".into()
            },
            summary["processedOffersCount"]
                .as_u64()
                .unwrap_or(0)
                .to_string(),
            summary["unusedOffersCount"]
                .as_u64()
                .unwrap_or(0)
                .to_string(),
            if reasons.is_empty() {
                "-".into()
            } else {
                reasons.join(", ")
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(id: &str) -> Value {
        json!({"id": id, "steps": [
            {"actions": [{"action": "StartApplication", "app": "/web"}]},
            {"actions": [{"action": "ScaleApplication", "app": "/web"}]},
        ]})
    }

    #[test]
    fn deployment_events_are_read_for_the_followed_deployment_only() {
        let info = json!({"plan": plan("d1"), "currentStep": {"actions": [{"action": "ScaleApplication", "app": "/web"}]}});
        assert_eq!(
            progress("d1", "deployment_info", &info),
            Progress::Step {
                total: 2,
                actions: vec!["ScaleApplication /web".into()]
            }
        );
        assert_eq!(progress("d2", "deployment_info", &info), Progress::Other);
        assert_eq!(
            progress(
                "d1",
                "deployment_success",
                &json!({"id": "d1", "plan": plan("d1")})
            ),
            Progress::Ended(Ending::Succeeded)
        );
        assert_eq!(
            progress(
                "d1",
                "deployment_failed",
                &json!({"id": "d1", "reason": "cancelled"})
            ),
            Progress::Ended(Ending::Failed("cancelled".into()))
        );
    }

    #[test]
    fn the_queue_table_shows_the_reasons_of_the_last_offers() {
        let item = json!({
            "app": {"id": "/big"}, "count": 2,
            "delay": {"timeLeftSeconds": 0, "overdue": true},
            "processedOffersSummary": {
                "processedOffersCount": 6, "unusedOffersCount": 6,
                "rejectSummaryLastOffers": [
                    {"reason": "UnfulfilledRole", "declined": 0, "processed": 3},
                    {"reason": "InsufficientMemory", "declined": 3, "processed": 3},
                ],
            },
        });
        let table = queue_table(std::slice::from_ref(&item));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("APP "));
        assert!(lines[1].starts_with("/big "), "{table}");
        assert!(lines[1].ends_with("InsufficientMemory 3/3"), "{table}");
        assert_eq!(
            waiting_line(&item),
            "2 instance(s) to launch; last offers: InsufficientMemory 3/3"
        );
    }
}
