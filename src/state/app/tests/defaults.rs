//! What a minimal app is filled in with, and the shape it is written back in.

use std::collections::BTreeMap;

use super::*;

#[test]
fn minimal_app_gets_every_default() {
    let app = ok(minimal());
    let expected = AppDefinition {
        id: pid("/web"),
        cmd: Some("sleep 1000".to_owned()),
        args: vec![],
        user: None,
        instances: 1,
        cpus: 1.0,
        mem: 128.0,
        disk: 0.0,
        gpus: 0,
        executor: String::new(),
        executor_resources: None,
        resource_limits: None,
        env: BTreeMap::new(),
        secrets: BTreeMap::new(),
        labels: BTreeMap::new(),
        constraints: vec![],
        accepted_resource_roles: None,
        role: "*".to_owned(),
        container: None,
        networks: vec![Network::host()],
        port_definitions: vec![PortDefinition::default_port()],
        require_ports: false,
        fetch: vec![],
        health_checks: vec![],
        check: None,
        readiness_checks: vec![],
        dependencies: vec![],
        upgrade_strategy: UpgradeStrategy {
            minimum_health_capacity: 1.0,
            maximum_over_capacity: 1.0,
        },
        backoff_seconds: 1,
        backoff_factor: 1.15,
        max_launch_delay_seconds: 300,
        task_kill_grace_period_seconds: None,
        unreachable_strategy: UnreachableStrategy::Enabled {
            inactive_after_seconds: 0,
            expunge_after_seconds: 0,
        },
        kill_selection: KillSelection::YoungestFirst,
        residency: None,
        tty: None,
    };
    assert_eq!(app, expected);
}

#[test]
fn writer_shape_matches_marathon() {
    let json = ok(minimal()).to_marathon_json();
    let obj = json.as_object().expect("an object");
    for key in [
        "id",
        "backoffFactor",
        "backoffSeconds",
        "cpus",
        "mem",
        "disk",
        "gpus",
        "instances",
        "executor",
        "labels",
        "env",
        "constraints",
        "dependencies",
        "fetch",
        "healthChecks",
        "readinessChecks",
        "maxLaunchDelaySeconds",
        "networks",
        "requirePorts",
        "secrets",
        "upgradeStrategy",
        "unreachableStrategy",
        "killSelection",
        "role",
        "portDefinitions",
    ] {
        assert!(obj.contains_key(key), "missing {key} in {json}");
    }
    for key in [
        "args",
        "user",
        "acceptedResourceRoles",
        "check",
        "taskKillGracePeriodSeconds",
        "tty",
        "executorResources",
        "residency",
        "resourceLimits",
        "container",
        "ports",
        "uris",
        "ipAddress",
    ] {
        assert!(!obj.contains_key(key), "unexpected {key} in {json}");
    }
    assert_eq!(json["id"], "/web");
    assert_eq!(json["networks"], json!([{"mode": "host"}]));
    assert_eq!(
        json["portDefinitions"],
        json!([{"port": 0, "protocol": "tcp", "name": "default"}])
    );
    assert_eq!(
        json["unreachableStrategy"],
        json!({"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0})
    );
    assert_eq!(json["killSelection"], "YOUNGEST_FIRST");
}

#[test]
fn health_check_defaults() {
    let app = ok(with(
        minimal(),
        json!({"healthChecks": [{"path": "/h"}, {"protocol": "TCP", "port": 8080}]}),
    ));
    let hc = &app.health_checks[0];
    assert_eq!(hc.protocol, HealthCheckProtocol::Http);
    assert_eq!(hc.port_index, Some(0));
    assert_eq!(
        (
            hc.grace_period_seconds,
            hc.interval_seconds,
            hc.timeout_seconds
        ),
        (300, 60, 20)
    );
    assert_eq!((hc.max_consecutive_failures, hc.delay_seconds), (3, 15));
    assert!(!hc.ignore_http1xx);
    assert_eq!(app.health_checks[1].port_index, None);
    let app = ok(with(
        minimal(),
        json!({"healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}],
               "readinessChecks": [{"portName": "default"}]}),
    ));
    assert_eq!(app.health_checks[0].port_index, None);
    let rc = &app.readiness_checks[0];
    assert_eq!(rc.name, "readinessCheck");
    assert_eq!(rc.path, "/");
    assert_eq!((rc.interval_seconds, rc.timeout_seconds), (30, 10));
    assert_eq!(rc.http_status_codes_for_ready, vec![200]);
    // Single-instance apps default to the {0, 0} strategy.
    let app = ok(with(
        minimal(),
        json!({"labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"}}),
    ));
    assert_eq!(app.upgrade_strategy, UpgradeStrategy::single_instance());
}
