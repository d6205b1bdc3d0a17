//! `/v2/queue`: the apps waiting to launch instances, why offers did not fit them, and their
//! launch backoff (`DELETE /v2/queue/{id}/delay` resets it). Served by the leader, whose
//! scheduler keeps the queue.

use super::Rest;
use crate::api::ApiError;
use crate::api::apps::path_id;
use crate::state::Command;
use crate::state::time::Timestamp;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub async fn list(State(rest): State<Rest>) -> Result<Json<Value>, ApiError> {
    let view = rest.api.local_view();
    let queue = crate::api::queue::queue_items(&rest.api.queue(), &view.state, Timestamp::now());
    Ok(Json(json!({ "queue": queue })))
}

pub async fn reset_delay(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let app = path_id(&raw)?;
    if !rest.api.queue().iter().any(|e| e.app == app) {
        return Err(ApiError::NotFound(format!(
            "Application {app} not found in tasks queue."
        )));
    }
    rest.api
        .propose(None, Command::ResetLaunchDelay { app })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
