//! Table-driven tests of parsing, validation, merge, legacy folding and round trips.

use serde_json::{Value, json};

use super::*;

mod defaults;
mod errors;
mod fields;
mod ids;
mod legacy;
mod merge;
mod round_trips;
mod rules;

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
