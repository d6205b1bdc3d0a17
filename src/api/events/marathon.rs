//! Domain events as Marathon's event types and payloads.

use crate::state::model::{Condition, Deployment, DeploymentAction, DeploymentStep, Instance};
use crate::state::time::Timestamp;
use crate::state::{AppliedEvent, Event};
use serde_json::{Value, json};

/// The Marathon events one applied event stands for: `(eventType, payload)`, each payload
/// carrying `eventType` and `timestamp` (the leader's time of the command).
pub fn marathon_events(applied: &AppliedEvent) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut emit = |kind: &'static str, mut payload: Value| {
        if let Value::Object(map) = &mut payload {
            map.insert("eventType".into(), json!(kind));
            map.insert("timestamp".into(), json!(applied.time.to_string()));
        }
        out.push((kind, payload));
    };
    match &applied.event {
        Event::AppCreated { app } | Event::AppUpdated { app, .. } => {
            let mut definition = app.spec.to_marathon_json();
            if let Value::Object(map) = &mut definition {
                map.insert("version".into(), json!(app.version.to_string()));
                map.insert(
                    "versionInfo".into(),
                    json!({
                        "lastScalingAt": app.version_info.last_scaling_at.to_string(),
                        "lastConfigChangeAt": app.version_info.last_config_change_at.to_string(),
                    }),
                );
            }
            // The client's address is not replicated with the command.
            emit(
                "api_post_event",
                json!({
                    "clientIp": Value::Null,
                    "uri": format!("/v2/apps{}", app.spec.id),
                    "appDefinition": definition,
                }),
            );
        }
        Event::DeploymentStarted { deployment } => {
            if let Some(step) = deployment.steps.get(deployment.current_step) {
                emit("deployment_info", step_event(deployment, step));
            }
        }
        Event::DeploymentStepSucceeded { deployment, step } => {
            if let Some(done) = deployment.steps.get(*step) {
                emit("deployment_step_success", step_event(deployment, done));
                // Marathon's DeploymentActor stops a removed app and then reports it gone.
                for action in &done.actions {
                    if let DeploymentAction::StopApplication { app } = action {
                        emit("app_terminated_event", json!({ "appId": app.to_string() }));
                    }
                }
            }
            if let Some(next) = deployment.steps.get(step + 1) {
                emit("deployment_info", step_event(deployment, next));
            }
        }
        Event::DeploymentSucceeded { deployment } => {
            emit(
                "deployment_success",
                json!({ "id": deployment.id.0, "plan": plan(deployment) }),
            );
            // Marathon reports a group change once its deployment is done.
            if let Some(group) = &deployment.group {
                emit(
                    "group_change_success",
                    json!({
                        "groupId": group.id.to_string(),
                        "version": deployment.version.to_string(),
                    }),
                );
            }
        }
        // Marathon reports a cancelled deployment as failed; the plan is gone with it.
        Event::DeploymentCancelled { id, group } => {
            const REASON: &str = "the deployment was cancelled";
            emit("deployment_failed", json!({ "id": id.0, "reason": REASON }));
            if let Some((group, version)) = group {
                emit(
                    "group_change_failed",
                    json!({
                        "groupId": group.to_string(),
                        "version": version.to_string(),
                        "reason": REASON,
                    }),
                );
            }
        }
        Event::InstanceChanged { instance } => instance_events(applied.time, instance, emit),
        Event::InstanceExpunged {
            id,
            app,
            condition,
            last,
        } => {
            // The task's end, when a status ended it (not the leader expunging an unreachable
            // instance, which Mesos said nothing new about).
            if let Some(last) = last.as_deref()
                && let Some(observed) = last.observed.as_ref()
                && observed.condition == *condition
                && observed.updated_at == applied.time
            {
                emit("status_update_event", status_update(last, *condition));
            }
            let last = last.as_deref();
            emit(
                "instance_changed_event",
                json!({
                    "instanceId": id.0,
                    "condition": condition.as_str(),
                    "runSpecId": app.to_string(),
                    "agentId": last.and_then(|i| i.agent.as_ref()).map(|a| a.0.clone()),
                    "host": last.and_then(|i| i.hostname.clone()),
                    "runSpecVersion": last.map(|i| i.app_version.to_string()),
                }),
            );
        }
        Event::HealthChecked {
            instance,
            app,
            app_version,
            check,
            previous,
            result,
        } => {
            if previous.as_ref().map(|p| p.alive) != Some(result.alive) {
                emit(
                    "health_status_changed_event",
                    json!({
                        "appId": app.to_string(),
                        "instanceId": instance.0,
                        "version": app_version.to_string(),
                        "alive": result.alive,
                    }),
                );
            }
            // Each failure that counts raises the failure count (a pass resets it).
            let failed_again = !result.alive
                && previous.as_ref().is_none_or(|p| {
                    p.alive || result.consecutive_failures > p.consecutive_failures
                });
            if failed_again {
                emit(
                    "failed_health_check_event",
                    json!({
                        "appId": app.to_string(),
                        "instanceId": instance.0,
                        "healthCheck": serde_json::to_value(check.as_ref()).unwrap_or(Value::Null),
                    }),
                );
            }
        }
        Event::InstanceHealthChanged {
            instance,
            app,
            app_version,
            healthy,
        } => emit(
            "instance_health_changed_event",
            json!({
                "instanceId": instance.0,
                "runSpecId": app.to_string(),
                "runSpecVersion": app_version.to_string(),
                "healthy": healthy,
            }),
        ),
        Event::UnhealthyInstanceKilled {
            instance,
            task,
            app,
            app_version,
            reason,
            host,
            agent,
        } => emit(
            "unhealthy_instance_kill_event",
            json!({
                "appId": app.to_string(),
                "taskId": task.0,
                "instanceId": instance.0,
                "version": app_version.to_string(),
                "reason": reason,
                "host": host,
                "slaveId": agent.as_ref().map(|a| a.0.clone()),
            }),
        ),
        // A group change is reported when its deployment ends (above), as Marathon does.
        Event::AppDeleted { .. }
        | Event::GroupCreated { .. }
        | Event::GroupChanged { .. }
        | Event::FrameworkIdStored { .. }
        | Event::FrameworkTeardownRequested { .. }
        | Event::FrameworkForgotten { .. } => {}
    }
    out
}

