//! Partial updates merged over an existing app, against a replace that drops what the body omits.

use super::*;

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
