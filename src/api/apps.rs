//! App operations shared by REST and gRPC: parse and validate the definition, build the command,
//! propose it; and the Marathon `AppInfo` document both front ends serve.

mod bulk;
mod edit;
mod iso;
mod render;
mod rollback;

pub use bulk::{BulkWritten, put_many};
pub use iso::Iso;
pub(crate) use render::task_state;
pub use render::{
    AppEmbed, AppView, TASK_BYTES, TaskCounts, TaskView, Tasks, app_info, app_info_json, document,
    readiness_results, task_counts, task_json, to_value, write_document,
};
pub use rollback::{roll_back_to, rollback_version};

use super::{Api, ApiError};
use crate::state::app::{AppInput, parse_app};
use crate::state::ids::{DeploymentId, InstanceId, RequestId, TaskId};
use crate::state::model::{AppRecord, Instance};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Command, Deploy, Outcome, PutMode, Rejection, State};
use std::sync::Arc;

/// How often an update retries its internal compare-and-set when a concurrent write moved the
/// app under it (only when the caller gave no `expected_revision` of its own).
const UPDATE_ATTEMPTS: usize = 5;

/// Parses an app id from a URL path segment (always absolute).
pub fn path_id(raw: &str) -> Result<PathId, ApiError> {
    PathId::parse(&format!("/{}", raw.trim_start_matches('/')), None)
        .map_err(|e| ApiError::BadRequest(format!("invalid app id '{raw}': {e}")))
}

/// A committed app write: the app as stored, whether it was created, and its deployment.
pub struct Written {
    pub app: AppRecord,
    pub created: bool,
    pub deployment: DeploymentId,
}

fn expect_app(outcome: Outcome) -> Result<Written, ApiError> {
    match outcome {
        Outcome::App {
            app,
            created,
            deployment,
        } => Ok(Written {
            app,
            created,
            deployment,
        }),
        other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
    }
}

/// A fresh deployment for a change; `force` cancels the deployments that hold its apps.
pub fn deploy(force: bool) -> Deploy {
    Deploy {
        id: DeploymentId(uuid::Uuid::now_v7().to_string().into()),
        force,
    }
}

/// POST: creates an app; refused when it exists.
pub async fn create(
    api: &Api,
    body: &[u8],
    request_id: Option<RequestId>,
    force: bool,
) -> Result<Written, ApiError> {
    let app = parse_app(body, AppInput::Create)?;
    let outcome = api
        .propose(
            request_id,
            Command::PutApp {
                app: Arc::new(app),
                expected_revision: None,
                mode: PutMode::Create,
                deploy: deploy(force),
            },
        )
        .await?;
    expect_app(outcome)
}

/// How an update treats the stored app.
pub struct UpdateOptions {
    /// Merge the body into the stored app (Marathon's default) rather than replace it.
    pub partial: bool,
    /// Create the app when it does not exist (PUT) instead of answering 404 (PATCH).
    pub create_if_missing: bool,
    /// The caller's optimistic-concurrency check, when it made one.
    pub expected_revision: Option<u64>,
    pub request_id: Option<RequestId>,
    /// Cancel the deployments that hold the app instead of being refused (`?force=true`).
    pub force: bool,
}

/// PUT/PATCH: updates (or creates) an app. Returns the stored app and whether it was created.
///
/// A replacement needs no read: the state machine decides create-or-replace. A merge reads the
/// leader's own applied state and proposes with that revision as its expected one; should a
/// write land in between (or the leader not have applied everything yet), the state machine
/// refuses it and the merge is redone on newer state.
pub async fn update(
    api: &Api,
    id: &PathId,
    body: &[u8],
    options: UpdateOptions,
) -> Result<Written, ApiError> {
    if let Some(version) = rollback_version(body)? {
        return roll_back_to(api, id, version, &options).await;
    }
    let mode = if options.create_if_missing {
        PutMode::Upsert
    } else {
        PutMode::Update
    };
    if !options.partial {
        let app = parse_app(body, AppInput::Replace { id })?;
        let command = Command::PutApp {
            app: Arc::new(app),
            expected_revision: options.expected_revision,
            mode,
            deploy: deploy(options.force),
        };
        return expect_app(api.propose(options.request_id, command).await?);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let view = api.local_view();
        let existing = view.state.app(id);
        if existing.is_none() && !options.create_if_missing {
            return Err(Rejection::AppNotFound(id.clone()).into());
        }
        let input = match existing {
            Some(record) => AppInput::Merge {
                id,
                existing: &record.spec,
            },
            None => AppInput::Replace { id },
        };
        let app = parse_app(body, input)?;
        let expected = options
            .expected_revision
            .or(Some(existing.map_or(0, |r| r.revision)));
        let command = Command::PutApp {
            app: Arc::new(app),
            expected_revision: expected,
            mode,
            deploy: deploy(options.force),
        };
        match api.propose(options.request_id.clone(), command).await {
            Err(ApiError::Rejected(Rejection::RevisionConflict { .. }))
                if options.expected_revision.is_none() && attempt < UPDATE_ATTEMPTS =>
            {
                api.wait_for_newer_state(&view).await;
            }
            other => return expect_app(other?),
        }
    }
}

