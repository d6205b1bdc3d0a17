//! `/v2/deployments`: the running deployment plans, and cancelling them.

use super::Rest;
use super::apps::deployed;
use crate::api::deployments::{self, Cancelled, deployment_json};
use crate::api::{ApiError, Consistency};
use crate::state::ids::DeploymentId;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentQuery {
    force: Option<bool>,
    consistency: Option<String>,
}

fn query(
    q: Result<Query<DeploymentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<DeploymentQuery, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    Ok(q)
}

pub async fn list(
    State(rest): State<Rest>,
    q: Result<Query<DeploymentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let consistency = match q.consistency.as_deref() {
        Some("stale") => Consistency::Stale,
        _ => Consistency::Linearizable,
    };
    let view = rest.api.read(consistency).await?;
    let list: Vec<Value> = view.state.deployments().map(deployment_json).collect();
    Ok(Json(Value::Array(list)))
}

/// Rolls back (200 `{deploymentId, version}` of the reverting deployment) or, with
/// `force=true`, only stops (202, empty).
pub async fn cancel(
    State(rest): State<Rest>,
    Path(id): Path<String>,
    q: Result<Query<DeploymentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let cancelled =
        deployments::cancel(&rest.api, DeploymentId(id), q.force.unwrap_or(false)).await?;
    Ok(match cancelled {
        Cancelled::Stopped => StatusCode::ACCEPTED.into_response(),
        Cancelled::RolledBack {
            deployment,
            version,
        } => deployed(&deployment, version),
    })
}
