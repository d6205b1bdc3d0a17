//! `apply` of the group commands: subtree replacement, dependency-ordered plans, cycles, locks,
//! scaleBy, deletion, bounded versions and rollback, persistence of versions.

use super::parse::{GroupRequest, parse_group};
use super::{GroupUpdate, MAX_GROUP_VERSIONS};
use crate::state::app::{AppInput, parse_app};
use crate::state::ids::DeploymentId;
use crate::state::model::Deployment;
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Command, Deploy, Event, Outcome, PutMode, Rejection, Request, Response, State};
use serde_json::{Value, json};

fn p(s: &str) -> PathId {
    PathId::parse(s, None).expect("test path")
}

struct Log {
    state: State,
    index: u64,
    /// The events of the last command.
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

    fn apply_as(&mut self, command: Command) -> Response {
        self.index += 1;
        let request = Request::new(Timestamp(1_000 + self.index as i64), None, command);
        let (response, applied) = self.state.apply((self.index, 0), &request);
        self.events = applied.events;
        response
    }

    fn deploy(&self, force: bool) -> Deploy {
        Deploy {
            id: DeploymentId(format!("d{}", self.index + 1)),
            force,
        }
    }

    fn put(&mut self, body: Value, mode: PutMode, force: bool) -> Response {
        let update = update(body);
        let deploy = self.deploy(force);
        self.apply_as(Command::PutGroup {
            update: Box::new(update),
            mode,
            deploy,
        })
    }

    fn deployment(&self, response: &Response) -> Option<&Deployment> {
        match response {
            Ok(Outcome::Group { deployment, .. }) => self.state.deployment(deployment),
            other => panic!("not a group outcome: {other:?}"),
        }
    }

