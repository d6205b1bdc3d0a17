//! `AppService`: app definitions over gRPC, as the same Marathon JSON documents REST serves.

use super::{Route, Router, forwarded, leader_unreachable};
use crate::api::apps::{self, UpdateOptions};
use crate::api::deployments::{self, Cancelled, deployment_json};
use crate::api::queue::queue_items;
use crate::api::{Api, ApiError, Consistency};
use crate::proto::v1::app_service_client::AppServiceClient;
use crate::proto::v1::app_service_server::AppService;
use crate::proto::v1::{
    App, CreateAppRequest, DeleteAppReply, DeleteAppRequest, GetAppRequest, KillTasksReply,
    KillTasksRequest, ListAppsReply, ListAppsRequest, ListTasksReply, ListTasksRequest,
    RestartAppRequest, ScaleAppRequest, Task, UpdateAppRequest,
};
use crate::proto::v1::{
    CancelDeploymentReply, CancelDeploymentRequest, Deployment, GetQueueReply, GetQueueRequest,
    ListDeploymentsReply, ListDeploymentsRequest,
};
use crate::state::State;
use crate::state::ids::DeploymentId;
use crate::state::ids::RequestId;
use crate::state::model::{AppRecord, Instance};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use tonic::{Request, Response, Status};

pub struct AppApi {
    router: Router,
}

impl AppApi {
    pub fn new(router: Router) -> AppApi {
        AppApi { router }
    }

    fn api(&self) -> &Api {
        &self.router.api
    }
}

fn to_proto(record: &AppRecord, state: &State) -> App {
    let counts = apps::task_counts(record, state);
    App {
        id: record.spec.id.to_string(),
        definition_json: apps::app_info_json(record, state),
        revision: record.revision,
        version: record.version.to_string(),
        deployment_id: String::new(),
        tasks_running: counts.running,
        tasks_healthy: counts.healthy,
        tasks_unhealthy: counts.unhealthy,
    }
}

fn written_proto(written: &apps::Written, state: &State) -> App {
    App {
        deployment_id: written.deployment.0.to_string(),
        ..to_proto(&written.app, state)
    }
}

fn task_proto(instance: &Instance) -> Task {
    let time =
        |t: Option<crate::state::time::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    Task {
        id: instance.task_id().0.to_string(),
        app_id: instance.app.to_string(),
        task_json: apps::task_json(instance).to_string(),
        health_check_results: instance
            .health
            .iter()
            .map(|(index, h)| crate::proto::v1::HealthCheckResult {
                check_index: *index,
                alive: h.alive,
                consecutive_failures: h.consecutive_failures,
                first_success: time(h.first_success),
                last_success: time(h.last_success),
                last_failure: time(h.last_failure),
                last_failure_cause: h.last_failure_cause.clone().unwrap_or_default(),
            })
            .collect(),
        state: apps::task_state(instance.condition()).to_string(),
    }
}

fn request_id(raw: &str) -> Option<RequestId> {
    (!raw.is_empty()).then(|| RequestId(raw.to_string().into()))
}

fn revision(raw: u64) -> Option<u64> {
    (raw != 0).then_some(raw)
}

fn consistency(raw: i32) -> Consistency {
    match crate::proto::v1::Consistency::try_from(raw) {
        Ok(crate::proto::v1::Consistency::Stale) => Consistency::Stale,
        _ => Consistency::Linearizable,
    }
}

fn app_id(raw: &str) -> Result<PathId, ApiError> {
    apps::path_id(raw)
}

/// Serves a call here or forwards it: `$local` is the local handler, `$method` the client call.
macro_rules! route {
    ($self:ident, $request:ident, $method:ident, $local:expr) => {
        match $self.router.route(&$request).await? {
            Route::Leader(channel) => AppServiceClient::new(channel)
                .$method(forwarded($self.api().id(), $request))
                .await
                .map_err(leader_unreachable),
            Route::Local => {
                let message = $request.into_inner();
                let result: Result<_, ApiError> = $local(message).await;
                result.map(Response::new).map_err(Status::from)
            }
        }
    };
}

#[tonic::async_trait]
impl AppService for AppApi {
    async fn create_app(
        &self,
        request: Request<CreateAppRequest>,
    ) -> Result<Response<App>, Status> {
        route!(
            self,
            request,
            create_app,
            |m: CreateAppRequest| async move {
                let written = apps::create(
                    self.api(),
                    m.definition_json.as_bytes(),
                    request_id(&m.request_id),
                    m.force,
                )
                .await?;
                Ok(written_proto(&written, &self.api().local_view().state))
            }
        )
    }

