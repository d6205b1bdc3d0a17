//! Tasks over REST: `/v2/apps/{id}/tasks` (list, kill), `/v2/apps/{id}/restart`, `/v2/tasks`
//! and `POST /v2/tasks/delete`, in Marathon's shapes. App paths may hold slashes, so the
//! `/v2/apps/{*id}` routes come here first and hand plain app paths on to `apps`.

use super::Rest;
use super::apps::{self as app_routes, deployed, json_response, render};
use super::query::{consistency, flag, param, params, request_id};
use crate::api::apps::{
    self, KillOptions, Killed, TASK_BYTES, TaskView, Tasks, document, path_id, task_has_status,
    write_document,
};
use crate::api::{ApiError, Consistency};
use crate::state::State as AppState;
use crate::state::ids::InstanceId;
use crate::state::model::{AppRecord, Condition, Instance};
use crate::state::path::PathId;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// What a path under `/v2/apps/` names, for the routes this file serves.
enum TaskPath {
    /// `{id}/tasks`
    Tasks(PathId),
    /// `{id}/tasks/{taskId}`
    Task(PathId, String),
    /// `{id}/restart`
    Restart(PathId),
    /// Anything else: an app path for `apps`.
    Other,
}

fn parse_path(raw: &str) -> Result<TaskPath, ApiError> {
    let raw = raw.trim_end_matches('/');
    if let Some(app) = raw.strip_suffix("/tasks") {
        return Ok(TaskPath::Tasks(path_id(app)?));
    }
    if let Some(app) = raw.strip_suffix("/restart") {
        return Ok(TaskPath::Restart(path_id(app)?));
    }
    if let Some((app, task)) = raw.rsplit_once("/tasks/")
        && !task.contains('/')
    {
        return Ok(TaskPath::Task(path_id(app)?, task.to_string()));
    }
    Ok(TaskPath::Other)
}

fn kill_options(params: &[(String, String)]) -> Result<KillOptions, ApiError> {
    Ok(KillOptions {
        scale: flag(params, "scale")?,
        wipe: flag(params, "wipe")?,
        force: flag(params, "force")?,
    })
}

/// Whether the client asked for Marathon's (deprecated) plain-text task list.
fn wants_text(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accept.contains("text/plain") && !accept.contains("application/json")
}

/// Marathon's plain-text endpoints: per app and service port, a tab-separated line of the app
/// (its safe name), the service port and each running task's `host:port`; an app without
/// ports gets one line of hosts.
fn endpoints_text<'a>(state: &AppState, apps: impl Iterator<Item = &'a AppRecord>) -> String {
    let mut out = String::new();
    for record in apps {
        let name = record.spec.id.safe_name();
        let running: Vec<_> = state
            .instances_of(&record.spec.id)
            .filter(|i| i.condition() == Condition::Running)
            .collect();
        let hosts = running.iter().map(|i| i.hostname.as_deref().unwrap_or(""));
        if record.spec.port_definitions.is_empty() {
            out.push_str(&format!("{name}\t \t"));
            for host in hosts {
                out.push_str(&format!("{host} \t"));
            }
            out.push('\n');
            continue;
        }
        for (index, port) in record.spec.port_definitions.iter().enumerate() {
            out.push_str(&format!("{name}\t{}\t", port.port));
            for i in &running {
                let host = i.hostname.as_deref().unwrap_or("");
                let task_port = i.host_ports.get(index).copied().unwrap_or(0);
                out.push_str(&format!("{host}:{task_port}\t"));
            }
            out.push('\n');
        }
    }
    out
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `GET /v2/apps/{*id}`: an app's tasks, or whatever `apps` serves.
pub async fn get(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let TaskPath::Tasks(id) = parse_path(&raw)? else {
        return app_routes::get(State(rest), Path(raw), uri).await;
    };
    let params = params(&uri);
    let view = rest
        .api
        .read(consistency(param(&params, "consistency"))?)
        .await?;
    let record = view
        .state
        .app(&id)
        .ok_or_else(|| ApiError::Rejected(crate::state::Rejection::AppNotFound(id.clone())))?;
    if wants_text(&headers) {
        return Ok(text(endpoints_text(&view.state, std::iter::once(record))));
    }
    render(move |out| {
        let instances: Vec<&Instance> = view.state.instances_of(&id).collect();
        write_document(out, "tasks", Tasks(&instances))
    })
    .await
}

/// `POST /v2/apps/{id}/restart?force=`: a rolling restart without a definition change.
pub async fn post(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let TaskPath::Restart(id) = parse_path(&raw)? else {
        return Ok(StatusCode::METHOD_NOT_ALLOWED.into_response());
    };
    let force = flag(&params(&uri), "force")?;
    let written = apps::restart(&rest.api, &id, request_id(&headers), force).await?;
    Ok(deployed(&written.deployment, written.app.version))
}

/// `DELETE /v2/apps/{*id}`: kills an app's tasks (all, or those on `host`) or one task, or
/// deletes the app through `apps`.
pub async fn delete(
    State(rest): State<Rest>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = params(&uri);
    let (app, task) = match parse_path(&raw)? {
        TaskPath::Tasks(app) => (app, None),
        TaskPath::Task(app, task) => (app, Some(task)),
        TaskPath::Restart(_) | TaskPath::Other => {
            return app_routes::delete(State(rest), Path(raw), headers, uri).await;
        }
    };
    let options = kill_options(&params)?;
    let view = rest.api.read(Consistency::Linearizable).await?;
    let single = task.is_some();
    let ids = match task {
        None => {
            let host = param(&params, "host").unwrap_or("*");
            apps::instances_on_host(&view.state, &app, host)?
        }
        Some(task) => {
            if view.state.app(&app).is_none() {
                return Err(crate::state::Rejection::AppNotFound(app).into());
            }
            apps::instances_of_tasks(&view.state, &[task], Some(&app))?
        }
    };
    let killed = apps::kill(&rest.api, ids, options, request_id(&headers)).await?;
    Ok(match killed {
        Killed::Scaled {
            deployment,
            version,
        } => deployed(&deployment, version),
        Killed::Tasks(tasks) if single => match tasks.first() {
            Some(task) => json_response(document("task", TaskView(task), TASK_BYTES))?,
            None => ApiError::NotFound("the task is already gone".into()).into_response(),
        },
        Killed::Tasks(tasks) => killed_tasks(&tasks)?,
    })
}

/// `GET /v2/tasks?status=running&status[]=staging`: every app's tasks, by task state.
pub async fn list(
    State(rest): State<Rest>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = params(&uri);
    let statuses: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "status" || k == "status[]")
        .map(|(_, v)| v.clone())
        .collect();
    let view = rest
        .api
        .read(consistency(param(&params, "consistency"))?)
        .await?;
    if wants_text(&headers) {
        return Ok(text(endpoints_text(&view.state, view.state.apps())));
    }
    render(move |out| {
        let state = &view.state;
        let instances: Vec<&Instance> = state
            .apps()
            .flat_map(|a| state.instances_of(&a.spec.id))
            .filter(|i| task_has_status(i, &statuses))
            .collect();
        write_document(out, "tasks", Tasks(&instances))
    })
    .await
}

