//! Bulk `PUT /v2/apps`: several app definitions created or updated as one deployment.

use super::{UPDATE_ATTEMPTS, deploy, path_id};
use crate::api::{Api, ApiError};
use crate::state::app::{AppInput, AppInputError, Violation, parse_app};
use crate::state::ids::{DeploymentId, RequestId};
use crate::state::model::AppRecord;
use crate::state::time::Timestamp;
use crate::state::{Command, Outcome, Rejection};
use serde_json::Value;

/// A committed bulk write: the deployment for all the apps and their newest version.
pub struct BulkWritten {
    pub apps: Vec<AppRecord>,
    pub deployment: DeploymentId,
    pub version: Timestamp,
}

/// Bulk `PUT /v2/apps`: a JSON array of app definitions, each created or updated (merged into
/// the stored app when `partial`, Marathon's default), all in one deployment. Every element
/// is parsed and validated before anything is proposed; violations name the element
/// (`(1)/cmd`).
pub async fn put_many(
    api: &Api,
    body: &[u8],
    partial: bool,
    request_id: Option<RequestId>,
    force: bool,
) -> Result<BulkWritten, ApiError> {
    let invalid_json = |path: String, error: String| AppInputError::InvalidJson {
        details: vec![Violation {
            path,
            errors: vec![error],
        }],
    };
    let elements: Vec<Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(elements)) => elements,
        Ok(_) => {
            return Err(invalid_json("/".into(), "error.expected.jsarray".into()).into());
        }
        Err(e) => return Err(invalid_json("/".into(), e.to_string()).into()),
    };
    // Each element with its canonical id (relative ids are relative to the root here).
    let mut named = Vec::with_capacity(elements.len());
    let mut violations: Vec<Violation> = Vec::new();
    for (i, mut element) in elements.into_iter().enumerate() {
        let raw_id = element.get("id").and_then(Value::as_str);
        match raw_id.and_then(|raw| path_id(raw).ok()) {
            Some(id) => {
                element["id"] = Value::String(id.to_string());
                named.push((i, id, element));
            }
            None => violations.push(Violation {
                path: format!("({i})/id"),
                errors: vec![match raw_id {
                    None => "is required".into(),
                    Some(raw) => format!("'{raw}' is not a valid app id"),
                }],
            }),
        }
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A merge reads the stored apps, so the command carries the revisions it merged into
        // and is redone on newer state should one of them have moved meanwhile.
        let view = api.local_view();
        let mut apps = Vec::with_capacity(named.len());
        let mut expected_revisions = Vec::new();
        let mut violations = violations.clone();
        let mut malformed = false;
        for (i, id, element) in &named {
            let existing = view.state.app(id).filter(|_| partial);
            let input = match existing {
                Some(record) => AppInput::Merge {
                    id,
                    existing: &record.spec,
                },
                None => AppInput::Replace { id },
            };
            if partial {
                expected_revisions.push(existing.map_or(0, |r| r.revision));
            }
            let bytes = serde_json::to_vec(element).unwrap_or_default();
            match parse_app(&bytes, input) {
                Ok(app) => apps.push(app),
                Err(e) => {
                    malformed |= matches!(e, AppInputError::InvalidJson { .. });
                    violations.extend(e.details().iter().map(|v| Violation {
                        path: format!("({i}){}", v.path),
                        errors: v.errors.clone(),
                    }));
                }
            }
        }
        if !violations.is_empty() {
            let details = violations;
            return Err(if malformed {
                AppInputError::InvalidJson { details }
            } else {
                AppInputError::Invalid { details }
            }
            .into());
        }
        let command = Command::PutApps {
            apps,
            expected_revisions,
            deploy: deploy(force),
        };
        match api.propose(request_id.clone(), command).await {
            Err(ApiError::Rejected(Rejection::RevisionConflict { .. }))
                if attempt < UPDATE_ATTEMPTS =>
            {
                api.wait_for_newer_state(&view).await;
            }
            Ok(Outcome::Apps {
                apps,
                deployment,
                version,
            }) => {
                return Ok(BulkWritten {
                    apps,
                    deployment,
                    version,
                });
            }
            Ok(other) => return Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
            Err(e) => return Err(e),
        }
    }
}
