//! The controller, table-driven on states built through `apply`: convergence, kill order,
//! deployment steps and the rolling-restart arithmetic of Marathon's examples, backoff.

use super::*;
use crate::state::app::{AppInput, parse_app};
use crate::state::ids::{AgentId, TaskId};
use crate::state::model::{Condition, StatusReport};
use crate::state::{Command, Deploy, Outcome, PutMode, Request};
use std::sync::Arc;

struct World {
    state: State,
    index: u64,
    clock: i64,
    /// The instances an unreachability test started with.
    unreachable: Vec<InstanceId>,
}

impl World {
    fn new() -> World {
        World {
            state: State::default(),
            index: 0,
            clock: 1_000_000,
            unreachable: Vec::new(),
        }
    }

    fn apply(&mut self, command: Command) -> Outcome {
        self.index += 1;
        self.clock += 10;
        let request = Request::new(Timestamp(self.clock), None, command);
        let (response, _) = self.state.apply((self.index, 0), &request);
        response.expect("command accepted")
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.clock)
    }

    /// Creates or replaces an app; returns its deployment id.
    fn put(&mut self, json: &str) -> DeploymentId {
        let app = parse_app(json.as_bytes(), AppInput::Create).expect("valid app");
        let deploy = Deploy {
            id: DeploymentId(format!("d{}", self.index + 1).into()),
            force: true,
        };
        let id = deploy.id.clone();
        self.apply(Command::PutApp {
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy,
        });
        id
    }

    /// Provisions `n` instances of `app` at its current version and reports them running.
    fn launch(&mut self, app: &str, n: usize) -> Vec<InstanceId> {
        let path = PathId::parse(app, None).unwrap();
        let version = self.state.app(&path).unwrap().version;
        (0..n)
            .map(|_| {
                let id = InstanceId::for_app(&path, uuid::Uuid::new_v4());
                self.apply(Command::ProvisionInstance {
                    instance: Box::new(Instance {
                        agent: Some(AgentId("a".into())),
                        hostname: Some("h".into()),
                        ..Instance::fixture(id.clone(), path.clone(), version)
                    }),
                });
                self.status(&id, Condition::Running);
                id
            })
            .collect()
    }

    fn status(&mut self, id: &InstanceId, condition: Condition) {
        let task = TaskId(format!("{id}._app.1").into());
        self.apply(Command::RecordStatus {
            report: StatusReport {
                status_uuid: Some(uuid::Uuid::new_v4().to_string()),
                message: Some("test".into()),
                ..StatusReport::fixture(task, condition)
            },
        });
    }

    /// Applies the controller's decommissions and ends those instances (killed), and advances
    /// finished steps; the decisions it made.
    fn step(&mut self) -> Decisions {
        let d = decide(&self.state, self.now());
        for id in &d.decommission {
            self.apply(Command::SetInstanceGoal {
                id: id.clone(),
                goal: Goal::Decommissioned,
            });
            self.status(id, Condition::Killed);
        }
        for (id, step) in &d.advance {
            self.apply(Command::AdvanceDeployment {
                id: id.clone(),
                step: *step,
            });
        }
        d
    }

    fn wanted(d: &Decisions, app: &str) -> u32 {
        d.wants
            .iter()
            .filter(|w| w.app.id.as_str() == app)
            .map(|w| w.count)
            .sum()
    }

    fn running(&self, app: &str) -> usize {
        let path = PathId::parse(app, None).unwrap();
        self.state
            .instances_of(&path)
            .filter(|i| i.goal == Goal::Running && i.condition() == Condition::Running)
            .count()
    }
}

