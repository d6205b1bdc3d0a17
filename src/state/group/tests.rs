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
use std::sync::Arc;

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
            id: DeploymentId(format!("d{}", self.index + 1).into()),
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
        app: Arc::new(app),
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

fn app_command(body: Value, mode: PutMode, deploy: Deploy) -> Command {
    Command::PutApp {
        app: Arc::new(parse_app(body.to_string().as_bytes(), AppInput::Create).expect("valid app")),
        expected_revision: None,
        mode,
        deploy,
    }
}

#[test]
fn app_writes_make_a_version_of_every_group_above() {
    let mut log = Log::new();
    let deploy = log.deploy(true);
    let r = log.apply_as(app_command(
        json!({"id": "/v/sub/a", "cmd": "one"}),
        PutMode::Create,
        deploy,
    ));
    let Ok(Outcome::App { app, .. }) = r else {
        panic!("not an app outcome: {r:?}")
    };
    for group in ["/v/sub", "/v", "/"] {
        assert_eq!(
            log.state.group_versions(&p(group)),
            vec![app.version],
            "{group}"
        );
    }
    assert_eq!(log.state.group_version(&p("/")), Some(app.version));
    let created = app.version;
    let deploy = log.deploy(true);
    log.apply_as(app_command(
        json!({"id": "/v/sub/a", "cmd": "two"}),
        PutMode::Upsert,
        deploy,
    ))
    .unwrap();
    let deploy = log.deploy(true);
    log.apply_as(Command::DeleteApp {
        id: p("/v/sub/a"),
        expected_revision: None,
        deploy,
    })
    .unwrap();
    let versions = log.state.group_versions(&p("/v"));
    assert_eq!(versions.len(), 3);
    assert_eq!(log.state.group_versions(&p("/")).len(), 3);
    assert_eq!(log.state.group_version(&p("/v")), Some(versions[2]));
    // Each version is the group as that write left it.
    let cmds = |v| -> Vec<Option<String>> {
        log.state
            .group_at(&p("/v"), v)
            .expect("stored")
            .apps
            .iter()
            .map(|a| a.cmd.clone())
            .collect()
    };
    assert_eq!(cmds(versions[0]), vec![Some("one".to_string())]);
    assert_eq!(cmds(versions[1]), vec![Some("two".to_string())]);
    assert!(cmds(versions[2]).is_empty());
    let at_root = log.state.group_at(&p("/"), created).expect("root version");
    assert_eq!(at_root.groups.len(), 2, "/v and /v/sub");
    // A bulk PUT is one more version of each group above its apps.
    let bulk = Command::PutApps {
        apps: vec![
            parse_app(br#"{"id": "/v/b", "cmd": "b"}"#, AppInput::Create).unwrap(),
            parse_app(br#"{"id": "/w/c", "cmd": "c"}"#, AppInput::Create).unwrap(),
        ],
        expected_revisions: vec![0, 0],
        deploy: log.deploy(true),
    };
    log.apply_as(bulk).unwrap();
    assert_eq!(log.state.group_versions(&p("/v")).len(), 4);
    assert_eq!(log.state.group_versions(&p("/w")).len(), 1);
    assert_eq!(log.state.group_versions(&p("/")).len(), 4);
    // A rollback of the group goes back to the app's first definition.
    let deploy = log.deploy(true);
    log.apply_as(Command::RollbackGroup {
        id: p("/v"),
        version: versions[0],
        deploy,
    })
    .unwrap();
    assert_eq!(
        log.state.app(&p("/v/sub/a")).map(|a| a.spec.cmd.clone()),
        Some(Some("one".to_string()))
    );
    assert!(log.state.app(&p("/v/b")).is_none());
    // Bounded, oldest first; and the versions survive a restart.
    for i in 0..MAX_GROUP_VERSIONS + 3 {
        let deploy = log.deploy(true);
        log.apply_as(app_command(
            json!({"id": "/v/sub/a", "cmd": format!("n{i}")}),
            PutMode::Upsert,
            deploy,
        ))
        .unwrap();
    }
    let root = log.state.group_versions(&p("/"));
    assert_eq!(root.len(), MAX_GROUP_VERSIONS);
    let back = State::from_rows(&log.state.rows().expect("rows")).expect("loads");
    assert_eq!(back.group_versions(&p("/")), root);
    assert_eq!(
        back.group_at(&p("/v"), root[0]),
        log.state.group_at(&p("/v"), root[0])
    );
    // 5 versions before the loop, 53 in it: the oldest kept is the loop's fourth write.
    assert_eq!(
        log.state.group_at(&p("/v/sub"), root[0]).unwrap().apps[0].cmd,
        Some("n3".to_string())
    );
}

#[test]
fn a_group_has_the_root_versions_that_changed_it() {
    let mut log = Log::new();
    let write = |log: &mut Log, id: &str, cmd: String| {
        let deploy = log.deploy(true);
        match log.apply_as(app_command(
            json!({"id": id, "cmd": cmd}),
            PutMode::Upsert,
            deploy,
        )) {
            Ok(Outcome::App { app, .. }) => app.version,
            other => panic!("not an app outcome: {other:?}"),
        }
    };
    let x = write(&mut log, "/x/a", "x".to_string());
    let first_y = write(&mut log, "/y/b", "y0".to_string());
    assert_eq!(log.state.group_versions(&p("/x")), vec![x]);
    assert_eq!(log.state.group_versions(&p("/y")), vec![first_y]);
    assert_eq!(log.state.group_versions(&p("/")), vec![x, first_y]);
    // A version of another group is not one of this group's.
    assert!(log.state.group_at(&p("/x"), first_y).is_none());
    assert_eq!(log.state.group_at(&p("/x"), x).unwrap().apps.len(), 1);
    for i in 1..=MAX_GROUP_VERSIONS {
        write(&mut log, "/y/b", format!("y{i}"));
    }
    // The bound is the root's: /x's only version went with the oldest root versions ...
    assert!(log.state.group_versions(&p("/x")).is_empty());
    assert_eq!(
        log.state.group_versions(&p("/y")),
        log.state.group_versions(&p("/"))
    );
    assert_eq!(log.state.group_versions(&p("/")).len(), MAX_GROUP_VERSIONS);
    // ... but its version stays that of its newest change, not older.
    assert_eq!(log.state.group_version(&p("/x")), Some(x));
}

#[test]
fn a_group_command_makes_a_version_of_the_groups_above_it() {
    let mut log = Log::new();
    log.put(json!({"id": "/a/b"}), PutMode::Create, true)
        .unwrap();
    assert_eq!(log.state.group_versions(&p("/a")).len(), 1);
    assert_eq!(log.state.group_versions(&p("/")).len(), 1);
    log.put(
        json!({"id": "/a/b", "dependencies": ["/x"]}),
        PutMode::Upsert,
        true,
    )
    .unwrap();
    let root = log.state.group_versions(&p("/"));
    assert_eq!(root.len(), 2);
    let old = log.state.group_at(&p("/"), root[0]).unwrap();
    let b = old.groups.iter().find(|g| g.id == p("/a/b")).unwrap();
    assert!(b.dependencies.is_empty(), "as it was then");
}

/// The groups at and below `id` as (path, dependencies).
fn group_records(state: &State, id: &str) -> Vec<(String, Vec<String>)> {
    state
        .group_nodes(&p(id))
        .unwrap_or_default()
        .into_iter()
        .map(|g| {
            (
                g.id.to_string(),
                g.dependencies.iter().map(|d| d.to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn rolling_back_a_group_deployment_restores_its_groups() {
    let mut log = Log::new();
    let mut shop = shop();
    shop["dependencies"] = json!(["/base"]);
    shop["groups"][0]["dependencies"] = json!(["/base"]);
    log.put(shop, PutMode::Create, true).unwrap();
    let before = group_records(&log.state, "/shop");
    // Dependencies change, back goes (api and db stop), new comes.
    let r = log.put(
        json!({"id": "/shop", "dependencies": [], "groups": [
            {"id": "new", "apps": [{"id": "n", "cmd": "n"}]}
        ]}),
        PutMode::Upsert,
        true,
    );
    let change = log.deployment(&r).expect("a deployment").clone();
    assert_eq!(change.group.as_ref().map(|g| &g.id), Some(&p("/shop")));
    assert!(!log.state.group_exists(&p("/shop/back")));
    let deploy = log.deploy(false);
    let rollback = log.apply_as(Command::RollbackDeployment {
        id: change.id.clone(),
        deploy,
    });
    assert!(rollback.is_ok(), "{rollback:?}");
    assert_eq!(group_records(&log.state, "/shop"), before);
    assert!(!log.state.group_exists(&p("/shop/new")));
    assert!(log.state.app(&p("/shop/back/db")).is_some());
    assert!(log.state.app(&p("/shop/new/n")).is_none());
    // The cancelled deployment reports its group change as failed.
    assert!(log.events.iter().any(|e| matches!(
        e,
        Event::DeploymentCancelled { id, group: Some((g, v)) }
            if *id == change.id && *g == p("/shop") && *v == change.version
    )));

    // A group created by a deployment is gone again after its rollback.
    let r = log.put(
        json!({"id": "/fresh", "groups": [{"id": "inner", "apps": [{"id": "x", "cmd": "x"}]}]}),
        PutMode::Create,
        true,
    );
    let id = log.deployment(&r).expect("a deployment").id.clone();
    let deploy = log.deploy(false);
    log.apply_as(Command::RollbackDeployment { id, deploy })
        .unwrap();
    assert!(!log.state.group_exists(&p("/fresh")));
    assert!(!log.state.group_exists(&p("/fresh/inner")));
    assert!(log.state.app(&p("/fresh/inner/x")).is_none());
}

#[test]
fn a_cycle_through_unchanged_apps_is_refused() {
    let mut log = Log::new();
    log.put(
        json!({"id": "/c", "apps": [{"id": "a", "cmd": "x", "dependencies": ["/c/sub/b"]}],
               "groups": [{"id": "sub", "apps": [{"id": "b", "cmd": "x"}]}]}),
        PutMode::Create,
        true,
    )
    .unwrap();
    // No app changes: only the group's dependencies close the cycle a -> b -> a.
    let r = log.put(
        json!({"id": "/c/sub", "dependencies": ["/c/a"]}),
        PutMode::Upsert,
        true,
    );
    match r {
        Err(Rejection::Invalid(m)) => assert!(m.contains("cyclic"), "{m}"),
        other => panic!("not refused: {other:?}"),
    }
    assert!(
        log.state
            .group(&p("/c/sub"))
            .unwrap()
            .dependencies
            .is_empty()
    );
    // Dependencies on paths that do not exist are accepted, as Marathon does.
    assert!(
        log.put(
            json!({"id": "/c/sub", "dependencies": ["/nowhere"]}),
            PutMode::Upsert,
            true
        )
        .is_ok()
    );
}

#[test]
fn a_group_deployment_succeeds_with_its_group() {
    let mut log = Log::new();
    let r = log.put(shop(), PutMode::Create, false);
    let deployment = log.deployment(&r).expect("a deployment").clone();
    for step in 0..deployment.steps.len() {
        log.apply_as(Command::AdvanceDeployment {
            id: deployment.id.clone(),
            step,
        })
        .unwrap();
    }
    let done = log
        .events
        .iter()
        .find_map(|e| match e {
            Event::DeploymentSucceeded { deployment } => Some(deployment),
            _ => None,
        })
        .expect("succeeded");
    assert_eq!(done.group.as_ref().map(|g| &g.id), Some(&p("/shop")));
    assert_eq!(done.version, deployment.version);
}
