//! `baton deploy …`: the running deployments listed, and one cancelled or rolled back.

use super::progress::actions;
use crate::cli::{CallError, Client};
use crate::proto::v1::app_service_client::AppServiceClient;
use crate::proto::v1::{CancelDeploymentRequest, Consistency, ListDeploymentsRequest};
use clap::Subcommand;
use serde_json::Value;

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
