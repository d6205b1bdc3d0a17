//! mesos-local's admin endpoint, on the scheduler API's listener; every answer is JSON, errors
//! are `{"message": …}` with 404 (unknown agent or task), 409 (not in a state for it), 400 (bad
//! body) or 503 (stopping):
//!
//! - `POST /admin/agents/{agent_id}/unreachable`: the agent is partitioned away. Its offers are
//!   rescinded and it is offered no more; its live tasks are reported TASK_UNREACHABLE
//!   (TASK_LOST without PARTITION_AWARE), REASON_AGENT_REMOVED, with `unreachable_time`. Their
//!   own updates wait for the agent to come back.
//! - `POST /admin/agents/{agent_id}/reachable`: the agent re-registers. Each of its tasks is
//!   reported with its current state (e.g. TASK_RUNNING), REASON_AGENT_REREGISTERED; pending
//!   updates follow and offers resume.
//! - `POST /admin/agents/{agent_id}/remove`: the agent is gone for good: offers rescinded, live
//!   tasks reported TASK_GONE (TASK_LOST), REASON_AGENT_REMOVED_BY_OPERATOR, their processes
//!   killed; it leaves `/state`.
//! - `POST /admin/agents/{agent_id}/maintenance` with body
//!   `{"start": {"nanoseconds": N}, "duration": {"nanoseconds": D}}` (`duration` optional):
//!   outstanding offers are rescinded and new ones carry it as `unavailability`.
//!   `DELETE` on the same path takes the agent out of maintenance.
//! - `POST /admin/tasks/{task_id}/finish` and `/fail` (`?framework_id=` when several frameworks
//!   use the id; optional body `{"message": …}`): a simulated task turns TASK_FINISHED or
//!   TASK_FAILED.
//! - `GET /admin/launches`: `{"launches": [{"task_id", "agent_id", "framework_id",
//!   "stream_id", "time_ms"}]}`, every launch (the latest 200,000) in order, with the
//!   `Mesos-Stream-Id` of the ACCEPT that made it and its time in ms since the epoch.

use super::master::MasterHandle;
use super::operator::AdminCommand;
use super::operator::AdminError;
use crate::mesos::{AgentId, FrameworkId, TaskId, TaskState, Unavailability};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(super) fn router(master: MasterHandle) -> Router {
    Router::new()
        .route("/admin/agents/{agent_id}/unreachable", post(unreachable))
        .route("/admin/agents/{agent_id}/reachable", post(reachable))
        .route("/admin/agents/{agent_id}/remove", post(remove))
        .route(
            "/admin/agents/{agent_id}/maintenance",
            post(maintenance).delete(end_maintenance),
        )
        .route("/admin/tasks/{task_id}/finish", post(finish))
        .route("/admin/tasks/{task_id}/fail", post(fail))
        .route("/admin/launches", get(launches))
        .with_state(master)
}

fn message(status: StatusCode, message: String) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

/// The one place an operator refusal becomes an HTTP status.
async fn answer(master: &MasterHandle, command: AdminCommand) -> Response {
    match master.admin(command).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => {
            let status = match &e {
                AdminError::NotFound(_) => StatusCode::NOT_FOUND,
                AdminError::Conflict(_) => StatusCode::CONFLICT,
                AdminError::Stopping => StatusCode::SERVICE_UNAVAILABLE,
            };
            message(status, e.to_string())
        }
    }
}

async fn unreachable(State(m): State<MasterHandle>, Path(agent): Path<String>) -> Response {
    answer(&m, AdminCommand::Unreachable(AgentId::new(agent))).await
}

async fn reachable(State(m): State<MasterHandle>, Path(agent): Path<String>) -> Response {
    answer(&m, AdminCommand::Reachable(AgentId::new(agent))).await
}

async fn remove(State(m): State<MasterHandle>, Path(agent): Path<String>) -> Response {
    answer(&m, AdminCommand::Remove(AgentId::new(agent))).await
}

async fn maintenance(
    State(m): State<MasterHandle>,
    Path(agent): Path<String>,
    body: Bytes,
) -> Response {
    let window: Unavailability = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                format!(
                    "expected {{\"start\": {{\"nanoseconds\": …}}, \"duration\": \
                     {{\"nanoseconds\": …}}}}: {e}"
                ),
            );
        }
    };
    let command = AdminCommand::Maintenance(AgentId::new(agent), Some(window));
    answer(&m, command).await
}

async fn end_maintenance(State(m): State<MasterHandle>, Path(agent): Path<String>) -> Response {
    answer(&m, AdminCommand::Maintenance(AgentId::new(agent), None)).await
}

#[derive(Deserialize)]
struct Which {
    framework_id: Option<String>,
}

#[derive(Deserialize)]
struct Ending {
    message: Option<String>,
}

async fn end_task(
    m: &MasterHandle,
    task: String,
    which: Which,
    body: &[u8],
    state: TaskState,
) -> Response {
    let ending = if body.iter().all(u8::is_ascii_whitespace) {
        Ending { message: None }
    } else {
        match serde_json::from_slice::<Ending>(body) {
            Ok(e) => e,
            Err(e) => {
                let why = format!("expected {{\"message\": …}} or no body: {e}");
                return message(StatusCode::BAD_REQUEST, why);
            }
        }
    };
    let command = AdminCommand::EndTask {
        task: TaskId::new(task),
        framework: which.framework_id.map(FrameworkId::new),
        state,
        message: ending.message,
    };
    answer(m, command).await
}

async fn finish(
    State(m): State<MasterHandle>,
    Path(task): Path<String>,
    Query(which): Query<Which>,
    body: Bytes,
) -> Response {
    end_task(&m, task, which, &body, TaskState::Finished).await
}

async fn fail(
    State(m): State<MasterHandle>,
    Path(task): Path<String>,
    Query(which): Query<Which>,
    body: Bytes,
) -> Response {
    end_task(&m, task, which, &body, TaskState::Failed).await
}

async fn launches(State(m): State<MasterHandle>) -> Response {
    answer(&m, AdminCommand::Launches).await
}
