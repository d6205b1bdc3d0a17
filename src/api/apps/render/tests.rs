//! The views against the `Value` renderer they replaced (kept here, verbatim in behaviour), over
//! a fixture of apps and tasks that exercises every field: a field dropped, renamed or changed
//! in value fails these tests.

use super::*;
use crate::api::apps::document;
use crate::api::groups::{Embed, GroupView, group_json};
use crate::state::State;
use crate::state::app::{
    AppDefinition, AppInput, Container, Network, NetworkMode, PortMapping, parse_app,
};
use crate::state::command::{Command, Deploy, PutMode, Request};
use crate::state::health::{CheckResult, HealthResult, ReadinessResponse};
use crate::state::ids::{AgentId, DeploymentId, InstanceId, TaskId};
use crate::state::model::{Condition, Instance, StatusReport};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The renderer before the views: a `Value` tree per app and per task.
mod legacy {
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
}

/// Commands applied in order, as the state machine would.
struct Log {
    state: State,
    index: u64,
}

impl Log {
    fn apply(&mut self, time: i64, command: Command) {
        self.index += 1;
        let request = Request::new(Timestamp(time), None, command);
        let (response, _) = self.state.apply((self.index, 0), &request);
        response.expect("the fixture's command applies");
    }

    fn put_app(&mut self, time: i64, app: AppDefinition) {
        let deploy = Deploy {
            id: DeploymentId(format!("deploy-{}", self.index).into()),
            force: true,
        };
        let command = Command::PutApp {
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Create,
            deploy,
        };
        self.apply(time, command);
    }

    fn provision(&mut self, time: i64, instance: Instance) -> InstanceId {
        let id = instance.id.clone();
        let instance = Box::new(instance);
        self.apply(time, Command::ProvisionInstance { instance });
        id
    }

    fn status(&mut self, time: i64, id: &InstanceId, report: StatusReport) {
        let report = StatusReport {
            task_id: TaskId(format!("{id}._app.1").into()),
            ..report
        };
        self.apply(time, Command::RecordStatus { report });
    }
}

fn app(body: serde_json::Value) -> AppDefinition {
    parse_app(body.to_string().as_bytes(), AppInput::Create).expect("a valid fixture app")
}

fn path(s: &str) -> PathId {
    PathId::parse(s, None).expect("a valid path")
}

fn instance(app: &str, n: u128, version: i64) -> Instance {
    let app = path(app);
    let id = InstanceId::for_app(&app, uuid::Uuid::from_u128(n));
    Instance::fixture(id, app, Timestamp(version))
}

fn placed(instance: Instance, agent: &str, host: &str, ports: Vec<u32>) -> Instance {
    Instance {
        agent: Some(AgentId(agent.into())),
        hostname: Some(host.into()),
        host_ports: ports,
        ..instance
    }
}

fn health(alive: bool, failures: u32, at: i64) -> HealthResult {
    HealthResult {
        alive,
        consecutive_failures: failures,
        first_success: Some(Timestamp(at - 5_000)),
        last_success: alive.then_some(Timestamp(at)),
        last_failure: (!alive).then_some(Timestamp(at)),
        last_failure_cause: (!alive).then(|| "HTTP 503 \"unavailable\"\n".to_string()),
    }
}

const T0: i64 = 1_700_000_000_123;

