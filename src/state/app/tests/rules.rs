//! Each validation rule, named by the path it reports.

use super::*;

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