#[test]
fn a_new_app_launches_its_instances_and_its_deployment_finishes_when_they_run() {
    let mut w = World::new();
    let d = w.put(r#"{"id":"/web","cmd":"x","instances":3}"#);
    let first = decide(&w.state, w.now());
    assert_eq!(World::wanted(&first, "/web"), 3);
    // Step 0 (StartApplication) is done at once.
    assert_eq!(first.advance, vec![(d.clone(), 0)]);
    w.step();
    w.launch("/web", 2);
    let mid = w.step();
    assert_eq!(World::wanted(&mid, "/web"), 1);
    assert!(mid.advance.is_empty(), "two of three running is not done");
    w.launch("/web", 1);
    let done = w.step();
    assert_eq!(done.advance, vec![(d.clone(), 1)]);
    assert!(
        w.state.deployment(&d).is_none(),
        "the finished deployment is gone"
    );
}

#[test]
fn scaling_down_kills_the_youngest_or_the_oldest_and_waits_for_the_kills() {
    for (selection, keep_first) in [("YOUNGEST_FIRST", true), ("OLDEST_FIRST", false)] {
        let mut w = World::new();
        let json =
            |n| format!(r#"{{"id":"/s","cmd":"x","instances":{n},"killSelection":"{selection}"}}"#);
        w.put(&json(3));
        w.step();
        let mut ids = Vec::new();
        for _ in 0..3 {
            // Distinct provisioning times: the World clock moves with every command.
            ids.extend(w.launch("/s", 1));
        }
        w.step();
        let d = w.put(&json(1));
        let decided = decide(&w.state, w.now());
        assert_eq!(decided.decommission.len(), 2);
        let kept = if keep_first { &ids[0] } else { &ids[2] };
        assert!(!decided.decommission.contains(kept), "{selection}");
        w.step();
        assert_eq!(w.running("/s"), 1);
        w.step();
        assert!(w.state.deployment(&d).is_none(), "{selection}: scale done");
    }
}

/// Runs a rolling restart of `n` instances to the end, checking at every step that healthy
/// instances never drop below `min_healthy` and the total never exceeds `max_total`.
fn roll(n: u32, min_hc: f64, max_oc: f64, min_healthy: usize, max_total: usize) {
    let mut w = World::new();
    let json = |cmd: &str| {
        format!(
            r#"{{"id":"/r","cmd":"{cmd}","instances":{n},
                "upgradeStrategy":{{"minimumHealthCapacity":{min_hc},"maximumOverCapacity":{max_oc}}}}}"#
        )
    };
    w.put(&json("old"));
    w.step();
    w.launch("/r", n as usize);
    w.step();
    let d = w.put(&json("new"));
    for round in 0..50 {
        let decided = w.step();
        let healthy = w.running("/r");
        assert!(
            healthy >= min_healthy,
            "round {round}: {healthy} healthy < {min_healthy}"
        );
        let launch = World::wanted(&decided, "/r") as usize;
        let path = PathId::parse("/r", None).unwrap();
        let active = w
            .state
            .instances_of(&path)
            .filter(|i| i.goal == Goal::Running)
            .count();
        assert!(
            active + launch <= max_total,
            "round {round}: {active} active + {launch} launches > {max_total}"
        );
        if w.state.deployment(&d).is_none() {
            let version = w
                .state
                .app(&path)
                .unwrap()
                .version_info
                .last_config_change_at;
            let instances: Vec<&Instance> = w.state.instances_of(&path).collect();
            assert_eq!(instances.len(), n as usize);
            assert!(instances.iter().all(|i| i.app_version >= version));
            return;
        }
        w.launch("/r", launch);
    }
    panic!("the restart did not finish in 50 rounds");
}

#[test]
fn rolling_restarts_follow_marathons_capacity_rules() {
    // Default (1, 1): all new side by side, then the old ones go.
    roll(3, 1.0, 1.0, 3, 6);
    // (0, 1): everything may go at once.
    roll(3, 0.0, 1.0, 0, 6);
    // (1, 0): no room over capacity: one extra instance so the restart can progress.
    roll(3, 1.0, 0.0, 3, 4);
    // 3 × 0.7 rounds up to 3 that must stay healthy.
    roll(3, 0.7, 0.0, 3, 4);
    // (0.5, 0): half may go, never more than `instances` in total.
    roll(4, 0.5, 0.0, 2, 4);
}

