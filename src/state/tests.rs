//! `apply` of the instance commands: write-ahead provisioning, status idempotence by uuid,
//! stale incarnations, expunging on terminal states, and decommissioning on app deletion.

use super::app::{AppInput, parse_app};
use super::ids::{AgentId, InstanceId, TaskId};
use super::model::{Condition, Goal, Instance, StatusReport};
use super::path::PathId;
use super::time::Timestamp;
use super::{Command, Event, Outcome, PutMode, Rejection, Request, Response, State, StatusEffect};

struct Log {
    state: State,
    index: u64,
    events: Vec<Event>,
}

impl Log {
    fn new() -> Log {
        Log {
            state: State::default(),
            index: 0,
            events: Vec::new(),
        }
    }

    fn apply(&mut self, command: Command) -> Response {
        self.index += 1;
        let request = Request::new(Timestamp(1_000 + self.index as i64), None, command);
        let (response, applied) = self.state.apply((self.index, 0), &request);
        self.events.extend(applied.events);
        response
    }

    fn create_app(&mut self, id: &str, instances: u32) {
        let body = format!(r#"{{"id": "{id}", "cmd": "sleep 100", "instances": {instances}}}"#);
        let app = parse_app(body.as_bytes(), AppInput::Create).expect("valid app");
        self.apply(Command::PutApp {
            app: Box::new(app),
            expected_revision: None,
            mode: PutMode::Create,
            deploy: super::Deploy {
                id: super::ids::DeploymentId(format!("create-{id}")),
                force: true,
            },
        })
        .expect("app created");
    }

    fn provision(&mut self, app: &str) -> InstanceId {
        let app = PathId::parse(app, None).expect("app path");
        let id = InstanceId::for_app(&app, uuid::Uuid::new_v4());
        let instance = Instance {
            id: id.clone(),
            app,
            app_version: Timestamp(0),
            goal: Goal::Running,
            observed: None,
            agent: Some(AgentId("agent-1".into())),
            hostname: Some("127.0.1.1".into()),
            agent_attributes: Default::default(),
            region: None,
            zone: None,
            host_ports: vec![31000],
            incarnation: 1,
            reservation: None,
            provisioned_at: Timestamp(0),
            revision: 0,
        };
        let outcome = self.apply(Command::ProvisionInstance {
            instance: Box::new(instance),
        });
        assert_eq!(outcome, Ok(Outcome::InstanceProvisioned { id: id.clone() }));
        id
    }

    fn status(&mut self, task: &TaskId, condition: Condition, uuid: Option<&str>) -> StatusEffect {
        let report = StatusReport {
            task_id: task.clone(),
            agent: Some(AgentId("agent-1".into())),
            condition,
            status_uuid: uuid.map(String::from),
            message: None,
            reason: None,
            healthy: None,
        };
        match self.apply(Command::RecordStatus { report }) {
            Ok(Outcome::Status { effect, .. }) => effect,
            other => panic!("unexpected answer to RecordStatus: {other:?}"),
        }
    }
}

#[test]
fn a_provisioned_instance_is_written_ahead_with_its_task_id_and_no_status() {
    let mut log = Log::new();
    log.create_app("/web", 1);
    let id = log.provision("/web");
    let instance = log.state.instance(&id).expect("provisioned");
    assert_eq!(instance.condition(), Condition::Provisioned);
    assert_eq!(instance.revision, 1);
    assert_eq!(instance.provisioned_at, Timestamp(1_000 + log.index as i64));
    assert!(id.as_str().starts_with("web.instance-"), "{id}");
    assert_eq!(instance.task_id().0, format!("{id}._app.1"));
    assert_eq!(instance.task_id().instance(), Some((id.clone(), 1)));
}

#[test]
fn provisioning_needs_the_app_and_a_fresh_id() {
    let mut log = Log::new();
    let app = PathId::parse("/missing", None).unwrap();
    let instance = Instance {
        id: InstanceId::for_app(&app, uuid::Uuid::new_v4()),
        app: app.clone(),
        app_version: Timestamp(0),
        goal: Goal::Running,
        observed: None,
        agent: None,
        hostname: None,
        agent_attributes: Default::default(),
        region: None,
        zone: None,
        host_ports: Vec::new(),
        incarnation: 1,
        reservation: None,
        provisioned_at: Timestamp(0),
        revision: 0,
    };
    let refused = log.apply(Command::ProvisionInstance {
        instance: Box::new(instance.clone()),
    });
    assert_eq!(refused, Err(Rejection::AppNotFound(app)));
    log.create_app("/missing", 1);
    let again = || Command::ProvisionInstance {
        instance: Box::new(instance.clone()),
    };
    assert!(log.apply(again()).is_ok());
    assert!(matches!(log.apply(again()), Err(Rejection::Invalid(_))));
}

#[test]
fn a_status_is_applied_once_per_uuid() {
    let mut log = Log::new();
    log.create_app("/web", 1);
    let id = log.provision("/web");
    let task = log.state.instance(&id).unwrap().task_id();
    assert_eq!(
        log.status(&task, Condition::Running, Some("u1")),
        StatusEffect::Recorded
    );
    let revision = log.state.instance(&id).unwrap().revision;
    assert_eq!(
        log.status(&task, Condition::Running, Some("u1")),
        StatusEffect::Duplicate
    );
    assert_eq!(log.state.instance(&id).unwrap().revision, revision);
    // A uuid-less reconciliation answer repeating the condition changes nothing either.
    assert_eq!(
        log.status(&task, Condition::Running, None),
        StatusEffect::Duplicate
    );
    // A new update of the same condition (e.g. a health change) is news, and keeps `since`.
    let since = log
        .state
        .instance(&id)
        .unwrap()
        .observed
        .as_ref()
        .unwrap()
        .since;
    assert_eq!(
        log.status(&task, Condition::Running, Some("u2")),
        StatusEffect::Recorded
    );
    let observed = log.state.instance(&id).unwrap().observed.clone().unwrap();
    assert_eq!(observed.since, since);
    assert_eq!(observed.status_uuid.as_deref(), Some("u2"));
}

#[test]
fn a_terminal_status_expunges_and_a_redelivery_finds_nothing() {
    let mut log = Log::new();
    log.create_app("/web", 1);
    let id = log.provision("/web");
    let task = log.state.instance(&id).unwrap().task_id();
    log.status(&task, Condition::Running, Some("u1"));
    assert_eq!(
        log.status(&task, Condition::Failed, Some("u2")),
        StatusEffect::Expunged
    );
    assert!(log.state.instance(&id).is_none());
    assert!(log.events.iter().any(|e| matches!(
        e,
        Event::InstanceExpunged { id: gone, condition: Condition::Failed, .. } if *gone == id
    )));
    assert_eq!(
        log.status(&task, Condition::Failed, Some("u2")),
        StatusEffect::UnknownTask
    );
}

#[test]
fn every_terminal_condition_expunges_and_unreachable_keeps() {
    for condition in [
        Condition::Finished,
        Condition::Failed,
        Condition::Killed,
        Condition::Error,
        Condition::Dropped,
        Condition::Gone,
        Condition::Unknown,
    ] {
        let mut log = Log::new();
        log.create_app("/web", 1);
        let id = log.provision("/web");
        let task = log.state.instance(&id).unwrap().task_id();
        assert_eq!(
            log.status(&task, condition, None),
            StatusEffect::Expunged,
            "{condition:?}"
        );
    }
    let mut log = Log::new();
    log.create_app("/web", 1);
    let id = log.provision("/web");
    let task = log.state.instance(&id).unwrap().task_id();
    assert_eq!(
        log.status(&task, Condition::Unreachable, Some("u1")),
        StatusEffect::Recorded
    );
    assert_eq!(
        log.state.instance(&id).unwrap().condition(),
        Condition::Unreachable
    );
}

#[test]
fn a_status_of_an_older_incarnation_or_a_foreign_task_is_ignored() {
    let mut log = Log::new();
    log.create_app("/web", 1);
    let id = log.provision("/web");
    let old = TaskId(format!("{id}._app.0"));
    assert_eq!(
        log.status(&old, Condition::Failed, Some("x")),
        StatusEffect::Stale
    );
    assert!(log.state.instance(&id).is_some());
    let foreign = TaskId("not-ours".into());
    assert_eq!(
        log.status(&foreign, Condition::Running, Some("y")),
        StatusEffect::UnknownTask
    );
}

#[test]
fn deleting_an_app_decommissions_its_instances() {
    let mut log = Log::new();
    log.create_app("/web", 2);
    log.create_app("/db", 1);
    let a = log.provision("/web");
    let b = log.provision("/web");
    let c = log.provision("/db");
    log.apply(Command::DeleteApp {
        id: PathId::parse("/web", None).unwrap(),
        expected_revision: None,
        deploy: super::Deploy {
            id: super::ids::DeploymentId("delete-web".into()),
            force: true,
        },
    })
    .expect("deleted");
    assert_eq!(log.state.instance(&a).unwrap().goal, Goal::Decommissioned);
    assert_eq!(log.state.instance(&b).unwrap().goal, Goal::Decommissioned);
    assert_eq!(log.state.instance(&c).unwrap().goal, Goal::Running);
}

#[test]
fn a_goal_change_bumps_the_revision_once() {
    let mut log = Log::new();
    log.create_app("/web", 1);
    let id = log.provision("/web");
    let set = |goal| Command::SetInstanceGoal {
        id: id.clone(),
        goal,
    };
    log.apply(set(Goal::Decommissioned)).unwrap();
    log.apply(set(Goal::Decommissioned)).unwrap();
    assert_eq!(log.state.instance(&id).unwrap().revision, 2);
    let missing = Command::SetInstanceGoal {
        id: InstanceId("nope".into()),
        goal: Goal::Running,
    };
    assert!(matches!(log.apply(missing), Err(Rejection::Invalid(_))));
}

#[test]
fn instances_survive_the_row_round_trip() {
    let mut log = Log::new();
    log.create_app("/web", 1);
    let id = log.provision("/web");
    let task = log.state.instance(&id).unwrap().task_id();
    log.status(&task, Condition::Running, Some("u1"));
    let rows = log.state.rows().expect("rows");
    let loaded = State::from_rows(&rows).expect("loads");
    assert_eq!(loaded.instance(&id), log.state.instance(&id));
}

#[test]
fn a_teardown_names_the_framework_and_forgetting_it_drops_every_instance() {
    use super::ids::FrameworkId;
    let mut log = Log::new();
    let fw = FrameworkId("fw-1".into());
    let request = |id: &FrameworkId| Command::RequestTeardown {
        framework_id: id.clone(),
    };
    assert!(matches!(
        log.apply(request(&fw)),
        Err(Rejection::Invalid(_))
    ));
    log.apply(Command::SetFrameworkId { id: fw.clone() })
        .unwrap();
    log.create_app("/web", 2);
    let a = log.provision("/web");
    let b = log.provision("/web");
    let other = FrameworkId("fw-2".into());
    assert!(matches!(
        log.apply(request(&other)),
        Err(Rejection::Invalid(_))
    ));
    assert!(!log.state.settings().teardown_requested);
    log.apply(request(&fw)).unwrap();
    assert!(log.state.settings().teardown_requested);
    let outcome = log.apply(Command::ForgetFramework {
        framework_id: fw.clone(),
    });
    assert_eq!(
        outcome,
        Ok(Outcome::FrameworkForgotten {
            framework_id: fw,
            instances: 2
        })
    );
    assert!(log.state.instance(&a).is_none() && log.state.instance(&b).is_none());
    assert_eq!(
        log.state
            .instances_of(&PathId::parse("/web", None).unwrap())
            .count(),
        0
    );
    assert_eq!(log.state.settings().framework_id, None);
    assert!(!log.state.settings().teardown_requested);
    // The app stays: the next framework relaunches it.
    assert!(
        log.state
            .app(&PathId::parse("/web", None).unwrap())
            .is_some()
    );
}
