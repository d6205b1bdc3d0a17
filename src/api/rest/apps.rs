//! `/v2/apps`: app definitions, stored, versioned and replicated.

mod selector;

use super::Rest;
use super::query::{self, flag, only_known, param, params, request_id};
use crate::api::apps::{
    self, APP_BYTES, AppEmbed, AppView, TASK_BYTES, UpdateOptions, document, path_id,
};
use crate::api::{ApiError, Consistency};
use crate::state::Rejection;
use crate::state::ids::DeploymentId;
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use selector::LabelSelector;
use serde::Serialize;
use serde_json::json;

/// Query parameters the app routes understand; anything else is refused.
#[derive(Debug, Default)]
pub struct AppQuery {
    consistency: Option<String>,
    /// Case-insensitive substring filters of `GET /v2/apps`.
    id: Option<String>,
    cmd: Option<String>,
    /// Marathon's label selector of `GET /v2/apps`.
    label: Option<String>,
    partial_update: Option<bool>,
    /// Cancel the deployments that hold the app instead of answering 409.
    force: Option<bool>,
    /// `GET /v2/apps?embed=apps.tasks`: each app with its tasks.
    embed_tasks: bool,
}

impl AppQuery {
    fn consistency(&self) -> Result<Consistency, ApiError> {
        query::consistency(self.consistency.as_deref())
    }
}

/// The query of an app route. `embed` (repeatable): counts, deployments and the last failure
/// are always embedded; tasks in a list only with `embed=apps.tasks` (one app always has them).
fn query(uri: &Uri) -> Result<AppQuery, ApiError> {
    let params = params(uri);
    only_known(
        &params,
        &[
            "consistency",
            "id",
            "cmd",
            "label",
            "embed",
            "partialUpdate",
            "force",
        ],
    )?;
    let present = |key: &str| param(&params, key).is_some();
    Ok(AppQuery {
        consistency: param(&params, "consistency").map(String::from),
        id: param(&params, "id").map(String::from),
        cmd: param(&params, "cmd").map(String::from),
        label: param(&params, "label").map(String::from),
        partial_update: present("partialUpdate")
            .then(|| flag(&params, "partialUpdate"))
            .transpose()?,
        force: present("force")
            .then(|| flag(&params, "force"))
            .transpose()?,
        embed_tasks: params
            .iter()
            .any(|(k, v)| k == "embed" && v.split(',').any(|e| e.trim() == "apps.tasks")),
    })
}

pub async fn list(State(rest): State<Rest>, uri: Uri) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let consistency = q.consistency()?;
    let selector = q
        .label
        .as_deref()
        .map(LabelSelector::parse)
        .transpose()
        .map_err(|e| ApiError::Rejected(Rejection::Invalid(e)))?;
    let view = rest.api.read(consistency).await?;
    let embed = if q.embed_tasks {
        AppEmbed::INFO_WITH_TASKS
    } else {
        AppEmbed::INFO
    };
    // App ids are lowercase already (a path segment allows no capitals); commands are not.
    let id_filter = q.id.as_deref().map(str::to_lowercase);
    let cmd_filter = q.cmd.as_deref().map(str::to_lowercase);
    render(move || {
        let state = &view.state;
        let apps: Vec<AppView> = state
            .apps()
            .filter(|a| {
                id_filter
                    .as_deref()
                    .is_none_or(|f| a.spec.id.as_str().contains(f))
            })
            .filter(|a| {
                cmd_filter.as_deref().is_none_or(|f| {
                    a.spec
                        .cmd
                        .as_deref()
                        .is_some_and(|c| c.to_lowercase().contains(f))
                })
            })
            .filter(|a| selector.as_ref().is_none_or(|s| s.matches(&a.spec.labels)))
            .map(|a| AppView::new(a, state, embed))
            .collect();
        let tasks: usize = apps.iter().map(AppView::task_count).sum();
        let capacity = apps.len() * APP_BYTES + tasks * TASK_BYTES;
        document("apps", &apps, capacity)
    })
    .await
}

/// A JSON document rendered on the blocking pool: a list of 100,000 tasks is tens of
/// milliseconds of CPU that would otherwise stall every request (and Raft) sharing the worker.
pub(super) async fn render<F>(render: F) -> Result<Response, ApiError>
where
    F: FnOnce() -> Result<Vec<u8>, serde_json::Error> + Send + 'static,
{
    let rendered = tokio::task::spawn_blocking(render)
        .await
        .map_err(|e| ApiError::Internal(format!("rendering failed: {e}")))?;
    json_response(rendered)
}