#[test]
fn an_app_waits_for_its_step_and_a_deleted_app_stops() {
    let mut w = World::new();
    w.put(r#"{"id":"/gone","cmd":"x","instances":2}"#);
    w.step();
    w.launch("/gone", 2);
    w.step();
    let path = PathId::parse("/gone", None).unwrap();
    let outcome = w.apply(Command::DeleteApp {
        id: path.clone(),
        expected_revision: None,
        deploy: Deploy {
            id: DeploymentId("del".into()),
            force: false,
        },
    });
    assert!(matches!(outcome, Outcome::AppDeleted { .. }));
    let decided = decide(&w.state, w.now());
    assert!(decided.advance.is_empty(), "instances still run");
    let ids: Vec<InstanceId> = w.state.instances_of(&path).map(|i| i.id.clone()).collect();
    for id in &ids {
        w.status(id, Condition::Killed);
    }
    let decided = decide(&w.state, w.now());
    assert_eq!(decided.advance, vec![(DeploymentId("del".into()), 0)]);
}

#[test]
fn failures_back_launches_off_and_a_new_version_resets_them() {
    let mut w = World::new();
    let json = r#"{"id":"/crash","cmd":"x","instances":1,"backoffSeconds":10,"backoffFactor":2,"maxLaunchDelaySeconds":60}"#;
    w.put(json);
    w.step();
    let id = w.launch("/crash", 1).remove(0);
    w.status(&id, Condition::Failed);
    let decided = decide(&w.state, w.now());
    assert!(decided.wants.is_empty(), "backed off");
    let (_, count, until) = decided.delayed[0].clone();
    assert_eq!(count, 1);
    assert_eq!(until.millis() - w.now().millis(), 10_000);
    // After the delay it launches again.
    let later = Timestamp(until.millis() + 1);
    assert_eq!(World::wanted(&decide(&w.state, later), "/crash"), 1);
    // A second failure doubles the delay.
    let id = w.launch("/crash", 1).remove(0);
    w.status(&id, Condition::Failed);
    let failures = w
        .state
        .app_failures(&PathId::parse("/crash", None).unwrap())
        .unwrap();
    assert_eq!(failures.consecutive, 2);
    let spec = w
        .state
        .app(&PathId::parse("/crash", None).unwrap())
        .unwrap()
        .spec
        .clone();
    assert_eq!(
        launch_delay(&spec, failures, w.now()).unwrap().millis() - failures.last_at.millis(),
        20_000
    );
    // A new configuration launches at once.
    w.put(r#"{"id":"/crash","cmd":"y","instances":1,"backoffSeconds":10,"backoffFactor":2,"maxLaunchDelaySeconds":60}"#);
    assert_eq!(World::wanted(&decide(&w.state, w.now()), "/crash"), 1);
}

#[test]
fn a_killed_scale_down_is_no_failure_and_conflicting_writes_are_locked() {
    let mut w = World::new();
    w.put(r#"{"id":"/l","cmd":"x","instances":1}"#);
    let app = parse_app(br#"{"id":"/l","cmd":"y","instances":1}"#, AppInput::Create).unwrap();
    let request = Request::new(
        w.now(),
        None,
        Command::PutApp {
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: Deploy {
                id: DeploymentId("second".into()),
                force: false,
            },
        },
    );
    let (refused, _) = w.state.apply((999, 0), &request);
    assert!(
        matches!(refused, Err(crate::state::Rejection::AppLocked { ref deployments, .. }) if deployments.len() == 1),
        "{refused:?}"
    );
}

impl World {
    fn unreachable_app(&mut self, strategy: &str) -> PathId {
        self.put(&format!(
            r#"{{"id": "/u", "cmd": "x", "instances": 2, "unreachableStrategy": {strategy}}}"#
        ));
        let ids = self.launch("/u", 2);
        for _ in 0..3 {
            self.step();
        }
        assert!(self.state.deployments().next().is_none());
        self.unreachable = ids;
        PathId::parse("/u", None).unwrap()
    }

    fn wait(&mut self, millis: i64) {
        self.clock += millis;
    }

    fn condition(&self, id: &InstanceId) -> Option<Condition> {
        self.state.instance(id).map(Instance::condition)
    }
}

#[test]
fn an_unreachable_instance_is_replaced_after_inactive_after_and_expunged_after_expunge_after() {
    let mut w = World::new();
    w.unreachable_app(r#"{"inactiveAfterSeconds": 10, "expungeAfterSeconds": 30}"#);
    let lost = w.unreachable[0].clone();
    w.status(&lost, Condition::Unreachable);
    // Within inactiveAfterSeconds it still counts: nothing is launched.
    w.wait(9_000);
    let d = decide(&w.state, w.now());
    assert_eq!(World::wanted(&d, "/u"), 0);
    assert!(d.inactive.is_empty() && d.expunge.is_empty());
    // Past it: a replacement is wanted at once, and the instance is to be marked inactive.
    w.wait(1_000);
    let d = decide(&w.state, w.now());
    assert_eq!(World::wanted(&d, "/u"), 1);
    assert_eq!(d.inactive, vec![lost.clone()]);
    assert!(d.expunge.is_empty());
    w.apply(Command::MarkUnreachableInactive { id: lost.clone() });
    assert_eq!(w.condition(&lost), Some(Condition::UnreachableInactive));
    // Mesos saying "unreachable" again keeps it inactive, and its clock running.
    w.apply(Command::RecordStatus {
        report: StatusReport::fixture(
            TaskId(format!("{lost}._app.1").into()),
            Condition::Unreachable,
        ),
    });
    assert_eq!(w.condition(&lost), Some(Condition::UnreachableInactive));
    let d = decide(&w.state, w.now());
    assert_eq!(
        World::wanted(&d, "/u"),
        1,
        "the replacement is still wanted"
    );
    assert!(d.inactive.is_empty(), "already marked");
    w.launch("/u", 1);
    let d = decide(&w.state, w.now());
    assert_eq!(World::wanted(&d, "/u"), 0);
    assert!(
        d.decommission.is_empty(),
        "an inactive instance is not excess"
    );
    // Past expungeAfterSeconds (from the first report) it is expunged.
    w.wait(19_000);
    assert!(decide(&w.state, w.now()).expunge.is_empty());
    w.wait(1_000);
    let d = decide(&w.state, w.now());
    assert_eq!(d.expunge, vec![lost.clone()]);
    w.apply(Command::ExpungeUnreachable { id: lost.clone() });
    assert_eq!(w.condition(&lost), None);
    assert_eq!(w.running("/u"), 2);
}

#[test]
fn an_inactive_instance_that_comes_back_makes_one_too_many_and_one_is_killed() {
    let mut w = World::new();
    w.unreachable_app(r#"{"inactiveAfterSeconds": 1, "expungeAfterSeconds": 60}"#);
    let lost = w.unreachable[0].clone();
    w.status(&lost, Condition::Unreachable);
    w.wait(1_000);
    let d = decide(&w.state, w.now());
    assert_eq!(World::wanted(&d, "/u"), 1);
    w.launch("/u", 1);
    // Back before it was expunged: three run where two are wanted.
    w.status(&lost, Condition::Running);
    let d = w.step();
    assert_eq!(d.decommission.len(), 1);
    assert!(d.expunge.is_empty());
    assert_eq!(w.running("/u"), 2);
}

#[test]
fn a_disabled_or_zero_strategy_replaces_and_expunges_at_once() {
    for strategy in [
        r#""disabled""#,
        r#"{"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0}"#,
    ] {
        let mut w = World::new();
        w.unreachable_app(strategy);
        let lost = w.unreachable[0].clone();
        w.status(&lost, Condition::Unreachable);
        let d = decide(&w.state, w.now());
        assert_eq!(World::wanted(&d, "/u"), 1, "{strategy}");
        assert_eq!(d.expunge, vec![lost.clone()], "{strategy}");
        assert!(d.inactive.is_empty(), "{strategy}");
    }
}

#[test]
fn a_restart_does_not_wait_for_an_inactive_instance() {
    let mut w = World::new();
    w.unreachable_app(r#"{"inactiveAfterSeconds": 1, "expungeAfterSeconds": 600}"#);
    let lost = w.unreachable[0].clone();
    w.status(&lost, Condition::Unreachable);
    w.wait(1_000);
    w.put(
        r#"{"id": "/u", "cmd": "y", "instances": 2,
            "unreachableStrategy": {"inactiveAfterSeconds": 1, "expungeAfterSeconds": 600}}"#,
    );
    for _ in 0..6 {
        let d = w.step();
        let n = World::wanted(&d, "/u") as usize;
        w.launch("/u", n);
    }
    assert!(
        w.state.deployments().next().is_none(),
        "the restart finished with the unreachable instance still kept"
    );
    assert_eq!(w.condition(&lost), Some(Condition::Unreachable));
}

/// Commits a passing result of every health check of `id`.
fn pass_health(w: &mut World, id: &InstanceId) {
    let instance = w.state.instance(id).expect("instance").clone();
    let checks = w.state.health_checks_of(&instance).len();
    let updates = (0..checks as u32)
        .map(|index| crate::state::health::HealthUpdate {
            instance: id.clone(),
            task: instance.task_id(),
            check_index: index,
            result: crate::state::health::HealthResult::after(None, w.now(), Ok(())),
        })
        .collect();
    w.apply(Command::RecordHealth { updates });
}

#[test]
fn a_rolling_restart_waits_for_new_instances_to_be_healthy_and_ready() {
    let mut w = World::new();
    let json = |cmd: &str| {
        format!(
            r#"{{"id":"/hc","cmd":"{cmd}","instances":1,
                "portDefinitions":[{{"port":0,"name":"http-api"}}],
                "healthChecks":[{{"protocol":"HTTP"}}],
                "readinessChecks":[{{"intervalSeconds":30,"timeoutSeconds":10}}],
                "upgradeStrategy":{{"minimumHealthCapacity":1,"maximumOverCapacity":1}}}}"#
        )
    };
    w.put(&json("v1"));
    w.step();
    let old = w.launch("/hc", 1).remove(0);
    // Running but of unknown health: the start is not done.
    assert!(w.step().advance.is_empty());
    pass_health(&mut w, &old);
    w.step();
    let d = w.put(&json("v2"));
    assert_eq!(World::wanted(&w.step(), "/hc"), 1);
    let new = w.launch("/hc", 1).remove(0);
    let decided = w.step();
    assert!(
        decided.decommission.is_empty(),
        "new instance neither healthy nor ready"
    );
    pass_health(&mut w, &new);
    assert!(
        w.step().decommission.is_empty(),
        "healthy but not ready: the old one stays"
    );
    let task = w.state.instance(&new).expect("new").task_id();
    w.apply(Command::MarkReady {
        instance: new.clone(),
        task,
        response: None,
    });
    assert_eq!(w.step().decommission, vec![old]);
    w.step();
    assert!(w.state.deployment(&d).is_none(), "restart done");
}

#[test]
fn a_failing_check_makes_an_instance_unhealthy_for_deployments() {
    let mut w = World::new();
    w.put(r#"{"id":"/u","cmd":"x","instances":1,"healthChecks":[{"protocol":"TCP"}]}"#);
    w.step();
    let id = w.launch("/u", 1).remove(0);
    pass_health(&mut w, &id);
    let instance = w.state.instance(&id).expect("instance").clone();
    assert!(healthy(&w.state, &instance));
    let failed = crate::state::health::HealthResult::after(
        instance.health.get(&0),
        w.now(),
        Err("refused".into()),
    );
    w.apply(Command::RecordHealth {
        updates: vec![crate::state::health::HealthUpdate {
            instance: id.clone(),
            task: instance.task_id(),
            check_index: 0,
            result: failed,
        }],
    });
    assert!(!healthy(&w.state, w.state.instance(&id).expect("instance")));
}
