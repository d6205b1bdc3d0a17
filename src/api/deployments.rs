//! Deployment operations shared by REST and gRPC: Marathon's deployment JSON, and cancelling a
//! deployment with or without rolling it back.

use super::{Api, ApiError};
use crate::state::ids::DeploymentId;
use crate::state::model::Deployment;
use crate::state::time::Timestamp;
use crate::state::{Command, Outcome, State};
use serde_json::{Value, json};

/// Marathon's deployment JSON: `currentStep` is 1-based, `currentActions` are the actions of
/// the step being driven, each with the readiness of the app's new instances.
pub fn deployment_json(d: &Deployment, state: &State) -> Value {
    let action = |a: &crate::state::model::DeploymentAction| json!({ "action": a.name(), "app": a.app().to_string() });
    let steps: Vec<Value> = d
        .steps
        .iter()
        .map(|s| json!({ "actions": s.actions.iter().map(action).collect::<Vec<_>>() }))
        .collect();
    let current: Vec<Value> = d
        .steps
        .get(d.current_step)
        .map(|s| {
            s.actions
                .iter()
                .map(|a| {
                    let mut v = action(a);
                    let readiness = state
                        .app(a.app())
                        .map(|record| super::apps::readiness_results(record, state))
                        .unwrap_or_default();
                    v["readinessCheckResults"] = json!(readiness);
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": d.id.0,
        "version": d.version.to_string(),
        "affectedApps": d.affected_apps.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "affectedPods": [],
        "steps": steps,
        "currentActions": current,
        "currentStep": (d.current_step + 1).min(d.steps.len()),
        "totalSteps": d.steps.len(),
    })
}

/// What cancelling a deployment did.
pub enum Cancelled {
    /// `force`: only stopped; nothing reverted.
    Stopped,
    /// Reverted by a new deployment.
    RolledBack {
        deployment: DeploymentId,
        version: Timestamp,
    },
}

/// `DELETE /v2/deployments/{id}`: rolls the deployment back (a new deployment to what its apps
/// were before it), or with `force` only stops it.
pub async fn cancel(api: &Api, id: DeploymentId, force: bool) -> Result<Cancelled, ApiError> {
    if force {
        api.propose(None, Command::CancelDeployment { id }).await?;
        return Ok(Cancelled::Stopped);
    }
    let deploy = super::apps::deploy(true);
    match api
        .propose(None, Command::RollbackDeployment { id, deploy })
        .await?
    {
        Outcome::DeploymentRolledBack {
            rollback, version, ..
        } => Ok(Cancelled::RolledBack {
            deployment: rollback,
            version,
        }),
        other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
    }
}