    async fn get_app(&self, request: Request<GetAppRequest>) -> Result<Response<App>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        let get = |m: GetAppRequest| async move {
            let id = app_id(&m.id)?;
            let view = self.api().read(consistency(m.consistency)).await?;
            let record = view.state.app(&id).ok_or(ApiError::Rejected(
                crate::state::Rejection::AppNotFound(id.clone()),
            ))?;
            Ok::<_, ApiError>(to_proto(record, &view.state))
        };
        if stale {
            return get(request.into_inner())
                .await
                .map(Response::new)
                .map_err(Status::from);
        }
        route!(self, request, get_app, get)
    }

    async fn list_apps(
        &self,
        request: Request<ListAppsRequest>,
    ) -> Result<Response<ListAppsReply>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        let list = |m: ListAppsRequest| async move {
            let view = self.api().read(consistency(m.consistency)).await?;
            let apps = if m.prefix.is_empty() {
                view.state
                    .apps()
                    .map(|a| to_proto(a, &view.state))
                    .collect()
            } else {
                let group = app_id(&m.prefix)?;
                view.state
                    .apps_under(&group)
                    .map(|a| to_proto(a, &view.state))
                    .collect()
            };
            Ok::<_, ApiError>(ListAppsReply { apps })
        };
        if stale {
            return list(request.into_inner())
                .await
                .map(Response::new)
                .map_err(Status::from);
        }
        route!(self, request, list_apps, list)
    }

    async fn update_app(
        &self,
        request: Request<UpdateAppRequest>,
    ) -> Result<Response<App>, Status> {
        route!(
            self,
            request,
            update_app,
            |m: UpdateAppRequest| async move {
                let id = app_id(&m.id)?;
                let options = UpdateOptions {
                    partial: false,
                    create_if_missing: m.create_if_missing,
                    expected_revision: revision(m.expected_revision),
                    request_id: request_id(&m.request_id),
                    force: m.force,
                };
                let written =
                    apps::update(self.api(), &id, m.definition_json.as_bytes(), options).await?;
                Ok(written_proto(&written, &self.api().local_view().state))
            }
        )
    }

    async fn delete_app(
        &self,
        request: Request<DeleteAppRequest>,
    ) -> Result<Response<DeleteAppReply>, Status> {
        route!(
            self,
            request,
            delete_app,
            |m: DeleteAppRequest| async move {
                let id = app_id(&m.id)?;
                let deleted = apps::delete(
                    self.api(),
                    &id,
                    revision(m.expected_revision),
                    request_id(&m.request_id),
                    m.force,
                )
                .await?;
                Ok(DeleteAppReply {
                    id: id.to_string(),
                    revision: deleted.revision,
                    deployment_id: deleted.deployment.0.to_string(),
                })
            }
        )
    }

    async fn restart_app(
        &self,
        request: Request<RestartAppRequest>,
    ) -> Result<Response<App>, Status> {
        route!(
            self,
            request,
            restart_app,
            |m: RestartAppRequest| async move {
                let id = app_id(&m.id)?;
                let written =
                    apps::restart(self.api(), &id, request_id(&m.request_id), m.force).await?;
                Ok(written_proto(&written, &self.api().local_view().state))
            }
        )
    }

    async fn scale_app(&self, request: Request<ScaleAppRequest>) -> Result<Response<App>, Status> {
        route!(self, request, scale_app, |m: ScaleAppRequest| async move {
            let id = app_id(&m.id)?;
            let options = UpdateOptions {
                partial: true,
                create_if_missing: false,
                expected_revision: None,
                request_id: request_id(&m.request_id),
                force: m.force,
            };
            let body = serde_json::json!({ "instances": m.instances }).to_string();
            let written = apps::update(self.api(), &id, body.as_bytes(), options).await?;
            Ok(written_proto(&written, &self.api().local_view().state))
        })
    }

    async fn list_tasks(
        &self,
        request: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksReply>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        let list = |m: ListTasksRequest| async move {
            let view = self.api().read(consistency(m.consistency)).await?;
            let state = &view.state;
            let apps: Vec<&AppRecord> = if m.app_id.is_empty() {
                state.apps().collect()
            } else {
                let id = app_id(&m.app_id)?;
                let record = state.app(&id).ok_or(ApiError::Rejected(
                    crate::state::Rejection::AppNotFound(id.clone()),
                ))?;
                vec![record]
            };
            let tasks = apps
                .into_iter()
                .flat_map(|a| state.instances_of(&a.spec.id))
                .filter(|i| apps::task_has_status(i, &m.statuses))
                .map(task_proto)
                .collect();
            Ok::<_, ApiError>(ListTasksReply { tasks })
        };
        if stale {
            return list(request.into_inner())
                .await
                .map(Response::new)
                .map_err(Status::from);
        }
        route!(self, request, list_tasks, list)
    }

    async fn kill_tasks(
        &self,
        request: Request<KillTasksRequest>,
    ) -> Result<Response<KillTasksReply>, Status> {
        route!(
            self,
            request,
            kill_tasks,
            |m: KillTasksRequest| async move {
                let view = self.api().read(Consistency::Linearizable).await?;
                let app = if m.app_id.is_empty() {
                    None
                } else {
                    Some(app_id(&m.app_id)?)
                };
                let ids = match (&app, m.task_ids.is_empty()) {
                    (_, false) => apps::instances_of_tasks(&view.state, &m.task_ids, app.as_ref())?,
                    (Some(app), true) => {
                        let host = if m.host.is_empty() {
                            "*"
                        } else {
                            m.host.as_str()
                        };
                        apps::instances_on_host(&view.state, app, host)?
                    }
                    (None, true) => {
                        return Err(ApiError::BadRequest(
                            "name an app_id or some task_ids".into(),
                        ));
                    }
                };
                let options = apps::KillOptions {
                    scale: m.scale,
                    wipe: m.wipe,
                    force: m.force,
                };
                let killed =
                    apps::kill(self.api(), ids, options, request_id(&m.request_id)).await?;
                Ok(match killed {
                    apps::Killed::Tasks(tasks) => KillTasksReply {
                        killed: tasks.iter().map(task_proto).collect(),
                        deployment_id: String::new(),
                        version: String::new(),
                    },
                    apps::Killed::Scaled {
                        deployment,
                        version,
                    } => KillTasksReply {
                        killed: Vec::new(),
                        deployment_id: deployment.0.to_string(),
                        version: version.to_string(),
                    },
                })
            }
        )
    }

    async fn list_deployments(
        &self,
        request: Request<ListDeploymentsRequest>,
    ) -> Result<Response<ListDeploymentsReply>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        let list = |m: ListDeploymentsRequest| async move {
            let view = self.api().read(consistency(m.consistency)).await?;
            let deployments = view
                .state
                .deployments()
                .map(|d| Deployment {
                    id: d.id.0.to_string(),
                    deployment_json: deployment_json(d, &view.state).to_string(),
                })
                .collect();
            Ok::<_, ApiError>(ListDeploymentsReply { deployments })
        };
        if stale {
            return list(request.into_inner())
                .await
                .map(Response::new)
                .map_err(Status::from);
        }
        route!(self, request, list_deployments, list)
    }

    async fn cancel_deployment(
        &self,
        request: Request<CancelDeploymentRequest>,
    ) -> Result<Response<CancelDeploymentReply>, Status> {
        route!(
            self,
            request,
            cancel_deployment,
            |m: CancelDeploymentRequest| async move {
                let id = DeploymentId(m.id.into());
                Ok(match deployments::cancel(self.api(), id, m.force).await? {
                    Cancelled::Stopped => CancelDeploymentReply::default(),
                    Cancelled::RolledBack {
                        deployment,
                        version,
                    } => CancelDeploymentReply {
                        rollback_deployment_id: deployment.0.to_string(),
                        version: version.to_string(),
                    },
                })
            }
        )
    }

    async fn get_queue(
        &self,
        request: Request<GetQueueRequest>,
    ) -> Result<Response<GetQueueReply>, Status> {
        route!(self, request, get_queue, |_: GetQueueRequest| async move {
            let api = self.api();
            let items = queue_items(&api.queue(), &api.local_view().state, Timestamp::now());
            Ok::<_, ApiError>(GetQueueReply {
                item_json: items.iter().map(|i| i.to_string()).collect(),
            })
        })
    }
}
