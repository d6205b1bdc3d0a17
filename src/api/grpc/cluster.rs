//! `ClusterService`: this node's view of the cluster, membership changes and abdication.

use super::{Route, Router, forwarded, leader_unreachable};
use crate::api::ApiError;
use crate::proto::v1::cluster_service_client::ClusterServiceClient;
use crate::proto::v1::cluster_service_server::ClusterService;
use crate::proto::v1::{
    AbdicateReply, AbdicateRequest, AddNodeRequest, Member as ProtoMember, MembershipReply,
    RemoveNodeRequest, Role as ProtoRole, StatusReply, StatusRequest, TeardownFrameworkReply,
    TeardownFrameworkRequest,
};
use crate::raft::{Leadership, Member, MemberInfo, Role};
use crate::state::Command;
use crate::state::ids::FrameworkId;
use crate::state::model::ClusterSettings;
use openraft::ChangeMembers;
use std::collections::BTreeSet;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// A learner must catch up before it is promoted; a large state may take a while to send.
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct ClusterApi {
    router: Router,
}

impl ClusterApi {
    pub fn new(router: Router) -> ClusterApi {
        ClusterApi { router }
    }
}

fn role(r: Role) -> ProtoRole {
    match r {
        Role::Leader => ProtoRole::Leader,
        Role::Deposed => ProtoRole::Deposed,
        Role::Follower => ProtoRole::Follower,
        Role::Candidate => ProtoRole::Candidate,
        Role::Learner => ProtoRole::Learner,
        Role::Shutdown => ProtoRole::Unspecified,
    }
}

fn members(list: &[MemberInfo]) -> Vec<ProtoMember> {
    list.iter()
        .map(|m| ProtoMember {
            id: m.id,
            peer_addr: m.addrs.peer.clone(),
            grpc_addr: m.addrs.grpc.clone(),
            http_addr: m.addrs.http.clone(),
            voter: m.voter,
        })
        .collect()
}

fn status_reply(l: &Leadership, commit_index: u64, settings: &ClusterSettings) -> StatusReply {
    StatusReply {
        framework_id: settings
            .framework_id
            .as_ref()
            .map_or(String::new(), |id| id.0.to_string()),
        framework_teardown_requested: settings.teardown_requested,
        node_id: l.id,
        role: role(l.role) as i32,
        term: l.term,
        leader_id: l.leader.as_ref().map_or(0, |(id, _)| *id),
        members: members(&l.members),
        last_applied_index: l.last_applied,
        last_log_index: l.last_log,
        commit_index,
        leader_http_addr: l
            .leader
            .as_ref()
            .map_or(String::new(), |(_, m)| m.http.clone()),
        leader_grpc_addr: l
            .leader
            .as_ref()
            .map_or(String::new(), |(_, m)| m.grpc.clone()),
    }
}

fn membership_error(e: impl std::fmt::Display) -> Status {
    Status::failed_precondition(format!("membership change refused: {e}"))
}

macro_rules! leader_only {
    ($self:ident, $request:ident, $method:ident) => {
        if let Route::Leader(channel) = $self.router.route(&$request).await? {
            return ClusterServiceClient::new(channel)
                .$method(forwarded($self.router.api.id(), $request))
                .await
                .map_err(leader_unreachable);
        }
    };
}

#[tonic::async_trait]
impl ClusterService for ClusterApi {
    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
        let api = &self.router.api;
        let l = api.leadership();
        let commit = api
            .raft()
            .metrics()
            .borrow()
            .last_applied
            .map_or(0, |x| x.index);
        let view = api.local_view();
        Ok(Response::new(status_reply(
            &l,
            commit,
            view.state.settings(),
        )))
    }

    async fn add_node(
        &self,
        request: Request<AddNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        leader_only!(self, request, add_node);
        let m = request.into_inner();
        if m.id == 0 || m.peer_addr.is_empty() || m.grpc_addr.is_empty() || m.http_addr.is_empty() {
            return Err(Status::invalid_argument(
                "add node needs a non-zero id and its peer, grpc and http addresses",
            ));
        }
        let raft = self.router.api.raft();
        let member = Member {
            peer: m.peer_addr,
            grpc: m.grpc_addr,
            http: m.http_addr,
        };
        tracing::info!(node = m.id, %member, promote = m.promote, "adding node");
        tokio::time::timeout(MEMBERSHIP_TIMEOUT, raft.add_learner(m.id, member, true))
            .await
            .map_err(|_| Status::deadline_exceeded("the new node did not catch up in time"))?
            .map_err(membership_error)?;
        if m.promote {
            let change = ChangeMembers::AddVoterIds(BTreeSet::from([m.id]));
            tokio::time::timeout(MEMBERSHIP_TIMEOUT, raft.change_membership(change, false))
                .await
                .map_err(|_| Status::deadline_exceeded("promotion did not commit in time"))?
                .map_err(membership_error)?;
        }
        Ok(Response::new(self.membership()))
    }

    async fn remove_node(
        &self,
        request: Request<RemoveNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        leader_only!(self, request, remove_node);
        let id = request.into_inner().id;
        let raft = self.router.api.raft();
        let l = self.router.api.leadership();
        let Some(target) = l.members.iter().find(|m| m.id == id) else {
            return Err(ApiError::NotFound(format!("node {id} is not a member")).into());
        };
        tracing::info!(node = id, "removing node");
        let change = if target.voter {
            ChangeMembers::RemoveVoters(BTreeSet::from([id]))
        } else {
            ChangeMembers::RemoveNodes(BTreeSet::from([id]))
        };
        tokio::time::timeout(MEMBERSHIP_TIMEOUT, raft.change_membership(change, false))
            .await
            .map_err(|_| Status::deadline_exceeded("removal did not commit in time"))?
            .map_err(membership_error)?;
        Ok(Response::new(self.membership()))
    }

    async fn abdicate(
        &self,
        request: Request<AbdicateRequest>,
    ) -> Result<Response<AbdicateReply>, Status> {
        leader_only!(self, request, abdicate);
        crate::api::abdicate(&self.router.api).await?;
        Ok(Response::new(AbdicateReply {
            message: "Leadership abdicated".to_string(),
        }))
    }

    async fn teardown_framework(
        &self,
        request: Request<TeardownFrameworkRequest>,
    ) -> Result<Response<TeardownFrameworkReply>, Status> {
        leader_only!(self, request, teardown_framework);
        let id = FrameworkId(request.into_inner().framework_id.into());
        self.router
            .api
            .propose(
                None,
                Command::RequestTeardown {
                    framework_id: id.clone(),
                },
            )
            .await?;
        Ok(Response::new(TeardownFrameworkReply {
            message: format!(
                "teardown of framework {id} requested; the leader tears it down and baton \
                 registers anew"
            ),
        }))
    }
}

impl ClusterApi {
    /// The membership right after a committed change, read from Raft itself (the leadership
    /// watch may not have caught up yet).
    fn membership(&self) -> MembershipReply {
        let metrics = self.router.api.raft().metrics().borrow().clone();
        MembershipReply {
            members: members(&crate::raft::leadership::members_of(&metrics)),
        }
    }
}
