//! Table-driven tests of parsing, validation, merge, legacy folding and round trips.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

fn pid(s: &str) -> PathId {
    PathId::parse(s, None).expect("valid test path")
}

fn create(body: &Value) -> Result<AppDefinition, AppInputError> {
    parse_app(body.to_string().as_bytes(), AppInput::Create)
}

fn ok(body: Value) -> AppDefinition {
    match create(&body) {
        Ok(app) => app,
        Err(e) => panic!("{body} should be valid: {:?}", e),
    }
}

/// The (path, errors) of an `Invalid` answer.
fn invalid(body: Value) -> Vec<(String, Vec<String>)> {
    match create(&body) {
        Err(AppInputError::Invalid { details }) => {
            details.into_iter().map(|v| (v.path, v.errors)).collect()
        }
        other => panic!("{body} should be Invalid, got {other:?}"),
    }
}

fn has(details: &[(String, Vec<String>)], path: &str, fragment: &str) -> bool {
    details
        .iter()
        .any(|(p, errors)| p == path && errors.iter().any(|e| e.contains(fragment)))
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn minimal() -> Value {
    json!({"id": "web", "cmd": "sleep 1000"})
}

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
fn ids_are_canonicalized() {
    let cases = [
        ("web", "/web"),
        ("/prod/web/", "/prod/web"),
        ("prod/../web", "/web"),
        ("/prod/./web", "/prod/web"),
    ];
    for (raw, want) in cases {
        let app = ok(with(minimal(), json!({"id": raw})));
        assert_eq!(app.id.as_str(), want, "{raw}");
    }
    // Relative body ids on PUT resolve against the URL id's group.
    let url = pid("/prod/web");
    let app = parse_app(
        br#"{"id": "web", "cmd": "x"}"#,
        AppInput::Replace { id: &url },
    )
    .expect("valid");
    assert_eq!(app.id, url);
    // Dependencies resolve against the app's own id, so "../db" is a sibling.
    let app =
        ok(json!({"id": "/prod/web", "cmd": "x", "dependencies": ["../db", "/other", "sub"]}));
    assert_eq!(
        app.dependencies,
        vec![pid("/prod/db"), pid("/other"), pid("/prod/web/sub")]
    );
}

#[test]
fn bad_ids_are_refused() {
    let cases = [
        (json!({"cmd": "x"}), "is required"),
        (json!({"id": "/", "cmd": "x"}), "must not be root"),
        (json!({"id": "..", "cmd": "x"}), "must not be root"),
        (
            json!({"id": "/Web", "cmd": "x"}),
            "must fully match regular expression",
        ),
        (
            json!({"id": "/a_b", "cmd": "x"}),
            "must fully match regular expression",
        ),
        (
            json!({"id": "/web/tasks", "cmd": "x"}),
            "must not end with 'tasks'",
        ),
        (
            json!({"id": "/web/versions", "cmd": "x"}),
            "must not end with",
        ),
        (json!({"id": "restart", "cmd": "x"}), "must not end with"),
    ];
    for (body, fragment) in cases {
        let details = invalid(body.clone());
        assert!(has(&details, "/id", fragment), "{body}: {details:?}");
    }
    let details = invalid(json!({"id": "/web", "cmd": "x", "dependencies": ["ok", "Bad"]}));
    assert!(
        has(&details, "/dependencies(1)", "must fully match"),
        "{details:?}"
    );
}

#[test]
fn body_id_must_match_url_id() {
    let url = pid("/prod/web");
    let err = parse_app(
        br#"{"id": "/prod/other", "cmd": "x"}"#,
        AppInput::Replace { id: &url },
    )
    .expect_err("mismatch");
    assert!(matches!(&err, AppInputError::Invalid { details }
        if details[0].path == "/id" && details[0].errors[0].contains("does not match")));
    // Without an id in the body, the URL's is used.
    let app = parse_app(br#"{"cmd": "x"}"#, AppInput::Replace { id: &url }).expect("valid");
    assert_eq!(app.id, url);
}

#[test]
fn every_rule_reports_its_path() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"id": "a"}),
            "/",
            "must either contain one of 'cmd' or 'args'",
        ),
        (
            json!({"id": "a", "cmd": "x", "args": ["y"]}),
            "/",
            "must either contain one of",
        ),
        (json!({"id": "a", "cmd": " "}), "/cmd", "must not be empty"),
        (
            with(minimal(), json!({"instances": -1})),
            "/instances",
            "must be >= 0",
        ),
        (
            with(minimal(), json!({"instances": 5_000_000_000_i64})),
            "/instances",
            "must be <=",
        ),
        (
            with(minimal(), json!({"cpus": 0})),
            "/cpus",
            "must be >= 0.001",
        ),
        (with(minimal(), json!({"mem": -1})), "/mem", "must be >= 0"),
        (
            with(minimal(), json!({"disk": -0.5})),
            "/disk",
            "must be >= 0",
        ),
        (
            with(minimal(), json!({"gpus": -1})),
            "/gpus",
            "must be >= 0",
        ),
        (
            with(minimal(), json!({"backoffFactor": 0.5})),
            "/backoffFactor",
            "must be >= 1",
        ),
        (
            with(minimal(), json!({"backoffSeconds": -1})),
            "/backoffSeconds",
            "must be >= 0",
        ),
        (
            with(minimal(), json!({"maxLaunchDelaySeconds": -3})),
            "/maxLaunchDelaySeconds",
            "must be >= 0",
        ),
        (
            with(minimal(), json!({"taskKillGracePeriodSeconds": -3})),
            "/taskKillGracePeriodSeconds",
            "must be >= 0",
        ),
        (
            with(
                minimal(),
                json!({"upgradeStrategy": {"minimumHealthCapacity": 1.2}}),
            ),
            "/upgradeStrategy/minimumHealthCapacity",
            "is greater than 1",
        ),
        (
            with(
                minimal(),
                json!({"upgradeStrategy": {"maximumOverCapacity": -0.1}}),
            ),
            "/upgradeStrategy/maximumOverCapacity",
            "is less than 0",
        ),
        (
            with(
                minimal(),
                json!({"unreachableStrategy": {"inactiveAfterSeconds": 10, "expungeAfterSeconds": 5}}),
            ),
            "/unreachableStrategy",
            "inactiveAfterSeconds (10) must be less or equal to expungeAfterSeconds, which is 5",
        ),
        (
            with(
                minimal(),
                json!({"readinessChecks": [{"portName": "default"}, {"portName": "default"}]}),
            ),
            "/readinessChecks",
            "at most one readiness check",
        ),
        (
            with(minimal(), json!({"readinessChecks": [{}]})),
            "/readinessChecks(0)/portName",
            "No port definition reference for portName http-api",
        ),
        (
            with(
                minimal(),
                json!({"readinessChecks": [{"portName": "default", "timeoutSeconds": 30}]}),
            ),
            "/readinessChecks(0)/timeoutSeconds",
            "must be less than intervalSeconds",
        ),
        (
            with(
                minimal(),
                json!({"readinessChecks": [{"portName": "default", "httpStatusCodesForReady": []}]}),
            ),
            "/readinessChecks(0)/httpStatusCodesForReady",
            "must not be empty",
        ),
        (
            with(
                minimal(),
                json!({"healthChecks": [{"protocol": "HTTP"}, {"protocol": "MESOS_TCP"}]}),
            ),
            "/healthChecks",
            "cannot be mixed",
        ),
        (
            with(
                minimal(),
                json!({"healthChecks": [{"protocol": "MESOS_TCP"}, {"protocol": "MESOS_HTTP"}]}),
            ),
            "/healthChecks",
            "at most one Mesos health check",
        ),
        (
            with(
                minimal(),
                json!({"healthChecks": [{"protocol": "COMMAND"}]}),
            ),
            "/healthChecks(0)/command",
            "must be set for protocol COMMAND",
        ),
        (
            with(
                minimal(),
                json!({"healthChecks": [{"command": {"value": "true"}}]}),
            ),
            "/healthChecks(0)/command",
            "only allowed with protocol COMMAND",
        ),
        (
            with(minimal(), json!({"healthChecks": [{"portIndex": 3}]})),
            "/healthChecks(0)",
            "Health check port indices must address an element",
        ),
        (
            with(
                minimal(),
                json!({"portDefinitions": [], "healthChecks": [{}]}),
            ),
            "/healthChecks(0)",
            "Health check port indices must address an element",
        ),
        (
            with(
                minimal(),
                json!({"healthChecks": [{"port": 80, "portIndex": 0}]}),
            ),
            "/healthChecks(0)",
            "must not specify both port and portIndex",
        ),
        (
            with(minimal(), json!({"healthChecks": [{"intervalSeconds": 0}]})),
            "/healthChecks(0)/intervalSeconds",
            "must be >= 1",
        ),
        (
            with(
                minimal(),
                json!({"constraints": [["hostname", "UNIQUE", "x"]]}),
            ),
            "/constraints(0)",
            "Value specified but not used",
        ),
        (
            with(minimal(), json!({"constraints": [["hostname", "CLUSTER"]]})),
            "/constraints(0)",
            "Missing value",
        ),
        (
            with(
                minimal(),
                json!({"constraints": [["rack", "GROUP_BY", "x"]]}),
            ),
            "/constraints(0)",
            "is not a number",
        ),
        (
            with(
                minimal(),
                json!({"constraints": [["rack", "MAX_PER", "two"]]}),
            ),
            "/constraints(0)",
            "is not a number",
        ),
        (
            with(minimal(), json!({"constraints": [["rack", "LIKE"]]})),
            "/constraints(0)",
            "A regular expression value must be provided",
        ),
        (
            with(
                minimal(),
                json!({"constraints": [["rack", "UNLIKE", "a(b"]]}),
            ),
            "/constraints(0)",
            "is not a valid regular expression",
        ),
        (
            with(
                minimal(),
                json!({"constraints": [["ok", "UNIQUE"], ["rack", "IN", "a"]]}),
            ),
            "/constraints(1)",
            "illegal constraint operator IN",
        ),
        (
            with(minimal(), json!({"constraints": [["hostname"]]})),
            "/constraints(0)",
            "illegal constraint specification hostname",
        ),
        (
            with(minimal(), json!({"constraints": [[]]})),
            "/constraints(0)",
            "Missing field and operator",
        ),
        (
            with(minimal(), json!({"constraints": [["a", "IS", "b", "c"]]})),
            "/constraints(0)",
            "illegal constraint specification a,IS,b,c",
        ),
        (
            with(
                minimal(),
                json!({"portDefinitions": [{"port": 0, "name": "http"}, {"port": 0, "name": "http"}]}),
            ),
            "/portDefinitions",
            "Port names must be unique.",
        ),
        (
            with(
                minimal(),
                json!({"portDefinitions": [{"port": 8080}, {"port": 8080}]}),
            ),
            "/portDefinitions",
            "Ports must be unique.",
        ),
        (
            with(minimal(), json!({"portDefinitions": [{"port": 70000}]})),
            "/portDefinitions(0)/port",
            "must be between 0 and 65535",
        ),
        (
            with(minimal(), json!({"portDefinitions": [{"name": "Http"}]})),
            "/portDefinitions(0)/name",
            "must fully match regular expression '^[a-z0-9-]+$'",
        ),
        (
            with(
                minimal(),
                json!({"labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"}, "instances": 2}),
            ),
            "/",
            "Single instance app may only have one instance",
        ),
        (
            with(
                minimal(),
                json!({"labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"},
                       "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0}}),
            ),
            "/upgradeStrategy/minimumHealthCapacity",
            "must be 0 for a single-instance app",
        ),
        (
            with(minimal(), json!({"acceptedResourceRoles": []})),
            "/acceptedResourceRoles",
            "must not be empty",
        ),
        (
            with(minimal(), json!({"acceptedResourceRoles": ["*", "*"]})),
            "/acceptedResourceRoles",
            "elements must be unique",
        ),
        (
            with(minimal(), json!({"acceptedResourceRoles": ["-bad"]})),
            "/acceptedResourceRoles(0)",
            "must not start with '-'",
        ),
        (
            with(minimal(), json!({"role": "dev"})),
            "/role",
            "must be '*'",
        ),
        (
            with(minimal(), json!({"role": "a b"})),
            "/role",
            "must not contain whitespace",
        ),
        (
            with(minimal(), json!({"container": {"type": "DOCKER"}})),
            "/container/docker",
            "must be defined for a DOCKER container",
        ),
        (
            with(
                minimal(),
                json!({"container": {"type": "MESOS", "docker": {}}}),
            ),
            "/container/docker/image",
            "must not be empty",
        ),
        (
            with(
                minimal(),
                json!({"container": {"type": "DOCKER", "docker": {"image": "x"},
                       "portMappings": [{"containerPort": 80}]}}),
            ),
            "/container/portMappings",
            "not allowed with host-networking",
        ),
        (
            with(
                minimal(),
                json!({"container": {"type": "MESOS", "volumes": [{"containerPath": "/d", "hostPath": "/h"}]}}),
            ),
            "/container/volumes(0)/mode",
            "is required",
        ),
        (
            with(
                minimal(),
                json!({"uris": ["http://a/b.tgz"], "fetch": [{"uri": "http://c"}]}),
            ),
            "/uris",
            "may not be set in conjunction with fetch",
        ),
        (
            with(minimal(), json!({"fetch": [{"uri": ""}]})),
            "/fetch(0)/uri",
            "must not be empty",
        ),
        (
            with(minimal(), json!({"ports": [80, 80]})),
            "/",
            "ports must be unique",
        ),
        (
            with(minimal(), json!({"ports": [-1]})),
            "/ports(0)",
            "must be between 0 and 65535",
        ),
        (
            with(
                minimal(),
                json!({"ports": [80], "portDefinitions": [{"port": 81}]}),
            ),
            "/",
            "cannot specify both ports and port definitions",
        ),
        (
            with(minimal(), json!({"resourceLimits": {"cpus": 0.5}})),
            "/resourceLimits/cpus",
            "must be >= cpus",
        ),
        (
            with(minimal(), json!({"check": {"intervalSeconds": 5}})),
            "/check",
            "exactly one of http, tcp or exec",
        ),
        (
            with(minimal(), json!({"check": {"exec": {"command": {}}}})),
            "/check/exec/command",
            "exactly one of shell or argv",
        ),
    ];
    for (body, path, fragment) in cases {
        let details = invalid(body.clone());
        assert!(
            has(&details, path, fragment),
            "{body}\n  want {path}: {fragment}\n  got {details:?}"
        );
    }
}

