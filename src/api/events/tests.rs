//! The Marathon shapes of applied events, filters, and the history's resume and gaps.

use super::*;
use crate::state::Event;
use crate::state::app::{AppInput, parse_app};
use crate::state::ids::{AgentId, DeploymentId, InstanceId, TaskId};
use crate::state::model::{
    AppRecord, Condition, Deployment, DeploymentAction, DeploymentStep, Instance, ObservedStatus,
    VersionInfo,
};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use serde_json::json;

const T: Timestamp = Timestamp(1_443_541_191_164);
const WHEN: &str = "2015-09-29T15:39:51.164Z";

fn pid(s: &str) -> PathId {
    PathId::parse(s, None).expect("valid path")
}

fn at(index: u64, time: Timestamp, event: Event) -> AppliedEvent {
    AppliedEvent { index, time, event }
}

fn record() -> AppRecord {
    let spec =
        parse_app(br#"{"id":"/web","cmd":"sleep 1000"}"#, AppInput::Create).expect("valid app");
    AppRecord {
        spec: Arc::new(spec),
        revision: 1,
        version: T,
        version_info: VersionInfo {
            last_scaling_at: T,
            last_config_change_at: T,
        },
    }
}

fn deployment(current_step: usize) -> Deployment {
    Deployment {
        id: DeploymentId("d-1".into()),
        version: T,
        affected_apps: vec![pid("/web")],
        steps: vec![
            DeploymentStep {
                actions: vec![DeploymentAction::StartApplication { app: pid("/web") }],
            },
            DeploymentStep {
                actions: vec![DeploymentAction::ScaleApplication {
                    app: pid("/web"),
                    instances: 2,
                }],
            },
        ],
        current_step,
        original: vec![],
        revision: 1,
        group: None,
    }
}

fn instance(observed: Option<(Condition, Timestamp)>) -> Instance {
    Instance {
        observed: observed.map(|(condition, since)| ObservedStatus {
            condition,
            task_id: TaskId("web.instance-1._app.1".into()),
            status_uuid: None,
            message: Some("started".into()),
            reason: None,
            healthy: None,
            since,
            updated_at: since,
        }),
        agent: Some(AgentId("agent-1".into())),
        hostname: Some("host-a".into()),
        host_ports: vec![31000],
        provisioned_at: Timestamp(T.0 - 1000),
        revision: 2,
        ..Instance::fixture(InstanceId("web.instance-1".into()), pid("/web"), T)
    }
}

fn kinds(events: &[(&'static str, Value)]) -> Vec<&'static str> {
    events.iter().map(|(k, _)| *k).collect()
}

#[test]
fn app_writes_are_api_post_events_with_the_marathon_definition() {
    for event in [
        Event::AppCreated { app: record() },
        Event::AppUpdated {
            app: record(),
            scaled_only: true,
        },
    ] {
        let out = marathon_events(&at(7, T, event));
        assert_eq!(kinds(&out), ["api_post_event"]);
        let p = &out[0].1;
        assert_eq!(p["eventType"], "api_post_event");
        assert_eq!(p["timestamp"], WHEN);
        assert_eq!(p["uri"], "/v2/apps/web");
        assert_eq!(p["clientIp"], Value::Null);
        assert_eq!(p["appDefinition"]["id"], "/web");
        assert_eq!(p["appDefinition"]["cmd"], "sleep 1000");
        assert_eq!(p["appDefinition"]["version"], WHEN);
        assert_eq!(p["appDefinition"]["versionInfo"]["lastScalingAt"], WHEN);
    }
}

#[test]
fn a_started_deployment_is_deployment_info_with_plan_and_current_step() {
    let out = marathon_events(&at(
        3,
        T,
        Event::DeploymentStarted {
            deployment: Box::new(deployment(0)),
        },
    ));
    assert_eq!(kinds(&out), ["deployment_info"]);
    let p = &out[0].1;
    assert_eq!(p["plan"]["id"], "d-1");
    assert_eq!(p["plan"]["version"], WHEN);
    assert_eq!(
        p["plan"]["steps"][1]["actions"][0],
        json!({"action": "ScaleApplication", "app": "/web"})
    );
    assert_eq!(p["plan"]["original"]["id"], "/");
    assert_eq!(p["plan"]["target"]["apps"], json!([]));
    assert_eq!(
        p["currentStep"],
        json!({"actions": [{"action": "StartApplication", "app": "/web"}]})
    );
    assert_eq!(p["timestamp"], WHEN);
}

#[test]
fn a_finished_step_reports_success_then_the_next_step() {
    let out = marathon_events(&at(
        4,
        T,
        Event::DeploymentStepSucceeded {
            deployment: Box::new(deployment(1)),
            step: 0,
        },
    ));
    assert_eq!(kinds(&out), ["deployment_step_success", "deployment_info"]);
    assert_eq!(
        out[0].1["currentStep"]["actions"][0]["action"],
        "StartApplication"
    );
    assert_eq!(
        out[1].1["currentStep"]["actions"][0]["action"],
        "ScaleApplication"
    );
    // The last step has no next one.
    let out = marathon_events(&at(
        5,
        T,
        Event::DeploymentStepSucceeded {
            deployment: Box::new(deployment(2)),
            step: 1,
        },
    ));
    assert_eq!(kinds(&out), ["deployment_step_success"]);
}

#[test]
fn a_stopped_app_is_terminated_when_its_stop_step_succeeds() {
    let mut d = deployment(1);
    d.steps = vec![DeploymentStep {
        actions: vec![DeploymentAction::StopApplication { app: pid("/web") }],
    }];
    let out = marathon_events(&at(
        9,
        T,
        Event::DeploymentStepSucceeded {
            deployment: Box::new(d),
            step: 0,
        },
    ));
    assert_eq!(
        kinds(&out),
        ["deployment_step_success", "app_terminated_event"]
    );
    assert_eq!(out[1].1["appId"], "/web");
    assert!(marathon_events(&at(9, T, Event::AppDeleted { id: pid("/web") })).is_empty());
}

#[test]
fn deployment_outcomes() {
    let out = marathon_events(&at(
        6,
        T,
        Event::DeploymentSucceeded {
            deployment: Box::new(deployment(2)),
        },
    ));
    assert_eq!(kinds(&out), ["deployment_success"]);
    assert_eq!(out[0].1["id"], "d-1");
    assert_eq!(out[0].1["plan"]["id"], "d-1");
    let out = marathon_events(&at(
        6,
        T,
        Event::DeploymentCancelled {
            id: DeploymentId("d-1".into()),
            group: None,
        },
    ));
    assert_eq!(kinds(&out), ["deployment_failed"]);
    assert_eq!(out[0].1["id"], "d-1");
    assert!(out[0].1["reason"].is_string());
}

#[test]
fn a_new_task_status_is_a_status_update_and_an_instance_change() {
    let changed = instance(Some((Condition::Running, T)));
    let out = marathon_events(&at(
        8,
        T,
        Event::InstanceChanged {
            instance: Box::new(changed),
        },
    ));
    assert_eq!(
        kinds(&out),
        ["status_update_event", "instance_changed_event"]
    );
    assert_eq!(
        out[0].1,
        json!({
            "slaveId": "agent-1", "taskId": "web.instance-1._app.1",
            "taskStatus": "TASK_RUNNING", "message": "started", "appId": "/web",
            "host": "host-a", "ipAddresses": [{"ipAddress": "host-a", "protocol": "IPv4"}],
            "ports": [31000], "version": WHEN,
            "eventType": "status_update_event", "timestamp": WHEN,
        })
    );
    assert_eq!(
        out[1].1,
        json!({
            "instanceId": "web.instance-1", "condition": "Running", "runSpecId": "/web",
            "agentId": "agent-1", "host": "host-a", "runSpecVersion": WHEN,
            "eventType": "instance_changed_event", "timestamp": WHEN,
        })
    );
}

#[test]
fn only_a_condition_change_is_news() {
    // A goal change (or a repeated condition) keeps the earlier `since`.
    let earlier = Timestamp(T.0 - 500);
    let quiet = instance(Some((Condition::Running, earlier)));
    let event = Event::InstanceChanged {
        instance: Box::new(quiet),
    };
    assert!(marathon_events(&at(8, T, event)).is_empty());
    // Provisioned in this command: an instance change, no task status yet.
    let mut fresh = instance(None);
    fresh.provisioned_at = T;
    let out = marathon_events(&at(
        8,
        T,
        Event::InstanceChanged {
            instance: Box::new(fresh),
        },
    ));
    assert_eq!(kinds(&out), ["instance_changed_event"]);
    assert_eq!(out[0].1["condition"], "Provisioned");
}

#[test]
fn a_repeated_condition_is_a_status_update_only() {
    let mut repeated = instance(Some((Condition::Running, Timestamp(T.0 - 500))));
    if let Some(o) = repeated.observed.as_mut() {
        o.updated_at = T;
        o.healthy = Some(true);
    }
    let out = marathon_events(&at(
        8,
        T,
        Event::InstanceChanged {
            instance: Box::new(repeated),
        },
    ));
    assert_eq!(kinds(&out), ["status_update_event"]);
    assert_eq!(out[0].1["taskStatus"], "TASK_RUNNING");
}

#[test]
fn a_task_that_ended_reports_its_terminal_status_and_final_condition() {
    let ended = instance(Some((Condition::Killed, T)));
    let out = marathon_events(&at(
        10,
        T,
        Event::InstanceExpunged {
            id: InstanceId("web.instance-1".into()),
            app: pid("/web"),
            condition: Condition::Killed,
            last: Some(Box::new(ended)),
        },
    ));
    assert_eq!(
        kinds(&out),
        ["status_update_event", "instance_changed_event"]
    );
    assert_eq!(
        out[0].1,
        json!({
            "slaveId": "agent-1", "taskId": "web.instance-1._app.1",
            "taskStatus": "TASK_KILLED", "message": "started", "appId": "/web",
            "host": "host-a", "ipAddresses": [{"ipAddress": "host-a", "protocol": "IPv4"}],
            "ports": [31000], "version": WHEN,
            "eventType": "status_update_event", "timestamp": WHEN,
        })
    );
    assert_eq!(out[1].1["condition"], "Killed");
    assert_eq!(out[1].1["runSpecId"], "/web");
    assert_eq!(out[1].1["agentId"], "agent-1");
}

#[test]
fn an_unreachable_instance_marked_inactive_or_expunged_is_no_task_status() {
    let mut inactive = instance(Some((Condition::UnreachableInactive, Timestamp(T.0 - 500))));
    if let Some(o) = inactive.observed.as_mut() {
        o.updated_at = T;
    }
    let out = marathon_events(&at(
        11,
        T,
        Event::InstanceChanged {
            instance: Box::new(inactive.clone()),
        },
    ));
    assert_eq!(kinds(&out), ["instance_changed_event"]);
    assert_eq!(out[0].1["condition"], "UnreachableInactive");
    let later = Timestamp(T.0 + 1000);
    let out = marathon_events(&at(
        12,
        later,
        Event::InstanceExpunged {
            id: InstanceId("web.instance-1".into()),
            app: pid("/web"),
            condition: Condition::UnreachableInactive,
            last: Some(Box::new(inactive)),
        },
    ));
    assert_eq!(kinds(&out), ["instance_changed_event"]);
}

#[test]
fn health_results_raise_marathons_health_events() {
    use crate::state::health::HealthResult;
    let check = parse_app(
        br#"{"id":"/web","cmd":"x","healthChecks":[{"protocol":"HTTP","path":"/h"}]}"#,
        AppInput::Create,
    )
    .expect("valid app")
    .health_checks
    .remove(0);
    let passed = HealthResult::after(None, T, Ok(()));
    let failed = HealthResult::after(Some(&passed), T, Err("503".into()));
    let failed_again = HealthResult::after(Some(&failed), T, Err("503".into()));
    let checked = |previous: Option<&HealthResult>, result: &HealthResult| {
        marathon_events(&at(
            9,
            T,
            Event::HealthChecked {
                instance: InstanceId("web.instance-1".into()),
                app: pid("/web"),
                app_version: T,
                check: Box::new(check.clone()),
                previous: previous.cloned(),
                result: result.clone(),
            },
        ))
    };
    let first = checked(None, &passed);
    assert_eq!(kinds(&first), ["health_status_changed_event"]);
    assert_eq!(first[0].1["alive"], true, "{}", first[0].1);
    assert_eq!(first[0].1["instanceId"], "web.instance-1");
    assert_eq!(first[0].1["version"], WHEN);
    let down = checked(Some(&passed), &failed);
    assert_eq!(
        kinds(&down),
        ["health_status_changed_event", "failed_health_check_event"]
    );
    assert_eq!(down[1].1["healthCheck"]["path"], "/h");
    assert_eq!(down[1].1["appId"], "/web");
    let again = checked(Some(&failed), &failed_again);
    assert_eq!(kinds(&again), ["failed_health_check_event"]);

    let changed = marathon_events(&at(
        9,
        T,
        Event::InstanceHealthChanged {
            instance: InstanceId("web.instance-1".into()),
            app: pid("/web"),
            app_version: T,
            healthy: None,
        },
    ));
    assert_eq!(kinds(&changed), ["instance_health_changed_event"]);
    assert_eq!(changed[0].1["healthy"], Value::Null);
    assert_eq!(changed[0].1["runSpecId"], "/web");

    let killed = marathon_events(&at(
        9,
        T,
        Event::UnhealthyInstanceKilled {
            instance: InstanceId("web.instance-1".into()),
            task: TaskId("web.instance-1._app.1".into()),
            app: pid("/web"),
            app_version: T,
            reason: "failed 3 times".into(),
            host: Some("127.0.1.1".into()),
            agent: Some(AgentId("S1".into())),
        },
    ));
    assert_eq!(kinds(&killed), ["unhealthy_instance_kill_event"]);
    assert_eq!(
        killed[0].1,
        json!({"appId": "/web", "taskId": "web.instance-1._app.1",
               "instanceId": "web.instance-1", "version": WHEN, "reason": "failed 3 times",
               "host": "127.0.1.1", "slaveId": "S1",
               "eventType": "unhealthy_instance_kill_event", "timestamp": WHEN})
    );
}

#[test]
fn filters_take_repeated_and_comma_separated_types() {
    let all = EventFilter::new(Vec::<String>::new());
    assert!(all.admits("anything"));
    let some = EventFilter::new(["api_post_event,deployment_info", " deployment_success ", ""]);
    assert!(some.admits("api_post_event"));
    assert!(some.admits("deployment_info"));
    assert!(some.admits("deployment_success"));
    assert!(!some.admits("status_update_event"));
    let applied = at(
        4,
        T,
        Event::DeploymentStepSucceeded {
            deployment: Box::new(deployment(1)),
            step: 0,
        },
    );
    assert_eq!(kinds(&some.select(&applied)), ["deployment_info"]);
}

fn event(index: u64) -> Arc<AppliedEvent> {
    Arc::new(at(index, T, Event::AppDeleted { id: pid("/web") }))
}

#[tokio::test]
async fn a_subscriber_resumes_from_an_index_then_follows_live_events() {
    let history = EventHistory::empty(3, 1);
    for i in [1, 2, 2, 4] {
        history.record(event(i));
    }
    // Capacity 3 dropped index 1: resuming there is refused, from 2 is complete.
    assert_eq!(history.subscribe(1).err(), Some(Gone { first: 2 }));
    let mut from_two = history.subscribe(2).expect("held");
    let mut only_new = history.subscribe(0).expect("always");
    history.record(event(5));
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(from_two.next().await.expect("event").index);
    }
    assert_eq!(seen, [2, 2, 4, 5]);
    assert_eq!(only_new.next().await.expect("event").index, 5);
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_ended_with_where_to_resume() {
    let history = EventHistory::empty(10, 1);
    history.record(event(1));
    let mut slow = history.subscribe(1).expect("held");
    assert_eq!(slow.next().await.expect("backlog").index, 1);
    for i in 2..(SUBSCRIBER_BUFFER as u64 + 10) {
        history.record(event(i));
    }
    assert_eq!(slow.next().await, Err(Ended::Lagged { resume_from: 1 }));
}

#[tokio::test]
async fn a_gap_in_the_history_ends_live_subscribers_and_resets_the_resume_point() {
    let history = EventHistory::empty(10, 1);
    history.record(event(1));
    let mut live = history.subscribe(0).expect("always");
    history.restart_after(20);
    assert!(matches!(live.next().await, Err(Ended::Lagged { .. })));
    assert_eq!(history.subscribe(5).err(), Some(Gone { first: 21 }));
    assert!(history.subscribe(21).is_ok());
}
