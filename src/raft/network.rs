//! The peer network: openraft's RPCs carried over tonic to each member's peer listener, as
//! MessagePack bytes. Outgoing connections bind to this node's own peer host, so that a chaos
//! harness can cut the link between two node addresses.

use super::types::{Member, NodeId, TypeConfig};
use crate::proto::peer::raft_peer_client::RaftPeerClient;
use crate::proto::peer::{RaftReply, RaftRequest, raft_reply};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::net::IpAddr;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// How long a connection attempt to a peer may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Peer messages can carry snapshot chunks of several MiB.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// HTTP/2 flow-control windows of peer connections, both ways. With h2's 64 KiB default an
/// entry of several MiB (a group of 10,000 apps) crossed in a hundred window round trips, and
/// on a busy machine outlasted the append timeout (the heartbeat interval) again and again.
pub const PEER_STREAM_WINDOW: u32 = 8 * 1024 * 1024;
pub const PEER_CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// Makes one client per target; openraft keeps it for as long as it replicates to that target.
#[derive(Clone)]
pub struct PeerNetwork {
    /// The source address of outgoing peer connections (`None`: let the kernel choose).
    pub bind: Option<IpAddr>,
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Member) -> PeerClient {
        PeerClient {
            target,
            channel: connect_lazy(&node.peer, self.bind),
        }
    }
}

/// A lazily connected tonic channel to `addr` (`host:port`), optionally bound to a source ip.
pub fn connect_lazy(addr: &str, bind: Option<IpAddr>) -> Result<Channel, String> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("bad peer address {addr}: {e}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .initial_stream_window_size(PEER_STREAM_WINDOW)
        .initial_connection_window_size(PEER_CONNECTION_WINDOW)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10));
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.set_local_address(bind);
    Ok(endpoint.connect_with_connector_lazy(connector))
}

pub struct PeerClient {
    target: NodeId,
    channel: Result<Channel, String>,
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, Member, E>>;

impl PeerClient {
    async fn call<Req, Resp, E>(
        &mut self,
        kind: Rpc,
        rpc: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let channel = match &self.channel {
            Ok(c) => c.clone(),
            Err(e) => {
                return Err(RPCError::Unreachable(Unreachable::new(
                    &std::io::Error::other(e.clone()),
                )));
            }
        };
        let payload =
            rmp_serde::to_vec_named(rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let request = RaftRequest {
            target: self.target,
            payload,
        };
        let mut client = RaftPeerClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let ttl = option.hard_ttl();
        let call = async {
            match kind {
                Rpc::Append => client.append_entries(request).await,
                Rpc::Vote => client.vote(request).await,
                Rpc::Snapshot => client.install_snapshot(request).await,
            }
        };
        let reply: RaftReply = match tokio::time::timeout(ttl, call).await {
            Err(_) => {
                return Err(RPCError::Timeout(Timeout {
                    action: kind.action(),
                    id: 0,
                    target: self.target,
                    timeout: ttl,
                }));
            }
            Ok(Err(status)) => return Err(status_error(status)),
            Ok(Ok(reply)) => reply.into_inner(),
        };
        match reply.result {
            Some(raft_reply::Result::Ok(bytes)) => {
                rmp_serde::from_slice(&bytes).map_err(|e| RPCError::Network(NetworkError::new(&e)))
            }
            Some(raft_reply::Result::Err(bytes)) => {
                let err: E = rmp_serde::from_slice(&bytes)
                    .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
                Err(RPCError::RemoteError(RemoteError::new(self.target, err)))
            }
            None => Err(RPCError::Network(NetworkError::new(
                &std::io::Error::other("empty peer reply"),
            ))),
        }
    }
}

/// Connection failures are `Unreachable`, so openraft backs off instead of hammering a dead peer.
fn status_error<E: std::error::Error>(status: tonic::Status) -> RPCError<NodeId, Member, E> {
    let err = std::io::Error::other(format!("{}: {}", status.code(), status.message()));
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
            RPCError::Unreachable(Unreachable::new(&err))
        }
        _ => RPCError::Network(NetworkError::new(&err)),
    }
}

#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

impl Rpc {
    fn action(self) -> openraft::RPCTypes {
        match self {
            Rpc::Append => openraft::RPCTypes::AppendEntries,
            Rpc::Vote => openraft::RPCTypes::Vote,
            Rpc::Snapshot => openraft::RPCTypes::InstallSnapshot,
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, RaftError<NodeId>> {
        self.call(Rpc::Append, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        self.call(Rpc::Snapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, RaftError<NodeId>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }
}