/// An instance's news: a task status recorded in this very command is a `status_update_event`
/// (Marathon sends one per Mesos update), and a condition that changed in it (or the instance
/// provisioned in it) an `instance_changed_event`. A goal change touches neither `since`,
/// `updated_at` nor `provisioned_at`, so it is no news.
fn instance_events(
    time: Timestamp,
    instance: &Instance,
    mut emit: impl FnMut(&'static str, Value),
) {
    let (status, changed) = match &instance.observed {
        // Marking an unreachable instance inactive is the leader's doing, not a Mesos status.
        Some(observed) if observed.condition == Condition::UnreachableInactive => {
            (false, observed.since == time || observed.updated_at == time)
        }
        Some(observed) => (observed.updated_at == time, observed.since == time),
        None => (false, instance.provisioned_at == time),
    };
    let condition = instance.condition();
    if status {
        emit("status_update_event", status_update(instance, condition));
    }
    if !changed {
        return;
    }
    emit(
        "instance_changed_event",
        json!({
            "instanceId": instance.id.0,
            "condition": condition.as_str(),
            "runSpecId": instance.app.to_string(),
            "agentId": instance.agent.as_ref().map(|a| a.0.clone()),
            "host": instance.hostname,
            "runSpecVersion": instance.app_version.to_string(),
        }),
    );
}

/// Marathon's `status_update_event` for the instance's task in `condition`.
fn status_update(instance: &Instance, condition: Condition) -> Value {
    let observed = instance.observed.as_ref();
    json!({
        "slaveId": instance.agent.as_ref().map(|a| a.0.clone()),
        "taskId": observed.map_or_else(|| instance.task_id().0, |o| o.task_id.0.clone()),
        "taskStatus": crate::api::apps::task_state(condition),
        "message": observed.and_then(|o| o.message.clone()).unwrap_or_default(),
        "appId": instance.app.to_string(),
        "host": instance.hostname,
        "ipAddresses": instance.hostname.as_ref().map(|h| vec![json!({"ipAddress": h, "protocol": "IPv4"})]).unwrap_or_default(),
        "ports": instance.host_ports,
        "version": instance.app_version.to_string(),
    })
}

fn step_json(step: &DeploymentStep) -> Value {
    let actions: Vec<Value> = step
        .actions
        .iter()
        .map(|a| json!({ "action": a.name(), "app": a.app().to_string() }))
        .collect();
    json!({ "actions": actions })
}

/// Marathon 1.8+'s light plan, with skeletal `original` and `target` groups because
/// marathon-python 0.13 cannot parse a plan without them (reference §8.4).
fn plan(d: &Deployment) -> Value {
    let group = json!({
        "id": "/", "apps": [], "groups": [], "pods": [], "dependencies": [],
        "version": d.version.to_string(),
    });
    json!({
        "id": d.id.0,
        "version": d.version.to_string(),
        "steps": d.steps.iter().map(step_json).collect::<Vec<_>>(),
        "original": group,
        "target": group,
    })
}

fn step_event(d: &Deployment, step: &DeploymentStep) -> Value {
    json!({ "plan": plan(d), "currentStep": step_json(step) })
}
