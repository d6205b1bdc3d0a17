//! `/v2/groups`: the group tree with its embeds, group writes (create, update, `scaleBy`,
//! `version` rollback, `dryRun`, PATCH of `enforceRole`), deletion, and each group's versions.

use super::Rest;
use super::apps::{deployed, render};
use super::query::{consistency, flag, only_known, param, params, request_id};
use crate::api::apps::write_document;
use crate::api::groups::{
    self, Embed, GroupView, GroupWrite, WriteOptions, at_version, group_path, parse_version,
    steps_json, versions,
};
use crate::api::{ApiError, Consistency};
use crate::state::PutMode;
use crate::state::Rejection;
use crate::state::path::PathId;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The query of a group route; anything else is refused.
struct GroupQuery {
    consistency: Consistency,
    embed: Embed,
    force: bool,
    dry_run: bool,
}

fn query(uri: &Uri) -> Result<GroupQuery, ApiError> {
    let params = params(uri);
    only_known(
        &params,
        &["consistency", "embed", "force", "dryRun", "partialUpdate"],
    )?;
    let consistency = consistency(param(&params, "consistency"))?;
    let embeds: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "embed")
        .map(|(_, v)| v.as_str())
        .collect();
    Ok(GroupQuery {
        consistency,
        embed: Embed::parse(&embeds)?,
        force: flag(&params, "force")?,
        dry_run: flag(&params, "dryRun")?,
    })
}

fn options(q: &GroupQuery, headers: &HeaderMap) -> WriteOptions {
    WriteOptions {
        force: q.force,
        dry_run: q.dry_run,
        request_id: request_id(headers),
    }
}

/// What a path under `/v2/groups/` names.
enum GroupPath {
    Group(PathId),
    Versions(PathId),
    Version(PathId, String),
    Apps(PathId),
}

fn parse_path(raw: &str) -> Result<GroupPath, ApiError> {
    let raw = raw.trim_end_matches('/');
    let raw = raw.trim_start_matches('/');
    if raw == "versions" {
        return Ok(GroupPath::Versions(PathId::root()));
    }
    if let Some(version) = raw.strip_prefix("versions/") {
        return Ok(GroupPath::Version(PathId::root(), version.to_string()));
    }
    if raw == "apps" {
        return Ok(GroupPath::Apps(PathId::root()));
    }
    if let Some(group) = raw.strip_suffix("/versions") {
        return Ok(GroupPath::Versions(group_path(group)?));
    }
    if let Some((group, version)) = raw.rsplit_once("/versions/") {
        return Ok(GroupPath::Version(group_path(group)?, version.to_string()));
    }
    if let Some(group) = raw.strip_suffix("/apps") {
        return Ok(GroupPath::Apps(group_path(group)?));
    }
    Ok(GroupPath::Group(group_path(raw)?))
}

fn only_group(raw: &str) -> Result<PathId, ApiError> {
    match parse_path(raw)? {
        GroupPath::Group(id) => Ok(id),
        _ => Err(ApiError::BadRequest(format!(
            "/v2/groups/{raw} takes only GET"
        ))),
    }
}

/// The answer to a write: the deployment (201 with `Location` when created), or the plan.
fn answer(write: GroupWrite, created: bool) -> Response {
    match write {
        GroupWrite::Planned(steps) => Json(json!({ "steps": steps_json(&steps) })).into_response(),
        GroupWrite::Deployed {
            id,
            deployment,
            version,
        } => {
            let mut response = deployed(&deployment, version);
            if created {
                *response.status_mut() = StatusCode::CREATED;
                if let Ok(location) = format!("/v2/groups{id}").parse() {
                    response.headers_mut().insert(header::LOCATION, location);
                }
            }
            response
        }
    }
}

async fn get_path(rest: &Rest, path: GroupPath, uri: &Uri) -> Result<Response, ApiError> {
    let q = query(uri)?;
    let view = rest.api.read(q.consistency).await?;
    let state = &view.state;
    match path {
        GroupPath::Group(id) => {
            GroupView::new(state, &id, q.embed).ok_or(Rejection::GroupNotFound(id.clone()))?;
            render(move |out| {
                let group = GroupView::new(&view.state, &id, q.embed);
                serde_json::to_writer(out, &group)
            })
            .await
        }
        GroupPath::Versions(id) => {
            let list: Vec<String> = versions(state, &id)?
                .iter()
                .map(|v| v.to_string())
                .collect();
            Ok(Json(json!(list)).into_response())
        }
        GroupPath::Version(id, raw) => {
            Ok(Json(at_version(state, &id, parse_version(&raw)?)?).into_response())
        }
        GroupPath::Apps(id) => {
            let embed = Embed {
                groups: false,
                ..q.embed
            };
            GroupView::new(state, &id, embed).ok_or(Rejection::GroupNotFound(id.clone()))?;
            render(move |out| {
                let state = &view.state;
                let apps = GroupView::new(state, &id, embed)
                    .filter(|_| embed.apps)
                    .map(|g| g.apps());
                write_document(out, "apps", apps)
            })
            .await
        }
    }
}

pub async fn get_root(State(rest): State<Rest>, uri: Uri) -> Result<Response, ApiError> {
    get_path(&rest, GroupPath::Group(PathId::root()), &uri).await
}

pub async fn get(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    get_path(&rest, parse_path(&raw)?, &uri).await
}

async fn write(
    rest: &Rest,
    base: PathId,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
    mode: PutMode,
) -> Result<Response, ApiError> {
    let q = query(uri)?;
    let write = groups::put(&rest.api, &base, body, mode, &options(&q, headers)).await?;
    Ok(answer(write, mode == PutMode::Create))
}

pub async fn post_root(
    State(rest): State<Rest>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(
        &rest,
        PathId::root(),
        &headers,
        &uri,
        &body,
        PutMode::Create,
    )
    .await
}

pub async fn put_root(
    State(rest): State<Rest>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(
        &rest,
        PathId::root(),
        &headers,
        &uri,
        &body,
        PutMode::Upsert,
    )
    .await
}

pub async fn post(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let base = only_group(&raw)?;
    write(&rest, base, &headers, &uri, &body, PutMode::Create).await
}

/// `PUT /v2/groups/{id}`; also `PUT /v2/groups/{id}/versions/{v}` with no body, the Python
/// client's `rollback_group`.
pub async fn put(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    match parse_path(&raw)? {
        GroupPath::Group(base) => write(&rest, base, &headers, &uri, &body, PutMode::Upsert).await,
        GroupPath::Version(id, raw_version) => {
            let q = query(&uri)?;
            let version = parse_version(&raw_version)?;
            let write = groups::rollback(&rest.api, &id, version, &options(&q, &headers)).await?;
            Ok(answer(write, false))
        }
        _ => Err(ApiError::BadRequest(format!(
            "/v2/groups/{raw} takes only GET"
        ))),
    }
}

pub async fn patch(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = only_group(&raw)?;
    let q = query(&uri)?;
    let write = groups::patch(&rest.api, &id, &body, &options(&q, &headers)).await?;
    Ok(answer(write, false))
}

async fn delete_path(
    rest: &Rest,
    id: PathId,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Response, ApiError> {
    let q = query(uri)?;
    let write = groups::delete(&rest.api, &id, &options(&q, headers)).await?;
    Ok(answer(write, false))
}

pub async fn delete_root(
    State(rest): State<Rest>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    delete_path(&rest, PathId::root(), &headers, &uri).await
}

pub async fn delete(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = only_group(&raw)?;
    delete_path(&rest, id, &headers, &uri).await
}