#[test]
fn all_violations_are_reported_at_once() {
    let details = invalid(json!({
        "id": "/web", "cmd": "x", "instances": -1, "cpus": 0, "mem": -1,
        "upgradeStrategy": {"minimumHealthCapacity": 2},
        "constraints": [["hostname", "NOPE"]]
    }));
    for path in [
        "/instances",
        "/cpus",
        "/mem",
        "/upgradeStrategy/minimumHealthCapacity",
        "/constraints(0)",
    ] {
        assert!(
            details.iter().any(|(p, _)| p == path),
            "{path} missing: {details:?}"
        );
    }
}

#[test]
fn features_not_built_yet_are_refused_by_name() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"gpus": 1}), "/gpus"),
        (json!({"executor": "/opt/my-executor"}), "/executor"),
        (
            json!({"executorResources": {"cpus": 0.1}}),
            "/executorResources",
        ),
        (json!({"secrets": {"s": {"source": "db/pw"}}}), "/secrets"),
        (json!({"env": {"PW": {"secret": "s"}}}), "/env/PW"),
        (json!({"residency": {}}), "/residency"),
        (
            json!({"networks": [{"mode": "container/bridge"}]}),
            "/networks(0)/mode",
        ),
        (
            json!({"networks": [{"mode": "container", "name": "dcos"}]}),
            "/networks(0)/mode",
        ),
        (json!({"ipAddress": {"networkName": "dcos"}}), "/ipAddress"),
        (
            json!({"container": {"type": "DOCKER", "docker": {"image": "x", "network": "BRIDGE"}}}),
            "/container/docker/network",
        ),
        (
            json!({"container": {"type": "MESOS", "volumes": [{"containerPath": "data", "mode": "RW", "persistent": {"size": 10}}]}}),
            "/container/volumes(0)/persistent",
        ),
        (
            json!({"container": {"type": "MESOS", "volumes": [{"containerPath": "/d", "external": {"name": "v"}}]}}),
            "/container/volumes(0)/external",
        ),
        (
            json!({"container": {"type": "DOCKER", "docker": {"image": "x", "pullConfig": {"secret": "s"}}}}),
            "/container/docker/pullConfig",
        ),
    ];
    for (extra, path) in cases {
        let details = invalid(with(minimal(), extra.clone()));
        assert!(
            has(&details, path, "not supported yet"),
            "{extra}: {details:?}"
        );
    }
    // Default and empty values of the same fields are accepted and stored.
    let app = ok(with(
        minimal(),
        json!({"gpus": 0, "executor": "//cmd", "secrets": {}, "env": {"A": "b"},
               "networks": [{"mode": "host"}],
               "container": {"type": "MESOS", "volumes": []}}),
    ));
    assert_eq!(app.executor, "//cmd");
    assert_eq!(app.env.get("A"), Some(&EnvValue::Value("b".to_owned())));
    let app = ok(with(
        minimal(),
        json!({"container": {"type": "DOCKER", "docker": {"image": "nginx", "network": "HOST"}}}),
    ));
    assert_eq!(app.networks, vec![Network::host()]);
}

