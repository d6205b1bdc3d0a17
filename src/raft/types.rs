//! openraft's type configuration for baton: what a log entry carries and what a member is.

use crate::state::{Batch, Response};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Cursor;

/// A cluster member's addresses. Membership doubles as the address book: forwarding finds the
/// leader's client addresses here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Peer RPC (Raft traffic) `host:port`.
    pub peer: String,
    /// Client gRPC `host:port`.
    pub grpc: String,
    /// REST `host:port`.
    pub http: String,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "peer={} grpc={} http={}",
            self.peer, self.grpc, self.http
        )
    }
}

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// baton's Raft: an entry carries a batch of state-machine requests, and applying it yields
    /// one response per request.
    pub TypeConfig:
        D = Batch,
        R = Vec<Response>,
        NodeId = NodeId,
        Node = Member,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, Member>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Member>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type Vote = openraft::Vote<NodeId>;
pub type RaftMetrics = openraft::RaftMetrics<NodeId, Member>;
