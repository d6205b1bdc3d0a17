//! `GroupService`: groups over gRPC, as the same Marathon JSON documents REST serves; calls a
//! follower cannot serve go to the leader.

use super::{Route, Router, forwarded, leader_unreachable};
use crate::api::groups::{
    self, Embed, GroupWrite, WriteOptions, at_version, group_json, group_path, parse_version,
    steps_json,
};
use crate::api::{Api, ApiError, Consistency};
use crate::proto::v1::group_service_client::GroupServiceClient;
use crate::proto::v1::group_service_server::GroupService;
use crate::proto::v1::{
    DeleteGroupRequest, GetGroupRequest, GetGroupVersionRequest, Group, GroupVersionsReply,
    GroupVersionsRequest, GroupWriteReply, ListGroupsReply, ListGroupsRequest, PutGroupRequest,
    RollbackGroupRequest, ScaleGroupRequest,
};
use crate::state::ids::RequestId;
use crate::state::path::PathId;
use crate::state::{PutMode, Rejection, State};
use tonic::{Request, Response, Status};

pub struct GroupApi {
    router: Router,
}

impl GroupApi {
    pub fn new(router: Router) -> GroupApi {
        GroupApi { router }
    }

    fn api(&self) -> &Api {
        &self.router.api
    }
}

fn consistency(raw: i32) -> Consistency {
    match crate::proto::v1::Consistency::try_from(raw) {
        Ok(crate::proto::v1::Consistency::Stale) => Consistency::Stale,
        _ => Consistency::Linearizable,
    }
}

fn options(force: bool, dry_run: bool, request_id: &str) -> WriteOptions {
    WriteOptions {
        force,
        dry_run,
        request_id: (!request_id.is_empty()).then(|| RequestId(request_id.to_string().into())),
    }
}

fn reply(write: GroupWrite) -> GroupWriteReply {
    match write {
        GroupWrite::Deployed {
            id,
            deployment,
            version,
        } => GroupWriteReply {
            id: id.to_string(),
            deployment_id: deployment.0.to_string(),
            version: version.to_string(),
            steps_json: String::new(),
        },
        GroupWrite::Planned(steps) => GroupWriteReply {
            steps_json: steps_json(&steps).to_string(),
            ..GroupWriteReply::default()
        },
    }
}

fn group(state: &State, id: &PathId, embed: Embed) -> Result<Group, ApiError> {
    let doc = group_json(state, id, embed)
        .ok_or_else(|| ApiError::from(Rejection::GroupNotFound(id.clone())))?;
    Ok(Group {
        id: id.to_string(),
        version: doc["version"].as_str().unwrap_or_default().to_string(),
        group_json: doc.to_string(),
    })
}

/// Serves a call here or forwards it: `$local` is the local handler, `$method` the client call.
/// A stale read (`$stale`) is always served here.
macro_rules! route {
    ($self:ident, $request:ident, $method:ident, $stale:expr, $local:expr) => {{
        let route = if $stale {
            Route::Local
        } else {
            $self.router.route(&$request).await?
        };
        match route {
            Route::Leader(channel) => GroupServiceClient::new(channel)
                .$method(forwarded($self.api().id(), $request))
                .await
                .map_err(leader_unreachable),
            Route::Local => {
                let message = $request.into_inner();
                let result: Result<_, ApiError> = $local(message).await;
                result.map(Response::new).map_err(Status::from)
            }
        }
    }};
}

