//! App ids: canonical forms, the ones refused, and the URL id against the body's.

use super::*;

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