/// A rendered JSON document as a response.
pub(super) fn json_response(
    rendered: Result<Vec<u8>, serde_json::Error>,
) -> Result<Response, ApiError> {
    let body = rendered.map_err(|e| ApiError::Internal(format!("rendering failed: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn create(
    State(rest): State<Rest>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let force = q.force.unwrap_or(false);
    let written = apps::create(&rest.api, &body, request_id(&headers), force).await?;
    let view = rest.api.local_view();
    let doc = AppView::new(&written.app, &view.state, AppEmbed::INFO_WITH_TASKS);
    Ok(created(&written.app.spec.id, &written.deployment, doc))
}

/// Bulk `PUT /v2/apps`: an array of app definitions created or updated in one deployment
/// (merged into the stored apps unless `partialUpdate=false`).
pub async fn put_many(
    State(rest): State<Rest>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let written = apps::put_many(
        &rest.api,
        &body,
        q.partial_update.unwrap_or(true),
        request_id(&headers),
        q.force.unwrap_or(false),
    )
    .await?;
    Ok(deployed(&written.deployment, written.version))
}

/// 201 with `Location` and `Marathon-Deployment-Id`.
fn created(id: &PathId, deployment: &DeploymentId, doc: impl Serialize) -> Response {
    let location = format!("/v2/apps{id}");
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, location),
            (DEPLOYMENT_HEADER, deployment.0.to_string()),
        ],
        Json(doc),
    )
        .into_response()
}

/// Marathon's answer to a write that started a deployment: the header and
/// `{deploymentId, version}`.
pub fn deployed(deployment: &DeploymentId, version: Timestamp) -> Response {
    let body = json!({ "deploymentId": deployment.0, "version": version.to_string() });
    ([(DEPLOYMENT_HEADER, deployment.0.to_string())], Json(body)).into_response()
}

const DEPLOYMENT_HEADER: header::HeaderName =
    header::HeaderName::from_static("marathon-deployment-id");

/// What a path under `/v2/apps/` names.
enum AppPath {
    App(PathId),
    Versions(PathId),
    Version(PathId, String),
}

fn parse_path(raw: &str) -> Result<AppPath, ApiError> {
    let raw = raw.trim_end_matches('/');
    if let Some(app) = raw.strip_suffix("/versions") {
        return Ok(AppPath::Versions(path_id(app)?));
    }
    if let Some((app, version)) = raw.rsplit_once("/versions/") {
        return Ok(AppPath::Version(path_id(app)?, version.to_string()));
    }
    Ok(AppPath::App(path_id(raw)?))
}

fn only_app(raw: &str) -> Result<PathId, ApiError> {
    match parse_path(raw)? {
        AppPath::App(id) => Ok(id),
        _ => Err(ApiError::BadRequest(format!(
            "/v2/apps/{raw} takes only GET"
        ))),
    }
}

pub async fn get(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let path = parse_path(&raw)?;
    let view = rest.api.read(q.consistency()?).await?;
    let state = &view.state;
    let not_found = |id: &PathId| ApiError::Rejected(Rejection::AppNotFound(id.clone()));
    match path {
        AppPath::App(id) => {
            state.app(&id).ok_or_else(|| not_found(&id))?;
            render(move || {
                let state = &view.state;
                let record = state.app(&id).expect("the app was found in this view");
                let app = AppView::new(record, state, AppEmbed::INFO_WITH_TASKS);
                let capacity = APP_BYTES + app.task_count() * TASK_BYTES;
                document("app", &app, capacity)
            })
            .await
        }
        AppPath::Versions(id) => {
            state.app(&id).ok_or_else(|| not_found(&id))?;
            let mut versions: Vec<String> = state
                .app_versions(&id)
                .iter()
                .map(|v| v.to_string())
                .collect();
            versions.reverse();
            Ok(Json(json!({ "versions": versions })).into_response())
        }
        AppPath::Version(id, raw_version) => {
            let version = Timestamp::parse(&raw_version).ok_or_else(|| {
                ApiError::BadRequest(format!("'{raw_version}' is not an ISO-8601 version"))
            })?;
            let spec = state.app_version(&id, version).ok_or_else(|| {
                ApiError::NotFound(format!(
                    "App '{id}' does not exist in version {raw_version}"
                ))
            })?;
            let mut doc = spec.to_marathon_json();
            doc["version"] = json!(version.to_string());
            Ok(Json(doc).into_response())
        }
    }
}

async fn update(
    rest: Rest,
    raw: String,
    headers: HeaderMap,
    q: AppQuery,
    body: Bytes,
    create_if_missing: bool,
) -> Result<Response, ApiError> {
    let id = only_app(&raw)?;
    let options = UpdateOptions {
        partial: q.partial_update.unwrap_or(true),
        create_if_missing,
        expected_revision: None,
        request_id: request_id(&headers),
        force: q.force.unwrap_or(false),
    };
    let written = apps::update(&rest.api, &id, &body, options).await?;
    Ok(if written.created {
        let result = json!({
            "deploymentId": written.deployment.0,
            "version": written.app.version.to_string(),
        });
        created(&id, &written.deployment, result)
    } else {
        deployed(&written.deployment, written.app.version)
    })
}

pub async fn put(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(rest, raw, headers, query(&uri)?, body, true).await
}

pub async fn patch(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut q = query(&uri)?;
    q.partial_update = Some(true);
    update(rest, raw, headers, q, body, false).await
}

pub async fn delete(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let id = only_app(&raw)?;
    let force = q.force.unwrap_or(false);
    let deleted = apps::delete(&rest.api, &id, None, request_id(&headers), force).await?;
    Ok(deployed(&deleted.deployment, deleted.version))
}