    fn steps(&self, response: &Response) -> Vec<Vec<String>> {
        self.deployment(response)
            .map(|d| {
                d.steps
                    .iter()
                    .map(|s| {
                        s.actions
                            .iter()
                            .map(|a| format!("{} {}", a.name(), a.app()))
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn instances(&self, app: &str) -> Option<u32> {
        self.state.app(&p(app)).map(|a| a.spec.instances)
    }
}

fn update(body: Value) -> GroupUpdate {
    match parse_group(body.to_string().as_bytes(), &PathId::root()).expect("valid group") {
        GroupRequest::Update(u) => u,
        other => panic!("not an update: {other:?}"),
    }
}

fn shop() -> Value {
    json!({
        "id": "/shop",
        "apps": [{"id": "web", "cmd": "w", "instances": 2, "dependencies": ["/shop/back"]}],
        "groups": [{"id": "back", "apps": [
            {"id": "api", "cmd": "a", "dependencies": ["../db"]},
            {"id": "db", "cmd": "d", "instances": 3}
        ]}]
    })
}

#[test]
fn a_nested_group_deploys_in_dependency_order() {
    let mut log = Log::new();
    let r = log.put(shop(), PutMode::Create, false);
    assert_eq!(
        log.steps(&r),
        vec![
            vec!["StartApplication /shop/back/db"],
            vec!["ScaleApplication /shop/back/db"],
            vec!["ScaleApplication /shop/back/api"],
            vec!["ScaleApplication /shop/web"],
        ]
    );
    assert!(log.state.group_exists(&p("/shop/back")));
    assert_eq!(log.instances("/shop/back/db"), Some(3));
    let Ok(Outcome::Group { version, .. }) = r else {
        panic!("not a group outcome")
    };
    assert!(log.events.contains(&Event::GroupChanged {
        id: p("/shop"),
        version
    }));
    assert!(log.events.contains(&Event::GroupCreated {
        id: p("/shop/back")
    }));
    // One deployment holds every app: a second create is refused, the group exists.
    assert_eq!(
        log.put(shop(), PutMode::Create, false),
        Err(Rejection::GroupExists(p("/shop")))
    );
}

#[test]
fn group_dependencies_are_inherited_by_its_apps() {
    let mut log = Log::new();
    let r = log.put(
        json!({"id": "/x", "groups": [
            {"id": "front", "dependencies": ["/x/data"], "apps": [{"id": "ui", "cmd": "u"}]},
            {"id": "data", "apps": [{"id": "pg", "cmd": "p"}]}
        ]}),
        PutMode::Upsert,
        false,
    );
    let steps = log.steps(&r);
    assert_eq!(steps[1], vec!["ScaleApplication /x/data/pg"]);
    assert_eq!(steps[2], vec!["ScaleApplication /x/front/ui"]);
}

#[test]
fn a_cycle_is_refused_and_changes_nothing() {
    let mut log = Log::new();
    let r = log.put(
        json!({"id": "/c", "apps": [
            {"id": "a", "cmd": "x", "dependencies": ["/c/b"]},
            {"id": "b", "cmd": "x", "dependencies": ["/c/a"]}
        ]}),
        PutMode::Create,
        false,
    );
    match r {
        Err(Rejection::Invalid(m)) => assert!(m.contains("cyclic"), "{m}"),
        other => panic!("not refused: {other:?}"),
    }
    assert!(!log.state.group_exists(&p("/c")));
    assert_eq!(log.state.app_count(), 0);
}

#[test]
fn locks_refuse_until_forced() {
    let mut log = Log::new();
    let first = log.put(shop(), PutMode::Create, false);
    let first_id = log.deployment(&first).unwrap().id.clone();
    let scale = |log: &mut Log, force| {
        let deploy = log.deploy(force);
        log.apply_as(Command::ScaleGroup {
            id: p("/shop"),
            factor: 2.0,
            deploy,
        })
    };
    match scale(&mut log, false) {
        Err(Rejection::AppLocked { deployments, .. }) => {
            assert_eq!(deployments, vec![first_id.clone()])
        }
        other => panic!("not locked: {other:?}"),
    }
    assert_eq!(log.instances("/shop/back/db"), Some(3), "nothing changed");
    let r = scale(&mut log, true);
    assert!(log.state.deployment(&first_id).is_none(), "cancelled");
    assert_eq!(log.instances("/shop/back/db"), Some(6));
    assert_eq!(log.instances("/shop/back/api"), Some(2));
    assert_eq!(
        log.steps(&r),
        vec![
            vec!["ScaleApplication /shop/back/db"],
            vec!["ScaleApplication /shop/back/api"],
            vec!["ScaleApplication /shop/web"],
        ]
    );
}

#[test]
fn scale_by_rounds_up() {
    let mut log = Log::new();
    log.put(
        json!({"id": "/s", "apps": [{"id": "a", "cmd": "x", "instances": 3}, {"id": "b", "cmd": "x", "instances": 1}]}),
        PutMode::Create,
        true,
    )
    .unwrap();
    let deploy = log.deploy(true);
    log.apply_as(Command::ScaleGroup {
        id: p("/s"),
        factor: 1.5,
        deploy,
    })
    .unwrap();
    assert_eq!(log.instances("/s/a"), Some(5));
    assert_eq!(log.instances("/s/b"), Some(2));
}

#[test]
fn an_update_keeps_what_it_leaves_out_and_replaces_what_it_lists() {
    let mut log = Log::new();
    log.put(shop(), PutMode::Create, true).unwrap();
    // Only the apps of /shop/back: web and the group's dependencies stay, api goes.
    let r = log.put(
        json!({"id": "/shop", "groups": [{"id": "back", "apps": [{"id": "db", "cmd": "d2", "instances": 3}]}]}),
        PutMode::Upsert,
        true,
    );
    assert_eq!(
        log.steps(&r),
        vec![
            vec!["StopApplication /shop/back/api"],
            vec!["RestartApplication /shop/back/db"],
        ]
    );
    assert!(log.state.app(&p("/shop/web")).is_some());
    assert!(log.state.app(&p("/shop/back/api")).is_none());
}

#[test]
fn delete_removes_every_app_and_group_below() {
    let mut log = Log::new();
    log.put(shop(), PutMode::Create, true).unwrap();
    let deploy = log.deploy(true);
    let r = log.apply_as(Command::DeleteGroup {
        id: p("/shop"),
        deploy,
    });
    assert_eq!(
        log.steps(&r),
        vec![vec![
            "StopApplication /shop/back/api",
            "StopApplication /shop/back/db",
            "StopApplication /shop/web",
        ]]
    );
    assert_eq!(log.state.app_count(), 0);
    assert!(!log.state.group_exists(&p("/shop")));
    assert!(!log.state.group_exists(&p("/shop/back")));
    assert!(log.state.group_versions(&p("/shop")).is_empty());
    let deploy = log.deploy(true);
    assert_eq!(
        log.apply_as(Command::DeleteGroup {
            id: p("/shop"),
            deploy
        }),
        Err(Rejection::GroupNotFound(p("/shop")))
    );
}

#[test]
fn versions_are_bounded_and_a_rollback_restores_one() {
    let mut log = Log::new();
    log.put(shop(), PutMode::Create, true).unwrap();
    let first = log.state.group_versions(&p("/shop"));
    assert_eq!(first.len(), 1);
    let deploy = log.deploy(true);
    log.apply_as(Command::ScaleGroup {
        id: p("/shop"),
        factor: 3.0,
        deploy,
    })
    .unwrap();
    assert_eq!(log.instances("/shop/web"), Some(6));
    // The subgroup changed too: it has its own history.
    assert_eq!(log.state.group_versions(&p("/shop/back")).len(), 2);
    let deploy = log.deploy(true);
    let r = log.apply_as(Command::RollbackGroup {
        id: p("/shop"),
        version: first[0],
        deploy,
    });
    assert_eq!(log.instances("/shop/web"), Some(2));
    assert_eq!(log.instances("/shop/back/db"), Some(3));
    assert!(
        log.steps(&r)
            .iter()
            .flatten()
            .all(|a| a.starts_with("Scale"))
    );
    let deploy = log.deploy(true);
    assert_eq!(
        log.apply_as(Command::RollbackGroup {
            id: p("/shop"),
            version: Timestamp(1),
            deploy
        }),
        Err(Rejection::GroupVersionNotFound(p("/shop"), Timestamp(1)))
    );
    for _ in 0..MAX_GROUP_VERSIONS + 5 {
        log.put(json!({"id": "/shop"}), PutMode::Upsert, true)
            .unwrap();
    }
    let versions = log.state.group_versions(&p("/shop"));
    assert_eq!(versions.len(), MAX_GROUP_VERSIONS);
    assert!(!versions.contains(&first[0]), "the oldest went first");
    // Versions survive a restart (rows) and a snapshot.
    let rows = log.state.rows().expect("rows");
    let back = State::from_rows(&rows).expect("loads");
    assert_eq!(back.group_versions(&p("/shop")), versions);
    assert_eq!(
        back.group_at(&p("/shop"), versions[0]),
        log.state.group_at(&p("/shop"), versions[0])
    );
}

#[test]
fn groups_and_apps_cannot_overlap() {
    let mut log = Log::new();
    let app = parse_app(br#"{"id": "/solo", "cmd": "x"}"#, AppInput::Create).unwrap();
    log.apply_as(Command::PutApp {
        app: Box::new(app),
        expected_revision: None,
        mode: PutMode::Create,
        deploy: Deploy {
            id: DeploymentId("app".into()),
            force: true,
        },
    })
    .unwrap();
    assert_eq!(
        log.put(json!({"id": "/solo"}), PutMode::Create, true),
        Err(Rejection::AppExists(p("/solo")))
    );
    assert!(matches!(
        log.put(json!({"id": "/solo/inner"}), PutMode::Upsert, true),
        Err(Rejection::Invalid(_))
    ));
    assert!(matches!(
        log.put(
            json!({"id": "/g", "apps": [{"id": "a", "cmd": "x"}], "groups": [{"id": "a"}]}),
            PutMode::Upsert,
            true
        ),
        Err(Rejection::Invalid(_))
    ));
}

#[test]
fn a_dry_run_changes_nothing() {
    let mut log = Log::new();
    let command = Command::PutGroup {
        update: Box::new(update(shop())),
        mode: PutMode::Create,
        deploy: log.deploy(false),
    };
    let plan = log.state.dry_run(Timestamp(5), &command).expect("plans");
    assert_eq!(plan.steps.len(), 4);
    assert_eq!(log.state.app_count(), 0);
    assert!(!log.state.group_exists(&p("/shop")));
    assert!(log.apply_as(command).is_ok());
}

#[test]
fn an_empty_group_exists_and_is_listed() {
    let mut log = Log::new();
    let r = log.put(json!({"id": "/empty"}), PutMode::Create, false);
    assert!(log.deployment(&r).is_none(), "nothing to deploy");
    assert!(log.state.group_exists(&p("/empty")));
    assert_eq!(log.state.subtree(&p("/empty")).unwrap().apps.len(), 0);
}

#[test]
fn apps_under_is_prefix_safe() {
    let mut log = Log::new();
    log.put(
        json!({"id": "/a", "apps": [{"id": "x", "cmd": "x"}]}),
        PutMode::Create,
        true,
    )
    .unwrap();
    log.put(
        json!({"id": "/a-b", "apps": [{"id": "y", "cmd": "y"}]}),
        PutMode::Create,
        true,
    )
    .unwrap();
    let ids: Vec<String> = log
        .state
        .apps_under(&p("/a"))
        .map(|a| a.spec.id.to_string())
        .collect();
    assert_eq!(ids, ["/a/x"]);
}
