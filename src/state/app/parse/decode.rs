//! Bytes to an [`AppRequest`], with errors in Marathon's shape: a JSON path per error, 400 for
//! bad JSON or a wrong type, 422 for an unknown field.

use serde::de::IgnoredAny;

use super::request::AppRequest;
use crate::state::app::{AppInputError, Violation};

/// Decodes the body with JSON paths. Syntax and type errors are `InvalidJson` (400); an unknown
/// field is `Invalid` (422) naming it, as Marathon's strict schema does.
pub(in crate::state::app) fn decode(body: &[u8]) -> Result<AppRequest, AppInputError> {
    // serde's derive would also take a JSON array as a struct, field by field; an app is an object.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') && serde_json::from_slice::<IgnoredAny>(body).is_ok() {
        return Err(AppInputError::InvalidJson {
            details: vec![Violation {
                path: "/".to_owned(),
                errors: vec!["expected a JSON object".to_owned()],
            }],
        });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let req = match serde_path_to_error::deserialize::<_, AppRequest>(&mut de) {
        Ok(req) => req,
        Err(err) => return Err(decode_error(&err)),
    };
    if let Err(err) = de.end() {
        return Err(AppInputError::InvalidJson {
            details: vec![Violation {
                path: "/".to_owned(),
                errors: vec![err.to_string()],
            }],
        });
    }
    Ok(req)
}

fn decode_error(err: &serde_path_to_error::Error<serde_json::Error>) -> AppInputError {
    let path = json_pointer(err.path());
    let inner = err.inner();
    let message = inner.to_string();
    if let Some(field) = unknown_field_name(&message) {
        // The path usually ends with the offending key already.
        let path = if path.ends_with(&format!("/{field}")) {
            path
        } else if path == "/" {
            format!("/{field}")
        } else {
            format!("{path}/{field}")
        };
        return AppInputError::Invalid {
            details: vec![Violation {
                path,
                errors: vec![format!("unknown field '{field}'")],
            }],
        };
    }
    // Type errors carry a path, so the parser position only adds noise; syntax errors keep it.
    let message = if inner.is_data() {
        strip_position(&message).to_owned()
    } else {
        message
    };
    AppInputError::InvalidJson {
        details: vec![Violation {
            path,
            errors: vec![message],
        }],
    }
}

/// serde's derive reports "unknown field `x`, expected …"; this is the one message shape that
/// makes an error a 422 rather than a 400.
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// Marathon's path style for a decoding error's place: "/healthChecks(0)/portIndex",
/// "/groups(0)/apps(1)", root "/".
pub(crate) fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("({index})")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if out.is_empty() { "/".to_owned() } else { out }
}
