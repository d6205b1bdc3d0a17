//! The receiving side of the peer network: hands each RPC to the local Raft, after checking it
//! was meant for this node (a misaddressed append would trip openraft's assertions).

use super::types::{NodeId, Raft};
use crate::proto::peer::raft_peer_server::{RaftPeer, RaftPeerServer};
use crate::proto::peer::{RaftReply, RaftRequest, raft_reply};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

/// Peer messages can carry snapshot chunks of several MiB.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

pub struct PeerService {
    id: NodeId,
    raft: Raft,
}

impl PeerService {
    pub fn server(id: NodeId, raft: Raft) -> RaftPeerServer<PeerService> {
        RaftPeerServer::new(PeerService { id, raft })
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    fn decode<T: DeserializeOwned>(&self, request: Request<RaftRequest>) -> Result<T, Status> {
        let request = request.into_inner();
        if request.target != self.id {
            return Err(Status::failed_precondition(format!(
                "this is node {}, not node {}: check the cluster's peer addresses",
                self.id, request.target
            )));
        }
        rmp_serde::from_slice(&request.payload)
            .map_err(|e| Status::invalid_argument(format!("undecodable raft message: {e}")))
    }
}

fn reply<T: Serialize, E: Serialize>(result: Result<T, E>) -> Result<Response<RaftReply>, Status> {
    let encoded = match &result {
        Ok(v) => rmp_serde::to_vec_named(v).map(raft_reply::Result::Ok),
        Err(e) => rmp_serde::to_vec_named(e).map(raft_reply::Result::Err),
    }
    .map_err(|e| Status::internal(format!("cannot encode raft reply: {e}")))?;
    Ok(Response::new(RaftReply {
        result: Some(encoded),
    }))
}

#[tonic::async_trait]
impl RaftPeer for PeerService {
    async fn append_entries(
        &self,
        request: Request<RaftRequest>,
    ) -> Result<Response<RaftReply>, Status> {
        let rpc = self.decode(request)?;
        reply(self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let rpc = self.decode(request)?;
        reply(self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftRequest>,
    ) -> Result<Response<RaftReply>, Status> {
        let rpc = self.decode(request)?;
        reply(self.raft.install_snapshot(rpc).await)
    }
}