#[tonic::async_trait]
impl GroupService for GroupApi {
    async fn get_group(
        &self,
        request: Request<GetGroupRequest>,
    ) -> Result<Response<Group>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        route!(
            self,
            request,
            get_group,
            stale,
            |m: GetGroupRequest| async move {
                let id = group_path(&m.id)?;
                let view = self.api().read(consistency(m.consistency)).await?;
                group(&view.state, &id, Embed::default())
            }
        )
    }

    async fn list_groups(
        &self,
        request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsReply>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        route!(
            self,
            request,
            list_groups,
            stale,
            |m: ListGroupsRequest| async move {
                let view = self.api().read(consistency(m.consistency)).await?;
                let embed = Embed {
                    groups: false,
                    ..Embed::default()
                };
                let root = PathId::root();
                let ids = std::iter::once(root.clone()).chain(
                    view.state
                        .groups_below(&root)
                        .map(|g| g.id.clone())
                        .collect::<Vec<_>>(),
                );
                let groups = ids
                    .map(|id| group(&view.state, &id, embed))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, ApiError>(ListGroupsReply { groups })
            }
        )
    }

    async fn put_group(
        &self,
        request: Request<PutGroupRequest>,
    ) -> Result<Response<GroupWriteReply>, Status> {
        route!(
            self,
            request,
            put_group,
            false,
            |m: PutGroupRequest| async move {
                let base = group_path(&m.id)?;
                let mode = if m.create {
                    PutMode::Create
                } else {
                    PutMode::Upsert
                };
                let options = options(m.force, m.dry_run, &m.request_id);
                let write =
                    groups::put(self.api(), &base, m.group_json.as_bytes(), mode, &options).await?;
                Ok::<_, ApiError>(reply(write))
            }
        )
    }

    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<GroupWriteReply>, Status> {
        route!(
            self,
            request,
            delete_group,
            false,
            |m: DeleteGroupRequest| async move {
                let id = group_path(&m.id)?;
                let options = options(m.force, false, &m.request_id);
                Ok::<_, ApiError>(reply(groups::delete(self.api(), &id, &options).await?))
            }
        )
    }

    async fn scale_group(
        &self,
        request: Request<ScaleGroupRequest>,
    ) -> Result<Response<GroupWriteReply>, Status> {
        route!(
            self,
            request,
            scale_group,
            false,
            |m: ScaleGroupRequest| async move {
                let id = group_path(&m.id)?;
                let options = options(m.force, false, &m.request_id);
                let write = groups::scale(self.api(), &id, m.scale_by, &options).await?;
                Ok::<_, ApiError>(reply(write))
            }
        )
    }

    async fn rollback_group(
        &self,
        request: Request<RollbackGroupRequest>,
    ) -> Result<Response<GroupWriteReply>, Status> {
        route!(
            self,
            request,
            rollback_group,
            false,
            |m: RollbackGroupRequest| async move {
                let id = group_path(&m.id)?;
                let version = parse_version(&m.version)?;
                let options = options(m.force, false, &m.request_id);
                let write = groups::rollback(self.api(), &id, version, &options).await?;
                Ok::<_, ApiError>(reply(write))
            }
        )
    }

    async fn group_versions(
        &self,
        request: Request<GroupVersionsRequest>,
    ) -> Result<Response<GroupVersionsReply>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        route!(
            self,
            request,
            group_versions,
            stale,
            |m: GroupVersionsRequest| async move {
                let id = group_path(&m.id)?;
                let view = self.api().read(consistency(m.consistency)).await?;
                let versions = groups::versions(&view.state, &id)?
                    .iter()
                    .map(|v| v.to_string())
                    .collect();
                Ok::<_, ApiError>(GroupVersionsReply { versions })
            }
        )
    }

    async fn get_group_version(
        &self,
        request: Request<GetGroupVersionRequest>,
    ) -> Result<Response<Group>, Status> {
        let stale = consistency(request.get_ref().consistency) == Consistency::Stale;
        route!(
            self,
            request,
            get_group_version,
            stale,
            |m: GetGroupVersionRequest| async move {
                let id = group_path(&m.id)?;
                let version = parse_version(&m.version)?;
                let view = self.api().read(consistency(m.consistency)).await?;
                let doc = at_version(&view.state, &id, version)?;
                Ok::<_, ApiError>(Group {
                    id: id.to_string(),
                    version: version.to_string(),
                    group_json: doc.to_string(),
                })
            }
        )
    }
}
