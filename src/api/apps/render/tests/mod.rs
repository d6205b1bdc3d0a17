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

mod apps;
mod groups;
mod legacy;
mod tasks;

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
