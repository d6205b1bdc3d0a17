//! `/ping`, `/v2/leader`, `/v2/info` and the fallback for unknown routes.

use super::Rest;
use crate::api::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn ping() -> &'static str {
    "pong"
}

/// `{"leader":"host:port"}` of the HTTP endpoint of the leader this node knows, or 404.
pub async fn get_leader(State(rest): State<Rest>) -> Response {
    match rest.api.leadership().leader {
        Some((_, member)) => Json(json!({ "leader": member.http })).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "There is no leader" })),
        )
            .into_response(),
    }
}

/// Abdication (reached only on the leader: followers proxy it).
pub async fn abdicate(State(rest): State<Rest>) -> Result<Json<serde_json::Value>, ApiError> {
    crate::api::abdicate(&rest.api).await?;
    Ok(Json(json!({ "message": "Leadership abdicated" })))
}

pub async fn info(State(rest): State<Rest>) -> Json<serde_json::Value> {
    let leadership = rest.api.leadership();
    let view = rest.api.local_view();
    let i = &rest.info;
    Json(json!({
        "name": "baton",
        "version": env!("CARGO_PKG_VERSION"),
        "buildref": "unknown",
        "elected": leadership.is_leader(),
        "leader": leadership.leader.map(|(_, m)| m.http),
        "frameworkId": view.state.settings().framework_id.as_ref().map(|f| f.to_string()),
        "marathon_config": {
            "master": i.mesos_masters.join(","),
            "failover_timeout": i.failover_timeout_secs,
            "framework_name": i.framework_name,
            "ha": true,
            "hostname": i.http.rsplit_once(':').map_or(i.http.as_str(), |(h, _)| h),
            "mesos_role": i.mesos_role,
            "mesos_user": i.mesos_user,
            "checkpoint": true,
            "local_port_min": 10000,
            "local_port_max": 20000,
            "executor": "//cmd",
            "task_launch_timeout": 300000,
            "reconciliation_initial_delay": 15000,
            "reconciliation_interval": 600000,
            "features": [],
        },
        "zookeeper_config": {
            "zk": null,
            "zk_timeout": 10000,
            "zk_session_timeout": 10000,
            "zk_max_versions": crate::state::MAX_APP_VERSIONS,
        },
        "http_config": {
            "http_port": i.http.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()),
            "https_port": null,
        },
    }))
}

/// Marathon answers unknown routes with 404 and a message.
pub async fn not_found() -> Response {
    ApiError::NotFound("URI not found".into()).into_response()
}
