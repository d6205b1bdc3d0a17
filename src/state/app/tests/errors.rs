//! How refusals are answered: every violation at once, malformed JSON with its path.

use super::*;

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
