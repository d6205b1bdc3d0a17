//! `apply` of the instance commands: write-ahead provisioning, status idempotence by uuid,
//! stale incarnations, expunging on terminal states, and decommissioning on app deletion.

use super::app::{AppInput, parse_app};
use super::ids::{AgentId, InstanceId, TaskId};
use super::model::{Condition, Goal, Instance, StatusReport};
use super::path::PathId;
use super::time::Timestamp;
use super::{Command, Event, Outcome, PutMode, Rejection, Request, Response, State, StatusEffect};
use std::sync::Arc;

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
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Create,
            deploy: super::Deploy {
                id: super::ids::DeploymentId(format!("create-{id}").into()),
                force: true,
            },
        })
        .expect("app created");
    }

    fn provision(&mut self, app: &str) -> InstanceId {
        let app = PathId::parse(app, None).expect("app path");
        let id = InstanceId::for_app(&app, uuid::Uuid::new_v4());
        let instance = Instance {
            agent: Some(AgentId("agent-1".into())),
            hostname: Some("127.0.1.1".into()),
            host_ports: vec![31000],
            ..Instance::fixture(id.clone(), app, Timestamp(0))
        };
        let outcome = self.apply(Command::ProvisionInstance {
            instance: Box::new(instance),
        });
        assert_eq!(outcome, Ok(Outcome::InstanceProvisioned { id: id.clone() }));
        id
    }

    fn status(&mut self, task: &TaskId, condition: Condition, uuid: Option<&str>) -> StatusEffect {
        let report = StatusReport {
            agent: Some(AgentId("agent-1".into())),
            status_uuid: uuid.map(String::from),
            ..StatusReport::fixture(task.clone(), condition)
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
    assert_eq!(instance.task_id().0, format!("{id}._app.1").into());
    assert_eq!(instance.task_id().instance(), Some((id.clone(), 1)));
}

#[test]
fn provisioning_needs_the_app_and_a_fresh_id() {
    let mut log = Log::new();
    let app = PathId::parse("/missing", None).unwrap();
    let instance = Instance::fixture(
        InstanceId::for_app(&app, uuid::Uuid::new_v4()),
        app.clone(),
        Timestamp(0),
    );
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
    let old = TaskId(format!("{id}._app.0").into());
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

fn deploy(id: &str, force: bool) -> super::Deploy {
    super::Deploy {
        id: super::ids::DeploymentId(id.into()),
        force,
    }
}

fn path(id: &str) -> PathId {
    PathId::parse(id, None).expect("app path")
}

#[test]
fn a_restart_is_a_new_version_of_the_same_definition_with_a_rolling_restart() {
    use super::model::DeploymentAction;
    let mut log = Log::new();
    log.create_app("/web", 2);
    let before = log.state.app(&path("/web")).unwrap().clone();
    let restart = |force| Command::RestartApp {
        id: path("/web"),
        deploy: deploy("restart-web", force),
    };
    // The creation's deployment still holds the app.
    assert!(matches!(
        log.apply(restart(false)),
        Err(Rejection::AppLocked { .. })
    ));
    let Ok(Outcome::App {
        app,
        created,
        deployment,
    }) = log.apply(restart(true))
    else {
        panic!("restart refused");
    };
    assert!(!created);
    assert_eq!(deployment.0, "restart-web".into());
    assert_eq!(app.spec, before.spec, "the definition is unchanged");
    assert_eq!(app.revision, before.revision + 1);
    assert!(app.version > before.version);
    assert_eq!(app.version_info.last_config_change_at, app.version);
    assert_eq!(log.state.app_versions(&path("/web")).len(), 2);
    assert!(log.state.deployment(&before_deployment("/web")).is_none());
    let d = log
        .state
        .deployment(&deployment)
        .expect("restart deployment");
    assert_eq!(
        d.steps.iter().flat_map(|s| &s.actions).collect::<Vec<_>>(),
        vec![&DeploymentAction::RestartApplication { app: path("/web") }]
    );
    let missing = Command::RestartApp {
        id: path("/nope"),
        deploy: deploy("restart-nope", true),
    };
    assert_eq!(
        log.apply(missing),
        Err(Rejection::AppNotFound(path("/nope")))
    );
}

fn before_deployment(app: &str) -> super::ids::DeploymentId {
    super::ids::DeploymentId(format!("create-{app}").into())
}

#[test]
fn a_kill_without_scale_decommissions_and_keeps_the_instance_count() {
    let mut log = Log::new();
    log.create_app("/web", 2);
    let a = log.provision("/web");
    let b = log.provision("/web");
    let gone = InstanceId("web.instance-gone".into());
    let outcome = log.apply(Command::KillInstances {
        ids: vec![a.clone(), a.clone(), gone],
        scale: None,
    });
    let Ok(Outcome::InstancesKilled { killed, scaled }) = outcome else {
        panic!("kill refused: {outcome:?}");
    };
    assert_eq!(scaled, None);
    assert_eq!(killed.len(), 1, "duplicates and unknown ids are skipped");
    assert_eq!(killed[0].id, a);
    assert_eq!(killed[0].goal, Goal::Decommissioned);
    assert_eq!(log.state.instance(&b).unwrap().goal, Goal::Running);
    assert_eq!(log.state.app(&path("/web")).unwrap().spec.instances, 2);
    // No lock applies to a plain kill: the creation's deployment still holds the app.
    assert!(log.state.deployment(&before_deployment("/web")).is_some());
}

#[test]
fn a_kill_with_scale_lowers_instances_in_one_deployment_and_respects_locks() {
    use super::model::DeploymentAction;
    let mut log = Log::new();
    log.create_app("/web", 3);
    log.create_app("/db", 2);
    let w1 = log.provision("/web");
    let w2 = log.provision("/web");
    let d1 = log.provision("/db");
    let kill = |force| Command::KillInstances {
        ids: vec![w1.clone(), w2.clone(), d1.clone()],
        scale: Some(deploy("kill-scale", force)),
    };
    assert!(matches!(
        log.apply(kill(false)),
        Err(Rejection::AppLocked { .. })
    ));
    assert_eq!(
        log.state.instance(&w1).unwrap().goal,
        Goal::Running,
        "a refused kill changes nothing"
    );
    let outcome = log.apply(kill(true));
    let Ok(Outcome::InstancesKilled {
        killed,
        scaled: Some((deployment, version)),
    }) = outcome
    else {
        panic!("kill refused: {outcome:?}");
    };
    assert_eq!(killed.len(), 3);
    assert!(killed.iter().all(|i| i.goal == Goal::Decommissioned));
    let web = log.state.app(&path("/web")).unwrap();
    let db = log.state.app(&path("/db")).unwrap();
    assert_eq!((web.spec.instances, db.spec.instances), (1, 1));
    assert_eq!(web.version, version);
    assert!(
        web.version_info.last_config_change_at < web.version,
        "a scale is not a configuration change"
    );
    let d = log.state.deployment(&deployment).expect("scale deployment");
    let mut actions: Vec<&DeploymentAction> = d.steps.iter().flat_map(|s| &s.actions).collect();
    actions.sort_by_key(|a| a.app().to_string());
    assert_eq!(
        actions,
        vec![
            &DeploymentAction::ScaleApplication {
                app: path("/db"),
                instances: 1
            },
            &DeploymentAction::ScaleApplication {
                app: path("/web"),
                instances: 1
            },
        ]
    );
    assert!(log.state.deployment(&before_deployment("/web")).is_none());
    assert!(log.state.deployment(&before_deployment("/db")).is_none());
    // Killing an already decommissioned instance with scale lowers nothing further.
    let again = log.apply(Command::KillInstances {
        ids: vec![w1.clone()],
        scale: Some(deploy("kill-again", true)),
    });
    assert!(matches!(
        again,
        Ok(Outcome::InstancesKilled {
            scaled: Some(_),
            ..
        })
    ));
    assert_eq!(log.state.app(&path("/web")).unwrap().spec.instances, 1);
}

#[test]
fn an_app_keeps_its_newest_versions_and_the_rows_of_the_rest_go() {
    use super::MAX_APP_VERSIONS;
    use super::rows::{RowKey, Table};
    let mut log = Log::new();
    log.create_app("/web", 1);
    let put = |instances: usize| {
        let body = format!(r#"{{"id": "/web", "cmd": "sleep 100", "instances": {instances}}}"#);
        let app = parse_app(body.as_bytes(), AppInput::Create).expect("valid app");
        Command::PutApp {
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: deploy(&format!("scale-{instances}"), true),
        }
    };
    for n in 2..=MAX_APP_VERSIONS {
        log.apply(put(n)).expect("app updated");
    }
    let first = log.state.app_versions(&path("/web"))[0];
    assert_eq!(
        log.state.app_versions(&path("/web")).len(),
        MAX_APP_VERSIONS
    );

    // One more version trims the oldest, and its row is among those the write touched.
    log.index += 1;
    let request = Request::new(
        Timestamp(1_000 + log.index as i64),
        None,
        put(MAX_APP_VERSIONS + 1),
    );
    let (response, applied) = log.state.apply((log.index, 0), &request);
    response.expect("app updated");
    let versions = log.state.app_versions(&path("/web"));
    assert_eq!(versions.len(), MAX_APP_VERSIONS);
    assert!(!versions.contains(&first), "the oldest version is gone");
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert_eq!(
        log.state.app(&path("/web")).map(|a| a.version),
        versions.last().copied(),
        "the newest version is the app's own"
    );
    let gone = RowKey::AppVersion(path("/web"), first);
    assert!(applied.touched.contains(&gone), "{:?}", applied.touched);
    assert_eq!(log.state.row(&gone).expect("row"), None);

    // A node that loads the rows has the same versions, with their definitions.
    let rows = log.state.rows().expect("rows");
    let loaded = State::from_rows(&rows).expect("loads");
    assert_eq!(loaded.app_versions(&path("/web")), versions);
    for v in &versions {
        assert_eq!(
            loaded.app_version(&path("/web"), *v),
            log.state.app_version(&path("/web"), *v)
        );
    }

    // Deleting the app takes every version row with it.
    log.apply(Command::DeleteApp {
        id: path("/web"),
        expected_revision: None,
        deploy: deploy("delete-web", true),
    })
    .expect("app deleted");
    assert!(log.state.app_versions(&path("/web")).is_empty());
    let rows = log.state.rows().expect("rows");
    assert!(
        rows.iter().all(|r| r.table != Table::AppVersions),
        "{rows:?}"
    );
}
