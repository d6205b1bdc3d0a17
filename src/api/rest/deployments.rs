//! `/v2/deployments`: the running deployment plans, and cancelling them.

use super::Rest;
use super::apps::deployed;
use super::query::{flag, param, params};
use crate::api::deployments::{self, Cancelled, deployment_json};
use crate::api::{ApiError, Consistency};
use crate::state::ids::DeploymentId;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub async fn list(State(rest): State<Rest>, uri: Uri) -> Result<Json<Value>, ApiError> {
    let params = params(&uri);
    let consistency = match param(&params, "consistency") {
        Some("stale") => Consistency::Stale,
        _ => Consistency::Linearizable,
    };
    let view = rest.api.read(consistency).await?;
    let list: Vec<Value> = view
        .state
        .deployments()
        .map(|d| deployment_json(d, &view.state))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// Rolls back (200 `{deploymentId, version}` of the reverting deployment) or, with
/// `force=true`, only stops (202, empty).
pub async fn cancel(
    State(rest): State<Rest>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let force = flag(&params(&uri), "force")?;
    let cancelled = deployments::cancel(&rest.api, DeploymentId(id.into()), force).await?;
    Ok(match cancelled {
        Cancelled::Stopped => StatusCode::ACCEPTED.into_response(),
        Cancelled::RolledBack {
            deployment,
            version,
        } => deployed(&deployment, version),
    })
}
