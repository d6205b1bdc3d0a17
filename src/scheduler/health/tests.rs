//! Which targets the state asks the leader to check, and the round trip between committed health
//! and the policy's, on states built through `apply`.

use super::*;
use crate::state::app::{AppInput, parse_app};
use crate::state::ids::{AgentId, DeploymentId};
use crate::state::model::{Instance, StatusReport};
use crate::state::{Deploy, PutMode, Request};
use std::sync::Arc;

struct World {
    state: State,
    index: u64,
}

impl World {
    fn new() -> World {
        World {
            state: State::default(),
            index: 0,
        }
    }

    fn apply(&mut self, command: Command) {
        self.index += 1;
        let request = Request::new(Timestamp(5_000 + self.index as i64), None, command);
        let (response, _) = self.state.apply((self.index, 0), &request);
        response.expect("accepted");
    }

    fn app(&mut self, json: &str) {
        let app = parse_app(json.as_bytes(), AppInput::Create).expect("valid app");
        self.apply(Command::PutApp {
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: Deploy {
                id: DeploymentId(format!("d{}", self.index).into()),
                force: true,
            },
        });
    }

    fn instance(&mut self, app: &str, ports: Vec<u32>, condition: Condition) -> InstanceId {
        let app = crate::state::path::PathId::parse(app, None).expect("path");
        let version = self.state.app(&app).expect("app").version;
        let id = InstanceId::for_app(&app, uuid::Uuid::new_v4());
        self.apply(Command::ProvisionInstance {
            instance: Box::new(Instance {
                agent: Some(AgentId("a1".into())),
                hostname: Some("127.0.1.1".into()),
                host_ports: ports,
                ..Instance::fixture(id.clone(), app, version)
            }),
        });
        self.apply(Command::RecordStatus {
            report: StatusReport {
                status_uuid: Some(uuid::Uuid::new_v4().to_string()),
                ..StatusReport::fixture(TaskId(format!("{id}._app.1").into()), condition)
            },
        });
        id
    }
}

fn key(instance: &InstanceId, check_index: u32) -> TargetKey {
    TargetKey {
        instance: instance.clone(),
        check_index,
    }
}

#[test]
fn running_instances_of_apps_with_leader_checks_are_targets_with_resolved_ports() {
    let mut w = World::new();
    w.app(
        r#"{"id":"/web","cmd":"x","portDefinitions":[{"port":0},{"port":0}],
            "healthChecks":[{"protocol":"HTTP","portIndex":1,"gracePeriodSeconds":9,
              "maxConsecutiveFailures":2},{"protocol":"TCP","port":7000}]}"#,
    );
    w.app(r#"{"id":"/agent","cmd":"x","healthChecks":[{"protocol":"MESOS_TCP"}]}"#);
    w.app(r#"{"id":"/plain","cmd":"x"}"#);
    let web = w.instance("/web", vec![31000, 31001], Condition::Running);
    let staging = w.instance("/web", vec![31002, 31003], Condition::Staging);
    w.instance("/agent", vec![31004], Condition::Running);
    w.instance("/plain", vec![31005], Condition::Running);
    let targets = desired(&w.state);
    let keys: Vec<&TargetKey> = targets.keys().collect();
    assert_eq!(keys, [&key(&web, 0), &key(&web, 1)], "{targets:?}");
    let http = &targets[&key(&web, 0)];
    assert_eq!(
        (http.target.host.as_str(), http.target.port),
        ("127.0.1.1", 31001)
    );
    assert_eq!(http.limits.grace, Duration::from_secs(9));
    assert_eq!(http.limits.max_consecutive_failures, 2);
    assert_eq!(http.task, TaskId(format!("{web}._app.1").into()));
    let started = w
        .state
        .instance(&web)
        .and_then(|i| i.observed.as_ref())
        .map(|o| o.since);
    assert_eq!(Some(http.started_at), started);
    assert_eq!(targets[&key(&web, 1)].target.port, 7000);
    assert!(!targets.contains_key(&key(&staging, 0)));
}

#[test]
fn an_instance_of_an_older_version_keeps_its_checks_after_the_app_drops_them() {
    let mut w = World::new();
    w.app(r#"{"id":"/web","cmd":"x","healthChecks":[{"protocol":"HTTP"}]}"#);
    let old = w.instance("/web", vec![31000], Condition::Running);
    // The new version has no checks; the old instance runs until the deployment replaces it.
    w.app(r#"{"id":"/web","cmd":"y"}"#);
    let new = w.instance("/web", vec![31001], Condition::Running);
    let targets = desired(&w.state);
    let keys: Vec<&TargetKey> = targets.keys().collect();
    assert_eq!(keys, [&key(&old, 0)], "{targets:?}");
    assert!(!targets.contains_key(&key(&new, 0)));
}

#[test]
fn decommissioned_instances_are_not_checked_and_committed_health_is_carried() {
    let mut w = World::new();
    w.app(r#"{"id":"/web","cmd":"x","healthChecks":[{"protocol":"HTTP"}]}"#);
    let a = w.instance("/web", vec![31000], Condition::Running);
    let b = w.instance("/web", vec![31001], Condition::Running);
    let result = HealthResult::after(None, Timestamp(42), Ok(()));
    w.apply(Command::RecordHealth {
        updates: vec![HealthUpdate {
            instance: a.clone(),
            task: TaskId(format!("{a}._app.1").into()),
            check_index: 0,
            result: result.clone(),
        }],
    });
    w.apply(Command::SetInstanceGoal {
        id: b.clone(),
        goal: Goal::Decommissioned,
    });
    let targets = desired(&w.state);
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[&key(&a, 0)].committed, Some(result));
}

#[test]
fn committed_health_seeds_the_policy_without_loss() {
    let committed = HealthResult {
        alive: false,
        consecutive_failures: 2,
        first_success: Some(Timestamp(1_000)),
        last_success: Some(Timestamp(2_000)),
        last_failure: Some(Timestamp(3_000)),
        last_failure_cause: Some("503".into()),
    };
    let seeded = seed(Some(&committed));
    assert_eq!(seeded.alive, Some(false));
    assert_eq!(result_of(&seeded), Some(committed));
    assert_eq!(seed(None), TargetHealth::default());
    assert_eq!(
        result_of(&TargetHealth::default()),
        None,
        "unknown is never committed"
    );
}

#[test]
fn only_meaningful_changes_are_committed() {
    let base = HealthResult::after(None, Timestamp(1_000), Ok(()));
    let again = HealthResult::after(Some(&base), Timestamp(6_000), Ok(()));
    assert!(worth_committing(None, &base));
    assert!(
        !worth_committing(Some(&base), &again),
        "a pass after a pass only moves lastSuccess"
    );
    let much_later = HealthResult::after(Some(&base), Timestamp(61_000), Ok(()));
    assert!(
        worth_committing(Some(&base), &much_later),
        "a stale lastSuccess is refreshed"
    );
    let failed = HealthResult::after(Some(&base), Timestamp(7_000), Err("timeout".into()));
    assert!(worth_committing(Some(&base), &failed));
    let failed_again = HealthResult::after(Some(&failed), Timestamp(8_000), Err("timeout".into()));
    assert!(
        worth_committing(Some(&failed), &failed_again),
        "each failure counts"
    );
}
