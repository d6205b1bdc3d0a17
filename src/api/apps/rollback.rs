//! Rollback of one app to a stored version: `PUT /v2/apps/{id}` with `{"version": ts}`.

use super::{UpdateOptions, Written, deploy, expect_app};
use crate::api::{Api, ApiError};
use crate::state::app::{AppInputError, Violation};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Command, PutMode, Rejection};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::sync::Arc;

/// The version a body asks to roll back to: Marathon's `{"version": ts}` (an `id` may come
/// with it); `None` for any other body, whose `version` is ignored as response-only.
pub fn rollback_version(body: &[u8]) -> Result<Option<Timestamp>, ApiError> {
    // Every PUT comes through here: look at the keys alone (no value tree) and build one only
    // for a body that can be a rollback.
    let Ok(RollbackKeys(true)) = serde_json::from_slice::<RollbackKeys>(body) else {
        return Ok(None);
    };
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Ok(None);
    };
    let Some(version) = map.get("version") else {
        return Ok(None);
    };
    let parsed = version.as_str().and_then(Timestamp::parse);
    match parsed {
        Some(ts) => Ok(Some(ts)),
        None => Err(AppInputError::Invalid {
            details: vec![Violation {
                path: "/version".into(),
                errors: vec![format!("{version} is not an ISO-8601 version")],
            }],
        }
        .into()),
    }
}

/// `PUT /v2/apps/{id}` with `{"version": ts}`: the app's stored definition of that version
/// becomes its newest (a new version, deployed like any change). 404 when the app or the
/// version is unknown.
pub async fn roll_back_to(
    api: &Api,
    id: &PathId,
    version: Timestamp,
    options: &UpdateOptions,
) -> Result<Written, ApiError> {
    let view = api.local_view();
    let record = view
        .state
        .app(id)
        .ok_or_else(|| Rejection::AppNotFound(id.clone()))?;
    let spec = view.state.app_version(id, version).ok_or_else(|| {
        ApiError::NotFound(format!("App '{id}' does not exist in version {version}"))
    })?;
    let command = Command::PutApp {
        app: Arc::clone(spec),
        expected_revision: Some(options.expected_revision.unwrap_or(record.revision)),
        mode: PutMode::Update,
        deploy: deploy(options.force),
    };
    expect_app(api.propose(options.request_id.clone(), command).await?)
}

/// Whether a JSON object's keys are `version`, and maybe `id`, and nothing else: read without
/// building the object or owning its keys (every app PUT is asked).
struct RollbackKeys(bool);

impl<'de> serde::Deserialize<'de> for RollbackKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KeysVisitor)
    }
}

/// A key of a body that may ask for a rollback.
enum Key {
    Version,
    Id,
    Other,
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "version" => Key::Version,
                    "id" => Key::Id,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeysVisitor;

impl<'de> Visitor<'de> for KeysVisitor {
    type Value = RollbackKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RollbackKeys, A::Error> {
        let (mut version, mut other) = (false, false);
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Version => version = true,
                Key::Id => {}
                Key::Other => other = true,
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(RollbackKeys(version && !other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_version_alone_asks_for_a_rollback() {
        let ts = "2026-11-30T12:00:00.000Z";
        let want = Timestamp::parse(ts);
        assert!(want.is_some());
        let alone = format!(r#"{{"version": "{ts}"}}"#);
        assert_eq!(rollback_version(alone.as_bytes()).unwrap(), want);
        let with_id = format!(r#"{{"id": "/web", "version": "{ts}"}}"#);
        assert_eq!(rollback_version(with_id.as_bytes()).unwrap(), want);
        // Echoed back with other fields (the Python client does), it is ignored.
        let echoed = format!(r#"{{"cmd": "x", "version": "{ts}"}}"#);
        assert_eq!(rollback_version(echoed.as_bytes()).unwrap(), None);
        assert_eq!(rollback_version(br#"{"cmd": "x"}"#).unwrap(), None);
        assert_eq!(rollback_version(b"not json").unwrap(), None);
        let bad = rollback_version(br#"{"version": "yesterday"}"#).expect_err("bad version");
        assert!(matches!(
            bad,
            ApiError::BadInput(AppInputError::Invalid { .. })
        ));
    }
}
