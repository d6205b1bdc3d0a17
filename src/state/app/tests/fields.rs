//! Fields refused by name (unknown, or not built yet) and response-only fields ignored.

use super::*;

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
