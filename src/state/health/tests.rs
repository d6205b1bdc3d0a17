//! `apply` of committed health: batched results for current tasks only, the events they raise,
//! Mesos-reported health, kills for failed health, readiness.

use super::*;
use crate::state::app::{AppInput, parse_app};
use crate::state::command::{Command, Deploy, PutMode, Request};
use crate::state::ids::{AgentId, DeploymentId};
use crate::state::model::{Condition, Goal};
use crate::state::{Rejection, StatusEffect};
use std::sync::Arc;

struct Log {
    state: State,
    index: u64,
    events: Vec<Event>,
}

const HTTP_CHECKS: &str = r#"[{"protocol":"HTTP","path":"/h","portIndex":0},
    {"protocol":"TCP","portIndex":0}]"#;

impl Log {
    fn new() -> Log {
        Log {
            state: State::default(),
            index: 0,
            events: Vec::new(),
        }
    }

    fn time(&self) -> Timestamp {
        Timestamp(1_000 + self.index as i64)
    }

    fn apply(&mut self, command: Command) -> Result<Outcome, Rejection> {
        self.index += 1;
        let request = Request::new(self.time(), None, command);
        let (response, applied) = self.state.apply((self.index, 0), &request);
        self.events = applied.events;
        response
    }

    fn app(&mut self, id: &str, checks: &str) {
        let body =
            format!(r#"{{"id":"{id}","cmd":"sleep 100","instances":1,"healthChecks":{checks}}}"#);
        let app = parse_app(body.as_bytes(), AppInput::Create).expect("valid app");
        self.apply(Command::PutApp {
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: Deploy {
                id: DeploymentId(format!("d{}", self.index).into()),
                force: true,
            },
        })
        .expect("app stored");
    }

    /// A running instance of `app` at its current version.
    fn running(&mut self, app: &str) -> Instance {
        let app = PathId::parse(app, None).expect("path");
        let version = self.state.app(&app).expect("app").version;
        let id = InstanceId::for_app(&app, uuid::Uuid::new_v4());
        let instance = Instance {
            agent: Some(AgentId("agent-1".into())),
            hostname: Some("127.0.1.1".into()),
            host_ports: vec![31000],
            ..Instance::fixture(id.clone(), app, version)
        };
        self.apply(Command::ProvisionInstance {
            instance: Box::new(instance),
        })
        .expect("provisioned");
        self.status(&id, None, None);
        self.state.instance(&id).expect("instance").clone()
    }

    fn status(
        &mut self,
        id: &InstanceId,
        healthy: Option<bool>,
        check: Option<CheckResult>,
    ) -> StatusEffect {
        let report = StatusReport {
            status_uuid: Some(uuid::Uuid::new_v4().to_string()),
            message: Some("health check failed: exit 1".into()),
            healthy,
            check,
            ..StatusReport::fixture(TaskId(format!("{id}._app.1").into()), Condition::Running)
        };
        match self.apply(Command::RecordStatus { report }) {
            Ok(Outcome::Status { effect, .. }) => effect,
            other => panic!("unexpected answer: {other:?}"),
        }
    }

    fn instance(&self, id: &InstanceId) -> &Instance {
        self.state.instance(id).expect("instance")
    }
}

fn update(i: &Instance, check_index: u32, at: i64, probe: Result<(), &str>) -> HealthUpdate {
    HealthUpdate {
        instance: i.id.clone(),
        task: i.task_id(),
        check_index,
        result: HealthResult::after(
            i.health.get(&check_index),
            Timestamp(at),
            probe.map_err(String::from),
        ),
    }
}

fn recorded(outcome: Result<Outcome, Rejection>) -> usize {
    match outcome {
        Ok(Outcome::HealthRecorded { recorded }) => recorded,
        other => panic!("unexpected answer: {other:?}"),
    }
}

#[test]
fn results_follow_marathon_counting() {
    let first = HealthResult::after(None, Timestamp(10), Ok(()));
    assert!(first.alive);
    assert_eq!(first.first_success, Some(Timestamp(10)));
    let failed = HealthResult::after(Some(&first), Timestamp(20), Err("503".into()));
    let failed = HealthResult::after(Some(&failed), Timestamp(30), Err("timeout".into()));
    assert!(!failed.alive);
    assert_eq!(failed.consecutive_failures, 2);
    assert_eq!(failed.last_failure, Some(Timestamp(30)));
    assert_eq!(failed.last_failure_cause.as_deref(), Some("timeout"));
    let back = HealthResult::after(Some(&failed), Timestamp(40), Ok(()));
    assert_eq!(
        (
            back.alive,
            back.consecutive_failures,
            back.first_success,
            back.last_success
        ),
        (true, 0, Some(Timestamp(10)), Some(Timestamp(40)))
    );
}

#[test]
fn an_instance_is_healthy_only_when_every_check_passed_last() {
    let mut log = Log::new();
    log.app("/web", HTTP_CHECKS);
    let i = log.running("/web");
    assert!(
        !log.state.considered_healthy(&i),
        "unknown health is not healthy"
    );
    let n = recorded(log.apply(Command::RecordHealth {
        updates: vec![update(&i, 0, 5, Ok(()))],
    }));
    assert_eq!(n, 1);
    let i = log.instance(&i.id).clone();
    assert_eq!(
        instance_health(&i, 2),
        None,
        "one of two checks still unknown"
    );
    assert!(!log.state.considered_healthy(&i));
    assert!(
        log.events
            .iter()
            .all(|e| !matches!(e, Event::InstanceHealthChanged { .. })),
        "still unknown: {:?}",
        log.events
    );
    recorded(log.apply(Command::RecordHealth {
        updates: vec![update(&i, 1, 6, Ok(()))],
    }));
    let i = log.instance(&i.id).clone();
    assert!(log.state.considered_healthy(&i));
    assert!(log.events.contains(&Event::InstanceHealthChanged {
        instance: i.id.clone(),
        app: i.app.clone(),
        app_version: i.app_version,
        healthy: Some(true),
    }));
    recorded(log.apply(Command::RecordHealth {
        updates: vec![update(&i, 1, 7, Err("connection refused"))],
    }));
    let i = log.instance(&i.id).clone();
    assert!(!log.state.considered_healthy(&i));
    assert_eq!(instance_health(&i, 2), Some(false));
    let result = &i.health[&1];
    assert_eq!(result.consecutive_failures, 1);
    assert_eq!(
        result.last_failure_cause.as_deref(),
        Some("connection refused")
    );
}

#[test]
fn an_app_without_checks_counts_running_instances_healthy() {
    let mut log = Log::new();
    log.app("/plain", "[]");
    let i = log.running("/plain");
    assert!(log.state.considered_healthy(&i));
}

#[test]
fn results_for_gone_instances_old_tasks_or_unknown_checks_are_skipped() {
    let mut log = Log::new();
    log.app("/web", HTTP_CHECKS);
    let i = log.running("/web");
    let mut old_task = update(&i, 0, 5, Ok(()));
    old_task.task = TaskId(format!("{}._app.0", i.id).into());
    let mut gone = update(&i, 0, 5, Ok(()));
    gone.instance = InstanceId("web.instance-gone".into());
    let no_such_check = update(&i, 7, 5, Ok(()));
    let good = update(&i, 0, 5, Ok(()));
    let n = recorded(log.apply(Command::RecordHealth {
        updates: vec![old_task, gone, no_such_check, good.clone()],
    }));
    assert_eq!(n, 1);
    assert_eq!(log.instance(&i.id).health.keys().collect::<Vec<_>>(), [&0]);
    let revision = log.instance(&i.id).revision;
    // The same result again changes nothing.
    let n = recorded(log.apply(Command::RecordHealth {
        updates: vec![good],
    }));
    assert_eq!(n, 0);
    assert_eq!(log.instance(&i.id).revision, revision);
    assert!(log.events.is_empty());
}

#[test]
fn a_change_of_liveness_and_each_failure_raise_their_events() {
    let mut log = Log::new();
    log.app("/web", HTTP_CHECKS);
    let i = log.running("/web");
    log.apply(Command::RecordHealth {
        updates: vec![update(&i, 0, 5, Err("503"))],
    })
    .expect("recorded");
    match log.events.first() {
        Some(Event::HealthChecked {
            previous: None,
            result,
            check,
            ..
        }) => {
            assert!(!result.alive);
            assert_eq!(check.path.as_deref(), Some("/h"));
        }
        other => panic!("unexpected events: {other:?}"),
    }
    let i = log.instance(&i.id).clone();
    log.apply(Command::RecordHealth {
        updates: vec![update(&i, 0, 6, Ok(()))],
    })
    .expect("recorded");
    assert!(matches!(
        log.events.first(),
        Some(Event::HealthChecked { result, .. }) if result.alive
    ));
    // A later pass only moves lastSuccess: committed, but no event.
    let i = log.instance(&i.id).clone();
    let n = recorded(log.apply(Command::RecordHealth {
        updates: vec![update(&i, 0, 70_000, Ok(()))],
    }));
    assert_eq!(n, 1);
    assert!(log.events.is_empty(), "{:?}", log.events);
    assert_eq!(
        log.instance(&i.id).health[&0].last_success,
        Some(Timestamp(70_000))
    );
}

#[test]
fn mesos_reported_health_is_committed_once_per_change() {
    let mut log = Log::new();
    log.app(
        "/agent",
        r#"[{"protocol":"COMMAND","command":{"value":"true"}}]"#,
    );
    let i = log.running("/agent");
    assert_eq!(log.status(&i.id, Some(true), None), StatusEffect::Recorded);
    assert!(log.state.considered_healthy(log.instance(&i.id)));
    let since = log.instance(&i.id).health[&0].clone();
    // Mesos repeats `healthy` on later statuses: no new result.
    log.status(&i.id, Some(true), None);
    assert_eq!(log.instance(&i.id).health[&0], since);
    log.status(&i.id, Some(false), None);
    let result = &log.instance(&i.id).health[&0];
    assert!(!result.alive);
    assert_eq!(result.consecutive_failures, 1);
    assert_eq!(
        result.last_failure_cause.as_deref(),
        Some("health check failed: exit 1")
    );
    assert!(!log.state.considered_healthy(log.instance(&i.id)));
}

#[test]
fn a_check_result_in_a_status_is_kept() {
    let mut log = Log::new();
    log.app("/web", "[]");
    let i = log.running("/web");
    let result = CheckResult::Http {
        status_code: Some(503),
    };
    log.status(&i.id, None, Some(result.clone()));
    assert_eq!(log.instance(&i.id).check_result, Some(result));
}

#[test]
fn a_kill_for_health_decommissions_the_current_task_only_and_counts_as_a_failure() {
    let mut log = Log::new();
    log.app("/web", HTTP_CHECKS);
    let i = log.running("/web");
    let stale = log.apply(Command::KillUnhealthy {
        instance: i.id.clone(),
        task: TaskId(format!("{}._app.9", i.id).into()),
        reason: "x".into(),
    });
    assert_eq!(stale, Ok(Outcome::UnhealthyKilled { killed: false }));
    assert_eq!(log.instance(&i.id).goal, Goal::Running);
    let killed = log.apply(Command::KillUnhealthy {
        instance: i.id.clone(),
        task: i.task_id(),
        reason: "3 consecutive health check failures".into(),
    });
    assert_eq!(killed, Ok(Outcome::UnhealthyKilled { killed: true }));
    assert_eq!(log.instance(&i.id).goal, Goal::Decommissioned);
    assert!(log.events.iter().any(|e| matches!(
        e,
        Event::UnhealthyInstanceKilled { reason, host: Some(h), .. }
            if reason == "3 consecutive health check failures" && h == "127.0.1.1"
    )));
    let failures = log.state.app_failures(&i.app).expect("a failure");
    assert_eq!(failures.consecutive, 1);
    // Killing it again is a no-op, not a second failure.
    let again = log.apply(Command::KillUnhealthy {
        instance: i.id.clone(),
        task: i.task_id(),
        reason: "again".into(),
    });
    assert_eq!(again, Ok(Outcome::UnhealthyKilled { killed: false }));
    assert_eq!(
        log.state.app_failures(&i.app).map(|f| f.consecutive),
        Some(1)
    );
}

#[test]
fn readiness_is_marked_once_for_the_current_task() {
    let mut log = Log::new();
    log.app("/web", "[]");
    let i = log.running("/web");
    let response = ReadinessResponse {
        status: 200,
        content_type: Some("text/plain".into()),
        body: "ok".into(),
    };
    let stale = log.apply(Command::MarkReady {
        instance: i.id.clone(),
        task: TaskId("other._app.1".into()),
        response: None,
    });
    assert_eq!(stale, Ok(Outcome::MarkedReady { changed: false }));
    let ready = log.apply(Command::MarkReady {
        instance: i.id.clone(),
        task: i.task_id(),
        response: Some(response.clone()),
    });
    assert_eq!(ready, Ok(Outcome::MarkedReady { changed: true }));
    let stored = log.instance(&i.id);
    assert!(stored.ready);
    assert_eq!(stored.readiness_response, Some(response));
}

#[test]
fn committed_health_survives_the_rows_round_trip() {
    let mut log = Log::new();
    log.app("/web", HTTP_CHECKS);
    let i = log.running("/web");
    log.apply(Command::RecordHealth {
        updates: vec![update(&i, 0, 5, Ok(())), update(&i, 1, 6, Err("refused"))],
    })
    .expect("recorded");
    let bytes = log
        .state
        .row(&crate::state::RowKey::Instance(i.id.clone()))
        .expect("encodes")
        .expect("row exists");
    let decoded: Instance = rmp_serde::from_slice(&bytes).expect("decodes");
    assert_eq!(&decoded, log.instance(&i.id));
    assert_eq!(decoded.health.len(), 2);
}
