//! The renderer before the views: a `Value` tree per app and per task.

use crate::api::apps::task_state;
use crate::api::groups::Embed;
use crate::state::State;
use crate::state::health::{CheckResult, instance_health};
use crate::state::model::{AppRecord, Condition, Instance};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use serde_json::{Value, json};

pub fn task_counts(record: &AppRecord, state: &State) -> (u32, u32, u32, u32) {
    let (mut staged, mut running, mut healthy, mut unhealthy) = (0, 0, 0, 0);
    for instance in state.instances_of(&record.spec.id) {
        match instance.condition() {
            Condition::Provisioned | Condition::Staging | Condition::Starting => staged += 1,
            Condition::Running => running += 1,
            _ => {}
        }
        let checks = state.health_checks_of(instance).len();
        match instance_health(instance, checks) {
            Some(true) => healthy += 1,
            Some(false) => unhealthy += 1,
            None => {}
        }
    }
    (staged, running, healthy, unhealthy)
}

pub fn app_info(record: &AppRecord, state: &State) -> Value {
    let mut doc = record.spec.to_marathon_json();
    if let Value::Object(map) = &mut doc {
        map.insert("version".into(), json!(record.version.to_string()));
        map.insert(
            "versionInfo".into(),
            json!({
                "lastScalingAt": record.version_info.last_scaling_at.to_string(),
                "lastConfigChangeAt": record.version_info.last_config_change_at.to_string(),
            }),
        );
        let (staged, running, healthy, unhealthy) = task_counts(record, state);
        map.insert("tasksStaged".into(), json!(staged));
        map.insert("tasksRunning".into(), json!(running));
        map.insert("tasksHealthy".into(), json!(healthy));
        map.insert("tasksUnhealthy".into(), json!(unhealthy));
        let deployments: Vec<Value> = state
            .deployments_of(&record.spec.id)
            .map(|d| json!({ "id": d.id.0 }))
            .collect();
        map.insert("deployments".into(), json!(deployments));
        map.insert(
            "readinessCheckResults".into(),
            json!(readiness_results(record, state)),
        );
        if let Some(f) = state.app_failures(&record.spec.id) {
            map.insert(
                "lastTaskFailure".into(),
                json!({
                    "appId": record.spec.id.to_string(),
                    "host": f.last.host,
                    "message": f.last.message.clone().unwrap_or_default(),
                    "state": task_state(f.last.condition),
                    "taskId": f.last.task_id.0,
                    "timestamp": f.last_at.to_string(),
                    "version": f.last.app_version.to_string(),
                    "slaveId": f.last.agent.as_ref().map(|a| a.0.clone()),
                }),
            );
        }
    }
    doc
}

pub fn task_json(instance: &Instance) -> Value {
    let condition = instance.condition();
    let started = instance
        .observed
        .as_ref()
        .filter(|o| o.condition == Condition::Running)
        .map(|o| o.since.to_string());
    let mut task = json!({
        "id": instance.task_id().0,
        "appId": instance.app.to_string(),
        "host": instance.hostname,
        "slaveId": instance.agent.as_ref().map(|a| a.0.clone()),
        "state": task_state(condition),
        "stagedAt": instance.provisioned_at.to_string(),
        "startedAt": started,
        "version": instance.app_version.to_string(),
        "ports": instance.host_ports,
        "servicePorts": [],
        "ipAddresses": instance.hostname.as_ref().map(|h| vec![json!({"ipAddress": h, "protocol": "IPv4"})]).unwrap_or_default(),
        "localVolumes": [],
        "healthCheckResults": health_results(instance),
    });
    if let Some(result) = &instance.check_result {
        task["checkResult"] = check_result_json(result);
    }
    task
}

fn health_results(instance: &Instance) -> Vec<Value> {
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
    instance
        .health
        .values()
        .map(|h| {
            json!({
                "alive": h.alive,
                "consecutiveFailures": h.consecutive_failures,
                "firstSuccess": time(h.first_success),
                "lastSuccess": time(h.last_success),
                "lastFailure": time(h.last_failure),
                "lastFailureCause": h.last_failure_cause,
                "instanceId": instance.id.0,
            })
        })
        .collect()
}

fn check_result_json(result: &CheckResult) -> Value {
    match result {
        CheckResult::Http { status_code } => json!({ "http": { "statusCode": status_code } }),
        CheckResult::Tcp { succeeded } => json!({ "tcp": { "succeeded": succeeded } }),
        CheckResult::Command { exit_code } => json!({ "command": { "exitCode": exit_code } }),
    }
}

pub fn readiness_results(record: &AppRecord, state: &State) -> Vec<Value> {
    let spec = &record.spec;
    let Some(check) = spec.readiness_checks.first() else {
        return Vec::new();
    };
    if state.deployments_of(&spec.id).next().is_none() {
        return Vec::new();
    }
    state
        .instances_of(&spec.id)
        .filter(|i| i.app_version >= record.version_info.last_config_change_at)
        .filter(|i| i.condition() == Condition::Running)
        .map(|i| {
            let last = i.readiness_response.as_ref().map(
                |r| json!({ "status": r.status, "contentType": r.content_type, "body": r.body }),
            );
            json!({
                "name": check.name,
                "taskId": i.task_id().0,
                "ready": i.ready,
                "lastResponse": last,
            })
        })
        .collect()
}

pub fn tasks(state: &State, app: &PathId) -> Vec<Value> {
    state.instances_of(app).map(task_json).collect()
}

fn group_app_json(record: &AppRecord, state: &State, embed: Embed) -> Value {
    let mut doc = app_info(record, state);
    if let Value::Object(map) = &mut doc {
        if !embed.counts {
            for key in [
                "tasksStaged",
                "tasksRunning",
                "tasksHealthy",
                "tasksUnhealthy",
            ] {
                map.remove(key);
            }
        }
        if !embed.deployments {
            map.remove("deployments");
        }
        if !embed.last_task_failure {
            map.remove("lastTaskFailure");
        }
        if embed.tasks {
            map.insert("tasks".into(), json!(tasks(state, &record.spec.id)));
        }
    }
    doc
}

pub fn group_json(state: &State, id: &PathId, embed: Embed) -> Option<Value> {
    let record = state.group(id);
    if !state.group_exists(id) {
        return None;
    }
    let mut doc = json!({
        "id": id.to_string(),
        "dependencies": record
            .map(|g| g.dependencies.iter().map(|d| d.to_string()).collect::<Vec<_>>())
            .unwrap_or_default(),
        "version": state.group_version(id).unwrap_or_default().to_string(),
    });
    if embed.apps {
        let apps: Vec<Value> = state
            .apps_under(id)
            .filter(|a| a.spec.id.parent() == *id)
            .map(|a| group_app_json(a, state, embed))
            .collect();
        doc["apps"] = json!(apps);
    }
    if embed.groups {
        let groups: Vec<Value> = state
            .groups_below(id)
            .filter(|g| g.id.parent() == *id)
            .filter_map(|g| group_json(state, &g.id, embed))
            .collect();
        doc["groups"] = json!(groups);
    }
    if embed.pods {
        doc["pods"] = json!([]);
    }
    Some(doc)
}