#[test]
fn unknown_fields_are_named() {
    let cases = [
        (json!({"id": "a", "cmd": "x", "bogus": 1}), "/bogus"),
        (
            json!({"id": "a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1, "typo": 1}}),
            "/upgradeStrategy/typo",
        ),
        (
            json!({"id": "a", "cmd": "x", "healthChecks": [{"protocol": "HTTP"}, {"pth": "/"}]}),
            "/healthChecks(1)/pth",
        ),
        (
            json!({"id": "a", "container": {"type": "DOCKER", "docker": {"image": "x", "nope": true}}}),
            "/container/docker/nope",
        ),
    ];
    for (body, path) in cases {
        let details = invalid(body.clone());
        assert!(has(&details, path, "unknown field"), "{body}: {details:?}");
    }
}

#[test]
fn response_only_fields_are_ignored() {
    let app = ok(with(
        minimal(),
        json!({
            "version": "2021-01-05T10:00:00.000Z",
            "versionInfo": {"lastScalingAt": "x", "lastConfigChangeAt": "y"},
            "tasksRunning": 1, "tasksStaged": 0, "tasksHealthy": 1, "tasksUnhealthy": 0,
            "deployments": [{"id": "d"}], "tasks": [{"id": "t"}],
            "lastTaskFailure": {"appId": "/web"}, "readinessCheckResults": [],
            "taskStats": {}, "tasksStats": {}
        }),
    ));
    assert_eq!(app, ok(minimal()));
}

#[test]
fn json_errors_are_invalid_json_with_path() {
    let cases: &[(&[u8], &str, &str)] = &[
        (b"{not json", "/", "key must be a string"),
        (b"", "/", "EOF"),
        (b"[1,2]", "/", "expected a JSON object"),
        (b" 42", "/", "expected a JSON object"),
        (
            b"{\"id\":\"a\",\"cmd\":\"x\"} trailing",
            "/",
            "trailing characters",
        ),
        (
            br#"{"id": "a", "cmd": "x", "cpus": "x"}"#,
            "/cpus",
            "invalid type",
        ),
        (br#"{"id": 5, "cmd": "x"}"#, "/id", "invalid type"),
        (
            br#"{"id": "a", "cmd": "x", "instances": 1.5}"#,
            "/instances",
            "invalid type",
        ),
        (
            br#"{"id": "a", "cmd": "x", "healthChecks": [{}, {"protocol": "SMTP"}]}"#,
            "/healthChecks(1)/protocol",
            "unknown variant",
        ),
        (
            br#"{"id": "a", "cmd": "x", "unreachableStrategy": "sometimes"}"#,
            "/unreachableStrategy",
            "invalid value",
        ),
        (
            br#"{"id": "a", "cmd": "x", "env": {"A": 1}}"#,
            "/env/A",
            "invalid type",
        ),
    ];
    for (body, path, fragment) in cases {
        let err = parse_app(body, AppInput::Create).expect_err("invalid");
        let AppInputError::InvalidJson { details } = &err else {
            panic!(
                "{} should be InvalidJson: {err:?}",
                String::from_utf8_lossy(body)
            );
        };
        assert_eq!(details[0].path, *path, "{}", String::from_utf8_lossy(body));
        assert!(
            details[0].errors[0].contains(fragment),
            "{}: {:?}",
            String::from_utf8_lossy(body),
            details
        );
    }
}

#[test]
fn merge_keeps_absent_fields_and_replaces_present_ones() {
    let existing = ok(json!({
        "id": "/web", "cmd": "serve", "instances": 3, "mem": 64,
        "labels": {"team": "a"}, "env": {"X": "1"},
        "healthChecks": [{"protocol": "HTTP", "path": "/health"}]
    }));
    let id = existing.id.clone();
    let merged = parse_app(
        br#"{"instances": 5, "labels": {"team": "b"}}"#,
        AppInput::Merge {
            id: &id,
            existing: &existing,
        },
    )
    .expect("valid");
    assert_eq!(merged.instances, 5);
    assert_eq!(merged.labels.get("team").map(String::as_str), Some("b"));
    assert_eq!(merged.cmd.as_deref(), Some("serve"));
    assert_eq!(merged.mem, 64.0);
    assert_eq!(merged.env, existing.env);
    assert_eq!(merged.health_checks, existing.health_checks);
    assert!(!merged.differs_only_in_scale(&existing));
    // Scale only.
    let scaled = parse_app(
        br#"{"instances": 7, "version": null, "tasksRunning": 3}"#,
        AppInput::Merge {
            id: &id,
            existing: &existing,
        },
    )
    .expect("valid");
    assert!(scaled.differs_only_in_scale(&existing));
    assert!(!existing.differs_only_in_scale(&existing));
    // Replace drops what the body does not name.
    let replaced = parse_app(br#"{"cmd": "other"}"#, AppInput::Replace { id: &id }).expect("valid");
    assert_eq!(replaced.instances, 1);
    assert!(replaced.labels.is_empty());
    // A merged result is validated as a whole.
    let err = parse_app(
        br#"{"args": ["a"]}"#,
        AppInput::Merge {
            id: &id,
            existing: &existing,
        },
    )
    .expect_err("cmd and args");
    assert!(err.details().iter().any(|d| d.path == "/"));
    // Legacy fields in a merge replace their canonical counterparts.
    let merged = parse_app(
        br#"{"ports": [8080], "uris": ["http://x/a.tgz"]}"#,
        AppInput::Merge {
            id: &id,
            existing: &existing,
        },
    )
    .expect("valid");
    assert_eq!(merged.port_definitions.len(), 1);
    assert_eq!(merged.port_definitions[0].port, 8080);
    assert_eq!(merged.fetch.len(), 1);
}

#[test]
fn legacy_fields_are_normalized() {
    let app = ok(json!({
        "id": "test-complex-app", "cmd": "/bin/true", "cpus": 0.25, "mem": 30,
        "uris": ["file:///etc/docker.tar.gz"], "ports": [0, 0]
    }));
    assert_eq!(
        app.fetch,
        vec![FetchUri {
            uri: "file:///etc/docker.tar.gz".to_owned(),
            extract: true,
            executable: false,
            cache: false,
            dest_path: None,
        }]
    );
    assert_eq!(app.port_definitions.len(), 2);
    assert!(
        app.port_definitions
            .iter()
            .all(|d| d.port == 0 && d.name.is_none())
    );
    let json = app.to_marathon_json();
    assert!(json.get("uris").is_none() && json.get("ports").is_none());
    // Equivalent ports and portDefinitions together are fine.
    let app = ok(with(
        minimal(),
        json!({"ports": [80], "portDefinitions": [{"port": 80, "name": "http"}]}),
    ));
    assert_eq!(app.port_definitions[0].name.as_deref(), Some("http"));
    // Legacy docker port mappings move to the container (and are then refused on host networking).
    let details = invalid(
        json!({"id": "a", "container": {"type": "DOCKER", "docker": {"image": "x",
        "portMappings": [{"containerPort": 80}]}}}),
    );
    assert!(
        has(&details, "/container/portMappings", "host-networking"),
        "{details:?}"
    );
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

/// An app using most fields, for the round trips.
fn full() -> Value {
    json!({
        "id": "/prod/web", "args": ["serve", "--port", "$PORT0"], "user": "nobody",
        "instances": 3, "cpus": 0.25, "mem": 64.5, "disk": 10, "gpus": 0, "executor": "//cmd",
        "resourceLimits": {"cpus": "unlimited", "mem": 128},
        "env": {"A": "1"}, "labels": {"team": "x"},
        "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"], ["@region", "IS", "eu"]],
        "acceptedResourceRoles": ["*"], "role": "prod",
        "container": {"type": "DOCKER", "docker": {"image": "nginx", "forcePullImage": true,
            "parameters": [{"key": "a", "value": "b"}], "credential": {"principal": "p"}},
            "volumes": [{"containerPath": "/data", "hostPath": "/srv", "mode": "RO"}],
            "linuxInfo": {"ipcInfo": {"mode": "PRIVATE", "shmSize": 64}}},
        "portDefinitions": [{"port": 10001, "name": "http", "protocol": "udp,tcp", "labels": {"v": "1"}}],
        "requirePorts": true,
        "fetch": [{"uri": "http://a/b", "extract": false, "destPath": "b"}],
        "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/", "gracePeriodSeconds": 5}],
        "check": {"http": {"portIndex": 0, "path": "/ready"}},
        "readinessChecks": [{"portName": "http", "protocol": "HTTPS"}],
        "dependencies": ["../db"],
        "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0},
        "backoffSeconds": 2, "backoffFactor": 2, "maxLaunchDelaySeconds": 60,
        "taskKillGracePeriodSeconds": 10,
        "unreachableStrategy": "disabled", "killSelection": "OLDEST_FIRST", "tty": true
    })
}

#[test]
fn round_trips_through_marathon_json_and_storage() {
    for app in [
        ok(minimal()),
        ok(full()),
        ok(json!({"id": "a", "cmd": "x", "portDefinitions": []})),
    ] {
        let json = app.to_marathon_json();
        let back = parse_app(json.to_string().as_bytes(), AppInput::Create)
            .unwrap_or_else(|e| panic!("{json} should parse: {e:?}"));
        assert_eq!(back, app, "json round trip of {json}");

        let bytes = rmp_serde::to_vec_named(&app).expect("encodes");
        let stored: AppDefinition = rmp_serde::from_slice(&bytes).expect("decodes");
        assert_eq!(stored, app, "storage round trip");
    }
    let json = ok(full()).to_marathon_json();
    assert!(json["container"].get("portMappings").is_none(), "{json}");
    assert_eq!(json["unreachableStrategy"], "disabled");
    assert_eq!(json["constraints"][1], json!(["rack", "GROUP_BY", "3"]));
    assert_eq!(json["resourceLimits"]["cpus"], "unlimited");
}

proptest::proptest! {
    #[test]
    fn never_panics_on_bytes(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let _ = parse_app(&body, AppInput::Create);
    }

    #[test]
    fn never_panics_on_json_objects(
        fields in proptest::collection::btree_map(
            proptest::sample::select(vec![
                "id", "cmd", "args", "instances", "cpus", "mem", "gpus", "ports", "uris",
                "portDefinitions", "healthChecks", "constraints", "upgradeStrategy",
                "unreachableStrategy", "networks", "container", "labels", "env", "dependencies",
                "readinessChecks", "backoffFactor", "version", "bogus",
            ]),
            json_value(),
            0..8,
        )
    ) {
        let body = Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        let bytes = body.to_string();
        let _ = parse_app(bytes.as_bytes(), AppInput::Create);
        let existing = ok(minimal());
        let id = existing.id.clone();
        if let Ok(app) = parse_app(bytes.as_bytes(), AppInput::Merge { id: &id, existing: &existing }) {
            // Anything accepted must survive both round trips.
            let json = app.to_marathon_json().to_string();
            proptest::prop_assert_eq!(parse_app(json.as_bytes(), AppInput::Create), Ok(app.clone()));
            let bytes = rmp_serde::to_vec_named(&app).expect("encodes");
            let stored: AppDefinition = rmp_serde::from_slice(&bytes).expect("decodes");
            proptest::prop_assert_eq!(stored, app);
        }
    }
}

fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..70000).prop_map(Value::from),
        prop::sample::select(vec![0.0, 0.5, 1.0, 1.15, 2.0, -1.0]).prop_map(Value::from),
        "[a-zA-Z0-9/._ -]{0,8}".prop_map(Value::String),
        prop::sample::select(vec![
            "HTTP",
            "MESOS_TCP",
            "COMMAND",
            "host",
            "UNIQUE",
            "disabled",
            "DOCKER",
            "/a",
            "..",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop::sample::select(vec![
                    "protocol",
                    "port",
                    "portIndex",
                    "name",
                    "mode",
                    "type",
                    "docker",
                    "image",
                    "value",
                    "minimumHealthCapacity",
                    "path",
                    "command",
                    "x",
                ]),
                inner,
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}
