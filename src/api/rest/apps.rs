//! `/v2/apps`: app definitions, stored, versioned and replicated.

mod selector;

use super::Rest;
use super::query::{self, flag, only_known, param, params, request_id};
use crate::api::apps::{self, AppEmbed, AppView, UpdateOptions, path_id, write_document};
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
    render(move |out| {
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
        write_document(out, "apps", &apps)
    })
    .await
}

/// A JSON document rendered on the blocking pool: a list of 100,000 tasks is tens of
/// milliseconds of CPU that would otherwise stall every request (and Raft) sharing the worker.
pub(super) async fn render<F>(render: F) -> Result<Response, ApiError>
where
    F: FnOnce(&mut ChunkWriter) -> Result<(), serde_json::Error> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter {
            chunk: Vec::with_capacity(CHUNK_BYTES),
            tx,
        };
        let rendered = render(&mut out).and_then(|()| out.send().map_err(serde_json::Error::io));
        if let Err(e) = rendered {
            // The status line is out: end the body with an error, so that the client sees a
            // broken response rather than a document cut short. (A client that went away ends
            // rendering the same way, with nobody left to tell.)
            let _ = out
                .tx
                .blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The bytes of a response body handed to the connection at a time while it is rendered.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks rendered ahead of the connection; rendering waits beyond them, so a response of any
/// size holds a few hundred KB at a time (a list of 100,000 tasks is over 50 MB).
const CHUNKS_AHEAD: usize = 4;

/// Writes a rendered document to a response body in chunks, as it is rendered.
pub(super) struct ChunkWriter {
    chunk: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl ChunkWriter {
    /// Hands the bytes written so far to the body.
    fn send(&mut self) -> std::io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.chunk.extend_from_slice(bytes);
        if self.chunk.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
            render(move |out| {
                let state = &view.state;
                let record = state.app(&id).expect("the app was found in this view");
                let app = AppView::new(record, state, AppEmbed::INFO_WITH_TASKS);
                write_document(out, "app", &app)
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_document_is_streamed_a_few_chunks_ahead_of_the_client() {
        const TOTAL: usize = 40 * CHUNK_BYTES;
        let written = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&written);
        let response = render(move |out| {
            let line = [b'x'; 1024];
            while counter.load(Ordering::SeqCst) < TOTAL {
                out.write_all(&line).map_err(serde_json::Error::io)?;
                counter.fetch_add(line.len(), Ordering::SeqCst);
            }
            Ok(())
        })
        .await
        .expect("a response");
        // Nobody reads the body yet: rendering stops a few chunks ahead.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let ahead = written.load(Ordering::SeqCst);
        assert!(
            ahead <= (CHUNKS_AHEAD + 2) * CHUNK_BYTES,
            "{ahead} bytes rendered ahead of the client"
        );
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the whole body")
            .to_bytes();
        assert_eq!(body.len(), TOTAL);
        assert!(body.iter().all(|b| *b == b'x'));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_document_that_fails_to_render_ends_its_body_with_an_error() {
        let response = render(|out| {
            out.write_all(b"{\"apps\":[")
                .map_err(serde_json::Error::io)?;
            Err(serde_json::Error::io(std::io::Error::other("broken")))
        })
        .await
        .expect("a response");
        assert!(response.into_body().collect().await.is_err());
    }
}
