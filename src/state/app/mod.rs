//! Marathon's app model: parsing request bodies into validated apps, and the JSON served back.
//!
//! Pure and I/O-free; REST, gRPC and the state machine all go through [`parse_app`] so an app is
//! validated in exactly one place.

mod checks;
mod container;
mod json;
mod model;
mod parse;
mod strategy;
mod validate;

pub use checks::*;
pub use container::*;
pub use model::*;
pub(crate) use parse::json_pointer;
pub use strategy::*;

use crate::state::path::PathId;

/// One entry of Marathon's 422 body: {"path":"/upgradeStrategy/minimumHealthCapacity","errors":["..."]}.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub path: String,
    pub errors: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AppInputError {
    /// Not JSON at all, or wrong JSON types (Marathon answers 400 "Invalid JSON").
    #[error("Invalid JSON")]
    InvalidJson { details: Vec<Violation> },
    /// Well-formed but not a valid app (Marathon answers 422 "Object is not valid").
    #[error("Object is not valid")]
    Invalid { details: Vec<Violation> },
}

impl AppInputError {
    pub fn details(&self) -> &[Violation] {
        match self {
            AppInputError::InvalidJson { details } | AppInputError::Invalid { details } => details,
        }
    }
}

/// How a request body relates to the stored app.
pub enum AppInput<'a> {
    /// POST /v2/apps: the body is the whole app.
    Create,
    /// PUT /v2/apps/{id}?partialUpdate=false, or PUT creating a missing app: the body replaces the app.
    Replace { id: &'a PathId },
    /// PUT/PATCH with partial update (Marathon's default): top-level fields present in the body
    /// replace those of `existing`; absent ones are kept.
    Merge {
        id: &'a PathId,
        existing: &'a AppDefinition,
    },
}

/// Parses a request body (bytes as received) into a validated, canonical, default-filled app.
///
/// Syntax and type errors are `InvalidJson` with the JSON path; unknown fields and every rule
/// violation are `Invalid`, all violations at once. Response-only fields that clients echo back
/// (`version`, `tasks`, …) are ignored: a `{"version": …}` rollback is the caller's to detect.
pub fn parse_app(body: &[u8], input: AppInput<'_>) -> Result<AppDefinition, AppInputError> {
    let request = parse::decode(body)?;
    let mut violations = Violations::default();
    let app = parse::resolve(request, &input, &mut violations);
    validate::validate(&app, &mut violations);
    if violations.0.is_empty() {
        Ok(app)
    } else {
        Err(AppInputError::Invalid {
            details: violations.0,
        })
    }
}

/// Violations grouped by path in the order first seen, as Marathon's `details` are.
#[derive(Default)]
pub(super) struct Violations(Vec<Violation>);

impl Violations {
    fn add(&mut self, path: impl Into<String>, error: impl Into<String>) {
        let (path, error) = (path.into(), error.into());
        match self.0.iter_mut().find(|v| v.path == path) {
            Some(v) => {
                if !v.errors.contains(&error) {
                    v.errors.push(error);
                }
            }
            None => self.0.push(Violation {
                path,
                errors: vec![error],
            }),
        }
    }
}

/// The path of the `i`th element of an array field: "/healthChecks(0)".
fn at(path: &str, i: usize) -> String {
    format!("{path}({i})")
}

#[cfg(test)]
mod tests;
