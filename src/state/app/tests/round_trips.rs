//! Round trips through Marathon JSON and storage, and parsing that never panics.

use super::*;

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