/// Apps with host and container networking, health checks passing and failing, a readiness
/// check with and without a kept response, Mesos check results of each kind, tasks staged,
/// running and only provisioned, a last task failure, an app in a nested group, an app with
/// no instances.
fn fixture() -> State {
    let mut log = Log {
        state: State::default(),
        index: 0,
    };
    log.put_app(
        T0,
        app(json!({
            "id": "/web",
            "cmd": "python3 -m http.server $PORT0",
            "instances": 4,
            "labels": { "tier": "front", "owner": "ops" },
            "env": { "MODE": "prod", "QUOTE": "say \"hi\"" },
            "portDefinitions": [{ "port": 10000, "name": "http" }, { "port": 10001 }],
            "healthChecks": [
                { "protocol": "HTTP", "path": "/health", "portIndex": 0 },
                { "protocol": "TCP", "portIndex": 1 }
            ],
            "readinessChecks": [{ "name": "ready", "path": "/ready", "portName": "http",
                                  "preserveLastResponse": true }],
        })),
    );
    let web = log.state.app(&path("/web")).expect("web").version.millis();
    let healthy = Instance {
        health: [(0, health(true, 0, T0 + 50)), (1, health(true, 0, T0 + 60))].into(),
        ready: true,
        readiness_response: Some(ReadinessResponse {
            status: 200,
            content_type: Some("application/json".into()),
            body: "{\"ok\":true}".into(),
        }),
        ..placed(
            instance("/web", 1, web),
            "agent-1",
            "10.0.0.1",
            vec![31000, 31001],
        )
    };
    let healthy = log.provision(T0 + 10, healthy);
    log.status(T0 + 20, &healthy, running());
    let failing = Instance {
        health: [(0, health(false, 3, T0 + 70))].into(),
        ..placed(
            instance("/web", 2, web),
            "agent-2",
            "10.0.0.2",
            vec![31002, 31003],
        )
    };
    let failing = log.provision(T0 + 11, failing);
    log.status(T0 + 21, &failing, running());
    let unready = Instance {
        health: [(0, health(true, 0, T0 + 80))].into(),
        ready: false,
        ..placed(
            instance("/web", 3, web),
            "agent-1",
            "10.0.0.1",
            vec![31004, 31005],
        )
    };
    let unready = log.provision(T0 + 12, unready);
    log.status(T0 + 22, &unready, running());
    let staging = placed(
        instance("/web", 4, web),
        "agent-3",
        "10.0.0.3",
        vec![31006, 31007],
    );
    let staging = log.provision(T0 + 13, staging);
    log.status(
        T0 + 23,
        &staging,
        StatusReport::fixture(TaskId("".into()), Condition::Staging),
    );
    log.provision(T0 + 14, instance("/web", 5, web));
    let crashed = placed(
        instance("/web", 6, web),
        "agent-4",
        "10.0.0.4",
        vec![31008, 31009],
    );
    let crashed = log.provision(T0 + 15, crashed);
    log.status(
        T0 + 30,
        &crashed,
        StatusReport {
            agent: Some(AgentId("agent-4".into())),
            message: Some("Command exited with status 1".into()),
            ..StatusReport::fixture(TaskId("".into()), Condition::Failed)
        },
    );

    // Container networking (refused by the parser today, served as stored): no port
    // definitions, the container's port mappings kept.
    let mut db = app(json!({
        "id": "/db",
        "cmd": "postgres",
        "instances": 3,
        "container": { "type": "DOCKER", "docker": { "image": "postgres:16" } },
        "check": { "tcp": { "portIndex": 0 } },
    }));
    db.networks = vec![Network {
        mode: NetworkMode::ContainerBridge,
        ..Network::host()
    }];
    let mapping: PortMapping =
        serde_json::from_value(json!({ "containerPort": 5432, "hostPort": 0, "name": "pg" }))
            .expect("a port mapping");
    if let Some(container) = db.container.as_mut() {
        container.port_mappings = vec![mapping];
    }
    log.put_app(T0 + 1_000, db);
    let db = log.state.app(&path("/db")).expect("db").version.millis();
    for (n, check) in [
        (
            11,
            CheckResult::Tcp {
                succeeded: Some(true),
            },
        ),
        (
            12,
            CheckResult::Http {
                status_code: Some(204),
            },
        ),
        (13, CheckResult::Command { exit_code: None }),
    ] {
        let i = placed(
            instance("/db", n, db),
            "agent-2",
            "10.0.0.2",
            vec![32000 + n as u32],
        );
        let id = log.provision(T0 + 1_010, i);
        log.status(
            T0 + 1_020,
            &id,
            StatusReport {
                check: Some(check),
                ..running()
            },
        );
    }

    // Host networking with a container: its port mappings are not served.
    let mut cli = app(json!({
        "id": "/tools/batch/cli",
        "cmd": "sleep 1000",
        "container": { "type": "MESOS" },
    }));
    if let Some(container) = cli.container.as_mut() {
        let mapping: PortMapping =
            serde_json::from_value(json!({ "containerPort": 80 })).expect("a port mapping");
        container.port_mappings = vec![mapping];
    }
    assert!(
        matches!(&cli.container, Some(Container { port_mappings, .. }) if !port_mappings.is_empty())
    );
    log.put_app(T0 + 2_000, cli);
    let cli = log
        .state
        .app(&path("/tools/batch/cli"))
        .expect("cli")
        .version
        .millis();
    let id = log.provision(
        T0 + 2_010,
        placed(
            instance("/tools/batch/cli", 21, cli),
            "agent-1",
            "10.0.0.1",
            vec![],
        ),
    );
    log.status(T0 + 2_020, &id, running());
    log.put_app(
        T0 + 3_000,
        app(json!({ "id": "/tools/idle", "cmd": "true", "instances": 0 })),
    );
    log.state
}