/// `{"tasks": [...]}` of the tasks a kill stopped.
fn killed_tasks(tasks: &[Instance]) -> Result<Response, ApiError> {
    let tasks: Vec<&Instance> = tasks.iter().collect();
    json_response(document("tasks", Tasks(&tasks), tasks.len() * TASK_BYTES))
}

#[derive(Deserialize)]
struct TaskIds {
    ids: Vec<String>,
}

/// `POST /v2/tasks/delete?scale=&wipe=&force=` with `{"ids": [...]}`: kills tasks of any apps.
pub async fn kill(
    State(rest): State<Rest>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let options = kill_options(&params(&uri))?;
    let TaskIds { ids } = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON: {e}")))?;
    let view = rest.api.read(Consistency::Linearizable).await?;
    let instances: Vec<InstanceId> = apps::instances_of_tasks(&view.state, &ids, None)?;
    Ok(
        match apps::kill(&rest.api, instances, options, request_id(&headers)).await? {
            Killed::Scaled {
                deployment,
                version,
            } => deployed(&deployment, version),
            Killed::Tasks(tasks) => killed_tasks(&tasks)?,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_tasks_one_task_restart_or_an_app() {
        let app = |s: &str| PathId::parse(s, None).expect("path");
        assert!(
            matches!(parse_path("/prod/web/tasks"), Ok(TaskPath::Tasks(id)) if id == app("/prod/web"))
        );
        assert!(
            matches!(parse_path("web/restart/"), Ok(TaskPath::Restart(id)) if id == app("/web"))
        );
        assert!(matches!(
            parse_path("/web/tasks/web.instance-1._app.1"),
            Ok(TaskPath::Task(id, t)) if id == app("/web") && t == "web.instance-1._app.1"
        ));
        assert!(matches!(parse_path("/prod/web"), Ok(TaskPath::Other)));
        assert!(matches!(parse_path("/web/versions/x"), Ok(TaskPath::Other)));
    }

    #[test]
    fn query_parameters_decode_and_repeat() {
        let uri: Uri =
            "/v2/tasks?status=running&status%5B%5D=staging&scale=True&force=false&x=a+b%2Fc"
                .parse()
                .expect("uri");
        let p = params(&uri);
        assert_eq!(
            p,
            vec![
                ("status".to_string(), "running".to_string()),
                ("status[]".to_string(), "staging".to_string()),
                ("scale".to_string(), "True".to_string()),
                ("force".to_string(), "false".to_string()),
                ("x".to_string(), "a b/c".to_string()),
            ]
        );
        assert!(flag(&p, "scale").expect("bool"));
        assert!(!flag(&p, "force").expect("bool"));
        assert!(!flag(&p, "wipe").expect("absent"));
        assert!(flag(&[("scale".into(), "maybe".into())], "scale").is_err());
        assert_eq!(super::super::query::decode("100%"), "100%");
    }
}