/// A committed deletion: the revision the app had, the time, and the deployment stopping it.
pub struct Deleted {
    pub revision: u64,
    pub version: Timestamp,
    pub deployment: DeploymentId,
}

/// DELETE: removes an app and its version history; its instances are killed by a deployment.
pub async fn delete(
    api: &Api,
    id: &PathId,
    expected_revision: Option<u64>,
    request_id: Option<RequestId>,
    force: bool,
) -> Result<Deleted, ApiError> {
    let outcome = api
        .propose(
            request_id,
            Command::DeleteApp {
                id: id.clone(),
                expected_revision,
                deploy: deploy(force),
            },
        )
        .await?;
    match outcome {
        Outcome::AppDeleted {
            revision,
            version,
            deployment,
            ..
        } => Ok(Deleted {
            revision,
            version,
            deployment,
        }),
        other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
    }
}

/// `POST /v2/apps/{id}/restart`: the same definition as a new version, replaced instance by
/// instance by the deployment it starts.
pub async fn restart(
    api: &Api,
    id: &PathId,
    request_id: Option<RequestId>,
    force: bool,
) -> Result<Written, ApiError> {
    let command = Command::RestartApp {
        id: id.clone(),
        deploy: deploy(force),
    };
    expect_app(api.propose(request_id, command).await?)
}

/// How a kill treats the apps of the killed tasks (Marathon's query parameters).
#[derive(Clone, Copy, Debug, Default)]
pub struct KillOptions {
    /// Scale the apps down by the number killed instead of replacing the tasks.
    pub scale: bool,
    /// Also forget a resident instance's reservation. For an instance without one (every
    /// instance today) a kill already forgets it, so this changes nothing.
    pub wipe: bool,
    /// With `scale`: cancel the deployments that hold the apps instead of answering 409.
    pub force: bool,
}

/// What a kill did.
pub enum Killed {
    /// Without `scale`: the killed tasks, to be replaced by the scheduler.
    Tasks(Vec<Instance>),
    /// With `scale`: the deployment scaling the apps down, and their new version.
    Scaled {
        deployment: DeploymentId,
        version: Timestamp,
    },
}

/// The instances whose current tasks have these ids (optionally only of `app`); an id naming
/// no current task is answered 404, as Marathon does.
pub fn instances_of_tasks(
    state: &State,
    task_ids: &[String],
    app: Option<&PathId>,
) -> Result<Vec<InstanceId>, ApiError> {
    task_ids
        .iter()
        .map(|raw| {
            let task = TaskId(raw.clone().into());
            task.instance()
                .and_then(|(id, _)| state.instance(&id))
                .filter(|i| i.task_id() == task && app.is_none_or(|a| *a == i.app))
                .map(|i| i.id.clone())
                .ok_or_else(|| ApiError::NotFound(format!("Task '{raw}' does not exist")))
        })
        .collect()
}

/// The instances of `app` whose agent is `host` (`*`: all of them); 404 for a missing app.
pub fn instances_on_host(
    state: &State,
    app: &PathId,
    host: &str,
) -> Result<Vec<InstanceId>, ApiError> {
    state
        .app(app)
        .ok_or_else(|| ApiError::Rejected(Rejection::AppNotFound(app.clone())))?;
    Ok(state
        .instances_of(app)
        .filter(|i| host == "*" || i.hostname.as_deref() == Some(host))
        .map(|i| i.id.clone())
        .collect())
}

/// Kills instances (see [`Command::KillInstances`]).
pub async fn kill(
    api: &Api,
    ids: Vec<InstanceId>,
    options: KillOptions,
    request_id: Option<RequestId>,
) -> Result<Killed, ApiError> {
    if options.scale && options.wipe {
        return Err(ApiError::BadRequest(
            "You cannot use scale and wipe at the same time.".into(),
        ));
    }
    if options.wipe {
        let view = api.local_view();
        if ids
            .iter()
            .filter_map(|id| view.state.instance(id))
            .any(|i| i.reservation.is_some())
        {
            return Err(Rejection::Invalid("wipe is not supported yet".into()).into());
        }
    }
    let command = Command::KillInstances {
        ids,
        scale: options.scale.then(|| deploy(options.force)),
    };
    match api.propose(request_id, command).await? {
        Outcome::InstancesKilled {
            scaled: Some((deployment, version)),
            ..
        } => Ok(Killed::Scaled {
            deployment,
            version,
        }),
        Outcome::InstancesKilled { killed, .. } => Ok(Killed::Tasks(killed)),
        other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
    }
}

/// Whether an instance's task is in one of `statuses` (`running`, `staging`, …: Marathon's
/// `/v2/tasks?status=`, matched against the task's `TASK_*` state); no statuses: all.
pub fn task_has_status(instance: &Instance, statuses: &[String]) -> bool {
    let state = task_state(instance.condition());
    statuses.is_empty()
        || statuses.iter().any(|s| {
            state
                .strip_prefix("TASK_")
                .is_some_and(|name| name.eq_ignore_ascii_case(s))
        })
}
