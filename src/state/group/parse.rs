//! Group request bodies (Marathon's `GroupUpdate`): ids resolved against the group they sit in,
//! every app parsed and validated by the app parser, and each violation reported under its
//! path in the group document (`/groups(0)/apps(1)/cmd`).

use super::GroupUpdate;
use crate::state::app::{AppInput, AppInputError, Violation, json_pointer, parse_app};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

/// What a group body asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupRequest {
    /// Create or change the group (fields left out keep what the group has).
    Update(GroupUpdate),
    /// `{"scaleBy": f}`.
    Scale { id: PathId, factor: f64 },
    /// `{"version": v}`.
    Rollback { id: PathId, version: Timestamp },
}

impl GroupRequest {
    pub fn id(&self) -> &PathId {
        match self {
            GroupRequest::Update(u) => &u.id,
            GroupRequest::Scale { id, .. } | GroupRequest::Rollback { id, .. } => id,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupJson {
    id: Option<String>,
    apps: Option<Vec<Value>>,
    groups: Option<Vec<GroupJson>>,
    pods: Option<Vec<IgnoredAny>>,
    dependencies: Option<Vec<String>>,
    enforce_role: Option<bool>,
    scale_by: Option<f64>,
    /// At the top: a rollback. In a nested group: response-only (clients echo it), ignored.
    version: Option<String>,
}

/// Parses a group body. `base` is the group the URL names (root for `/v2/groups`); the body's
/// `id`, when present, is resolved against it.
pub fn parse_group(body: &[u8], base: &PathId) -> Result<GroupRequest, AppInputError> {
    let json = decode(body)?;
    let mut v = Vec::new();
    let id = match &json.id {
        Some(raw) => match PathId::parse(raw, Some(base)) {
            Ok(id) => id,
            Err(e) => {
                add(&mut v, "/id", e);
                base.clone()
            }
        },
        None => base.clone(),
    };
    let is_update = json.apps.is_some()
        || json.groups.is_some()
        || json.dependencies.is_some()
        || json.enforce_role.is_some()
        || json.pods.as_ref().is_some_and(|p| !p.is_empty());
    let request = match (&json.version, json.scale_by) {
        (Some(_), Some(_)) => {
            add(&mut v, "/", "version and scaleBy cannot be combined");
            None
        }
        (Some(raw), None) => match Timestamp::parse(raw) {
            Some(version) => Some(GroupRequest::Rollback {
                id: id.clone(),
                version,
            }),
            None => {
                add(
                    &mut v,
                    "/version",
                    format!("'{raw}' is not an ISO-8601 version"),
                );
                None
            }
        },
        (None, Some(factor)) => {
            if !factor.is_finite() || factor < 0.0 {
                add(&mut v, "/scaleBy", "must be a non-negative number");
            }
            Some(GroupRequest::Scale {
                id: id.clone(),
                factor,
            })
        }
        (None, None) => None,
    };
    if request.is_some() && is_update {
        add(
            &mut v,
            "/",
            "a rollback (version) or scale (scaleBy) cannot be combined with other changes",
        );
    }
    let request = match request {
        Some(r) => r,
        None => GroupRequest::Update(group(json, id, "", &mut v)),
    };
    if v.is_empty() {
        Ok(request)
    } else {
        Err(AppInputError::Invalid { details: v })
    }
}

fn add(v: &mut Vec<Violation>, path: impl Into<String>, error: impl Into<String>) {
    let (path, error) = (path.into(), error.into());
    match v.iter_mut().find(|x| x.path == path) {
        Some(x) => x.errors.push(error),
        None => v.push(Violation {
            path,
            errors: vec![error],
        }),
    }
}

fn at(prefix: &str, field: &str) -> String {
    format!("{prefix}/{field}")
}

/// One group of the body (its id resolved already) and everything in it.
fn group(json: GroupJson, id: PathId, prefix: &str, v: &mut Vec<Violation>) -> GroupUpdate {
    if !prefix.is_empty() && json.scale_by.is_some() {
        add(
            v,
            at(prefix, "scaleBy"),
            "only the group the request names can be scaled",
        );
    }
    if json.pods.as_ref().is_some_and(|p| !p.is_empty()) {
        add(v, at(prefix, "pods"), "pods are not supported yet");
    }
    if json.enforce_role == Some(true) {
        add(
            v,
            at(prefix, "enforceRole"),
            "enforceRole is not supported yet",
        );
    }
    let dependencies = json.dependencies.map(|deps| {
        deps.iter()
            .enumerate()
            .filter_map(|(i, d)| match PathId::parse(d, Some(&id)) {
                Ok(dep) => Some(dep),
                Err(e) => {
                    add(v, format!("{prefix}/dependencies({i})"), e);
                    None
                }
            })
            .collect()
    });
    let apps = json.apps.map(|apps| {
        apps.into_iter()
            .enumerate()
            .filter_map(|(i, app)| parse_member_app(app, &id, &format!("{prefix}/apps({i})"), v))
            .collect()
    });
    let groups = json.groups.map(|groups| {
        groups
            .into_iter()
            .enumerate()
            .filter_map(|(i, sub)| {
                let path = format!("{prefix}/groups({i})");
                let Some(raw) = sub.id.clone() else {
                    add(v, at(&path, "id"), "must be defined");
                    return None;
                };
                match PathId::parse(&raw, Some(&id)) {
                    Ok(sub_id) if id.is_ancestor_of(&sub_id) => Some(group(sub, sub_id, &path, v)),
                    Ok(sub_id) => {
                        add(
                            v,
                            at(&path, "id"),
                            format!("{sub_id} is not below the group {id}"),
                        );
                        None
                    }
                    Err(e) => {
                        add(v, at(&path, "id"), e);
                        None
                    }
                }
            })
            .collect()
    });
    GroupUpdate {
        id,
        dependencies,
        enforce_role: json.enforce_role,
        apps,
        groups,
    }
}

/// An app of group `group`: its id resolved against the group, then the app parser.
fn parse_member_app(
    mut app: Value,
    group: &PathId,
    path: &str,
    v: &mut Vec<Violation>,
) -> Option<crate::state::app::AppDefinition> {
    let Some(obj) = app.as_object_mut() else {
        add(v, path, "expected a JSON object");
        return None;
    };
    let id = match obj.get("id").and_then(Value::as_str) {
        Some(raw) => match PathId::parse(raw, Some(group)) {
            Ok(id) if group.is_ancestor_of(&id) => id,
            Ok(id) => {
                add(
                    v,
                    at(path, "id"),
                    format!("{id} is not below the group {group}"),
                );
                return None;
            }
            Err(e) => {
                add(v, at(path, "id"), e);
                return None;
            }
        },
        None => {
            add(v, at(path, "id"), "must be defined");
            return None;
        }
    };
    obj.insert("id".into(), Value::String(id.to_string()));
    let bytes = serde_json::to_vec(&app).expect("a JSON value serializes");
    match parse_app(&bytes, AppInput::Create) {
        Ok(app) => Some(app),
        Err(e) => {
            for detail in e.details() {
                let inner = if detail.path == "/" { "" } else { &detail.path };
                for error in &detail.errors {
                    add(v, format!("{path}{inner}"), error.clone());
                }
            }
            None
        }
    }
}

/// Decodes the body with JSON paths: syntax and type errors are `InvalidJson` (400), an unknown
/// field is `Invalid` (422) naming it.
fn decode(body: &[u8]) -> Result<GroupJson, AppInputError> {
    let invalid_json = |path: String, error: String| AppInputError::InvalidJson {
        details: vec![Violation {
            path,
            errors: vec![error],
        }],
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(invalid_json("/".into(), "expected a JSON object".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let json: GroupJson = match serde_path_to_error::deserialize(&mut de) {
        Ok(json) => json,
        Err(err) => {
            let path = json_pointer(err.path());
            let message = err.inner().to_string();
            if let Some(field) = message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
            {
                let path = if path.ends_with(&format!("/{field}")) {
                    path
                } else {
                    format!("{}/{field}", path.trim_end_matches('/'))
                };
                return Err(AppInputError::Invalid {
                    details: vec![Violation {
                        path,
                        errors: vec![format!("unknown field '{field}'")],
                    }],
                });
            }
            let message = match message.rfind(" at line ") {
                Some(i) if err.inner().is_data() => message[..i].to_string(),
                _ => message,
            };
            return Err(invalid_json(path, message));
        }
    };
    de.end()
        .map_err(|e| invalid_json("/".into(), e.to_string()))?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> PathId {
        PathId::parse(s, None).expect("test path")
    }

    fn parse(body: Value, base: &str) -> Result<GroupRequest, AppInputError> {
        parse_group(body.to_string().as_bytes(), &p(base))
    }

    fn update(body: Value, base: &str) -> GroupUpdate {
        match parse(body, base).expect("valid group") {
            GroupRequest::Update(u) => u,
            other => panic!("not an update: {other:?}"),
        }
    }

    #[test]
    fn relative_ids_resolve_against_their_group() {
        let u = update(
            json!({
                "id": "prod",
                "dependencies": ["../db"],
                "apps": [{"id": "web", "cmd": "x"}, {"id": "/prod/api", "cmd": "y"}],
                "groups": [{"id": "back", "apps": [{"id": "db", "cmd": "z", "dependencies": ["../cache"]}]}]
            }),
            "/",
        );
        assert_eq!(u.id, p("/prod"));
        assert_eq!(u.dependencies, Some(vec![p("/db")]));
        let apps: Vec<String> = u.apps.unwrap().iter().map(|a| a.id.to_string()).collect();
        assert_eq!(apps, ["/prod/web", "/prod/api"]);
        let back = &u.groups.unwrap()[0];
        assert_eq!(back.id, p("/prod/back"));
        let db = &back.apps.as_ref().unwrap()[0];
        assert_eq!(db.id, p("/prod/back/db"));
        assert_eq!(db.dependencies, vec![p("/prod/back/cache")]);
        // Without a body id, the URL's group; left-out fields stay None (keep what is there).
        let u = update(json!({"dependencies": []}), "/prod");
        assert_eq!(u.id, p("/prod"));
        assert!(u.apps.is_none() && u.groups.is_none());
    }

    #[test]
    fn scale_and_rollback() {
        assert_eq!(
            parse(json!({"scaleBy": 1.5}), "/g").unwrap(),
            GroupRequest::Scale {
                id: p("/g"),
                factor: 1.5
            }
        );
        assert_eq!(
            parse(json!({"version": "2015-09-29T15:39:51.164Z"}), "/g").unwrap(),
            GroupRequest::Rollback {
                id: p("/g"),
                version: Timestamp(1_443_541_191_164)
            }
        );
    }

    fn details(body: Value) -> Vec<Violation> {
        match parse(body, "/") {
            Err(AppInputError::Invalid { details }) => details,
            other => panic!("not a 422: {other:?}"),
        }
    }

    fn has(details: &[Violation], path: &str, needle: &str) -> bool {
        details
            .iter()
            .any(|d| d.path == path && d.errors.iter().any(|e| e.contains(needle)))
    }

    #[test]
    fn violations_name_their_path() {
        let d = details(json!({
            "id": "/g",
            "apps": [{"id": "ok", "cmd": "x"}, {"id": "bad", "cmd": "x", "instances": -1}],
            "groups": [{"id": "sub", "apps": [{"id": "/elsewhere", "cmd": "x"}]}, {"apps": []}]
        }));
        assert!(has(&d, "/apps(1)/instances", ""), "{d:?}");
        assert!(
            has(&d, "/groups(0)/apps(0)/id", "not below the group /g/sub"),
            "{d:?}"
        );
        assert!(has(&d, "/groups(1)/id", "must be defined"), "{d:?}");

        let d = details(json!({"id": "/g", "apps": [{"id": "a", "cmd": "x", "bogus": 1}]}));
        assert!(has(&d, "/apps(0)/bogus", "unknown field"), "{d:?}");
        let d = details(json!({"id": "/g", "colour": "red"}));
        assert!(has(&d, "/colour", "unknown field"), "{d:?}");
        let d = details(json!({"id": "/g", "groups": [{"id": "a", "colour": 1}]}));
        assert!(has(&d, "/groups(0)/colour", "unknown field"), "{d:?}");
        let d = details(json!({"id": "/Bad"}));
        assert!(has(&d, "/id", "must fully match"), "{d:?}");
        let d = details(json!({"id": "/g", "scaleBy": -2}));
        assert!(has(&d, "/scaleBy", "non-negative"), "{d:?}");
        let d = details(json!({"id": "/g", "scaleBy": 2, "apps": []}));
        assert!(has(&d, "/", "cannot be combined"), "{d:?}");
        let d = details(json!({"id": "/g", "enforceRole": true, "pods": [{}]}));
        assert!(has(&d, "/enforceRole", "not supported yet"), "{d:?}");
        assert!(has(&d, "/pods", "not supported yet"), "{d:?}");
        let d = details(json!({"id": "/g", "version": "yesterday"}));
        assert!(has(&d, "/version", "ISO-8601"), "{d:?}");
    }

    #[test]
    fn bad_json_is_a_400() {
        for body in [&b"[1]"[..], b"{", b"{\"apps\": 3}"] {
            assert!(
                matches!(
                    parse_group(body, &PathId::root()),
                    Err(AppInputError::InvalidJson { .. })
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn echoed_response_fields_are_accepted() {
        // What the Python client sends back after a get_group: nested versions, app counts.
        let u = update(
            json!({"id": "/g", "groups": [{"id": "/g/s", "version": "2015-09-29T15:39:51.164Z",
                "apps": [{"id": "/g/s/a", "cmd": "x", "tasksRunning": 1, "version": "2015-09-29T15:39:51.164Z"}]}]}),
            "/g",
        );
        assert_eq!(
            u.groups.unwrap()[0].apps.as_ref().unwrap()[0].id,
            p("/g/s/a")
        );
    }
}