fn running() -> StatusReport {
    StatusReport {
        status_uuid: Some("dXVpZA==".into()),
        ..StatusReport::fixture(TaskId("".into()), Condition::Running)
    }
}

/// The bytes as a `Value`, after checking they hold no key twice (a duplicate would be
/// dropped by the parse, and then the re-encoded document is shorter).
fn parsed(bytes: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(bytes).expect("valid JSON");
    let again = serde_json::to_vec(&value).expect("encodable");
    assert_eq!(again.len(), bytes.len(), "a key written twice in {value}");
    value
}

fn bytes(view: impl Serialize) -> Vec<u8> {
    serde_json::to_vec(&view).expect("renders")
}

#[test]
fn the_fixture_exercises_every_part_of_the_documents() {
    let state = fixture();
    let web = state.app(&path("/web")).expect("web");
    let doc = parsed(&bytes(AppView::new(web, &state, AppEmbed::INFO_WITH_TASKS)));
    assert_eq!(doc["tasksRunning"], 3);
    assert_eq!(doc["tasksStaged"], 2);
    assert_eq!(doc["tasksHealthy"], 1);
    assert_eq!(doc["tasksUnhealthy"], 1);
    assert_eq!(doc["deployments"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        doc["readinessCheckResults"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(doc["lastTaskFailure"]["state"], "TASK_FAILED");
    assert_eq!(doc["lastTaskFailure"]["slaveId"], "agent-4");
    assert_eq!(doc["portDefinitions"].as_array().map(Vec::len), Some(2));
    let tasks = doc["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 5);
    assert!(
        tasks
            .iter()
            .any(|t| t["host"].is_null() && t["slaveId"].is_null())
    );
    assert!(
        tasks
            .iter()
            .any(|t| t["healthCheckResults"].as_array().map(Vec::len) == Some(2))
    );
    let db = state.app(&path("/db")).expect("db");
    let doc = parsed(&bytes(AppView::new(db, &state, AppEmbed::INFO_WITH_TASKS)));
    assert!(doc.get("portDefinitions").is_none());
    assert_eq!(doc["container"]["portMappings"][0]["containerPort"], 5432);
    let checks: Vec<&Value> = doc["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| &t["checkResult"])
        .collect();
    assert_eq!(
        checks,
        [
            &json!({ "tcp": { "succeeded": true } }),
            &json!({ "http": { "statusCode": 204 } }),
            &json!({ "command": { "exitCode": null } })
        ]
    );
    let cli = state.app(&path("/tools/batch/cli")).expect("cli");
    let doc = parsed(&bytes(AppView::new(cli, &state, AppEmbed::INFO)));
    assert_eq!(doc["container"], json!({ "type": "MESOS", "volumes": [] }));
}

#[test]
fn app_documents_are_the_value_renderers_for_every_embed() {
    let state = fixture();
    let embeds = [false, true].into_iter().flat_map(|counts| {
        [false, true].into_iter().flat_map(move |deployments| {
            [false, true]
                .into_iter()
                .flat_map(move |last_task_failure| {
                    [false, true].map(|tasks| AppEmbed {
                        counts,
                        deployments,
                        last_task_failure,
                        tasks,
                    })
                })
        })
    });
    let mut compared = 0;
    for embed in embeds {
        for record in state.apps() {
            let mut want = legacy::app_info(record, &state);
            let map = want.as_object_mut().expect("an object");
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
                map.insert(
                    "tasks".into(),
                    json!(legacy::tasks(&state, &record.spec.id)),
                );
            }
            let view = AppView::new(record, &state, embed);
            assert_eq!(parsed(&bytes(&view)), want, "{} {embed:?}", record.spec.id);
            assert_eq!(to_value(&view), want, "{} {embed:?}", record.spec.id);
            compared += 1;
        }
    }
    assert_eq!(compared, 16 * 4);
    for record in state.apps() {
        assert_eq!(app_info(record, &state), legacy::app_info(record, &state));
        let text: Value = serde_json::from_str(&app_info_json(record, &state)).expect("JSON");
        assert_eq!(text, app_info(record, &state), "{}", record.spec.id);
        assert_eq!(
            readiness_results(record, &state),
            legacy::readiness_results(record, &state)
        );
        let (staged, running, healthy, unhealthy) = legacy::task_counts(record, &state);
        assert_eq!(
            task_counts(record, &state),
            TaskCounts {
                staged,
                running,
                healthy,
                unhealthy
            }
        );
    }
}

#[test]
fn task_documents_are_the_value_renderers() {
    let state = fixture();
    let instances: Vec<&Instance> = state.instances().collect();
    assert_eq!(instances.len(), 9);
    for instance in &instances {
        let want = legacy::task_json(instance);
        assert_eq!(parsed(&bytes(TaskView(instance))), want);
        assert_eq!(task_json(instance), want);
    }
    let list = document("tasks", Tasks(&instances), 0).expect("renders");
    let want: Vec<Value> = instances.iter().map(|i| legacy::task_json(i)).collect();
    assert_eq!(parsed(&list), json!({ "tasks": want }));
}

#[test]
fn a_task_is_written_exactly() {
    let state = fixture();
    let web = path("/web");
    let task = state
        .instances_of(&web)
        .find(|i| i.health.len() == 1 && !i.health[&0].alive)
        .expect("the failing task");
    let id = "web.instance-00000000-0000-0000-0000-000000000002";
    let want = format!(
        concat!(
            r#"{{"id":"{id}._app.1","appId":"/web","host":"10.0.0.2","slaveId":"agent-2","#,
            r#""state":"TASK_RUNNING","stagedAt":"2023-11-14T22:13:20.134Z","#,
            r#""startedAt":"2023-11-14T22:13:20.144Z","version":"2023-11-14T22:13:20.123Z","#,
            r#""ports":[31002,31003],"servicePorts":[],"#,
            r#""ipAddresses":[{{"ipAddress":"10.0.0.2","protocol":"IPv4"}}],"localVolumes":[],"#,
            r#""healthCheckResults":[{{"alive":false,"consecutiveFailures":3,"#,
            r#""firstSuccess":"2023-11-14T22:13:15.193Z","lastSuccess":null,"#,
            r#""lastFailure":"2023-11-14T22:13:20.193Z","#,
            r#""lastFailureCause":"HTTP 503 \"unavailable\"\n","instanceId":"{id}"}}]}}"#
        ),
        id = id
    );
    assert_eq!(
        String::from_utf8(bytes(TaskView(task))).expect("utf-8"),
        want
    );
}

#[test]
fn list_and_group_documents_are_the_value_renderers() {
    let state = fixture();
    let views: Vec<AppView> = state
        .apps()
        .map(|a| AppView::new(a, &state, AppEmbed::INFO_WITH_TASKS))
        .collect();
    let want: Vec<Value> = state
        .apps()
        .map(|a| {
            let mut doc = legacy::app_info(a, &state);
            doc["tasks"] = json!(legacy::tasks(&state, &a.spec.id));
            doc
        })
        .collect();
    let list = document("apps", &views, 0).expect("renders");
    assert_eq!(parsed(&list), json!({ "apps": want }));

    let embeds: [&[&str]; 6] = [
        &[],
        &["group.groups", "group.apps"],
        &["group.apps.tasks"],
        &[
            "group.groups",
            "group.apps.counts",
            "group.apps.deployments",
        ],
        &[
            "group.groups",
            "group.apps.lastTaskFailure",
            "group.apps.tasks",
            "group.pods",
        ],
        &["group.groups"],
    ];
    let mut groups = vec![PathId::root()];
    groups.extend(state.groups().map(|g| g.id.clone()));
    assert!(groups.contains(&path("/tools/batch")));
    for embed in embeds {
        let embed = Embed::parse(embed).expect("known embeds");
        for id in &groups {
            let want = legacy::group_json(&state, id, embed).expect("the group exists");
            let view = GroupView::new(&state, id, embed).expect("the group exists");
            assert_eq!(parsed(&bytes(&view)), want, "{id} {embed:?}");
            assert_eq!(group_json(&state, id, embed), Some(want));
        }
    }
    let missing = path("/nowhere");
    assert!(GroupView::new(&state, &missing, Embed::default()).is_none());
    assert_eq!(group_json(&state, &missing, Embed::default()), None);
}
