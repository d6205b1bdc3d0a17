//! The REST front end, wire-compatible with Marathon's `/v2`. A follower proxies what it cannot
//! serve to the leader's HTTP port as Marathon does (`X-Marathon-Via` marks a proxied request,
//! and a proxied request is never proxied again); the leader marks its answers with
//! `X-Marathon-Leader`.

mod apps;
mod deployments;
mod events;
mod groups;
mod metrics;
mod proxy;
mod query;
mod queue;
mod system;
mod tasks;

use super::Api;
use axum::Router;
use axum::routing::get;
use std::net::IpAddr;

/// What the REST handlers share.
#[derive(Clone)]
pub struct Rest {
    pub api: Api,
    pub info: NodeInfo,
    proxy: proxy::Proxy,
}

/// Facts about this node that `/v2/info` reports.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// This node's own HTTP `host:port`.
    pub http: String,
    pub mesos_masters: Vec<String>,
    pub framework_name: String,
    pub failover_timeout_secs: u64,
    pub mesos_role: String,
    pub mesos_user: Option<String>,
}

/// The REST routes; requests proxied to the leader leave from `bind` when given.
pub fn router(api: Api, info: NodeInfo, bind: Option<IpAddr>) -> Router {
    let state = Rest {
        proxy: proxy::Proxy::new(&info.http, bind),
        api,
        info,
    };
    metrics::started();
    Router::new()
        .route("/ping", get(system::ping))
        .route(
            "/v2/leader",
            get(system::get_leader).delete(system::abdicate),
        )
        .route("/v2/info", get(system::info))
        .route("/v2/events", get(events::stream))
        .route(
            "/v2/apps",
            get(apps::list).post(apps::create).put(apps::put_many),
        )
        .route(
            "/v2/apps/{*id}",
            get(tasks::get)
                .post(tasks::post)
                .put(apps::put)
                .patch(apps::patch)
                .delete(tasks::delete),
        )
        .route(
            "/v2/groups",
            get(groups::get_root)
                .post(groups::post_root)
                .put(groups::put_root)
                .delete(groups::delete_root),
        )
        .route(
            "/v2/groups/{*path}",
            get(groups::get)
                .post(groups::post)
                .put(groups::put)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/v2/tasks", get(tasks::list))
        .route("/v2/tasks/delete", axum::routing::post(tasks::kill))
        .route("/v2/deployments", get(deployments::list))
        .route(
            "/v2/deployments/{id}",
            axum::routing::delete(deployments::cancel),
        )
        .route("/v2/queue", get(queue::list))
        .route(
            "/v2/queue/{*id}",
            axum::routing::delete(
                |state, axum::extract::Path(path): axum::extract::Path<String>| async move {
                    match path.strip_suffix("/delay") {
                        Some(app) => {
                            queue::reset_delay(state, axum::extract::Path(app.to_string())).await
                        }
                        None => Err(crate::api::ApiError::NotFound(format!(
                            "no such resource: /v2/queue/{path}"
                        ))),
                    }
                },
            ),
        )
        .fallback(system::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            proxy::leader_or_proxy,
        ))
        // Every node describes itself: never proxied.
        .route("/metrics", get(metrics::json))
        .route("/metrics/prometheus", get(metrics::prometheus))
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}
