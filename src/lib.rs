//! baton: a highly available scheduler for Apache Mesos, Marathon's and Metronome's job done by
//! three or five copies of one binary that replicate their state through Raft.
//!
//! Code map (the layout is the data flow: a request enters at `api/`, becomes a `state::Command`,
//! travels through `raft/` into every node's `store/`, where `state/` applies it):
//!
//! - [`config`]: the node's TOML configuration, validated whole at start.
//! - [`state`]: the replicated model and the pure, deterministic `apply` of commands. No I/O.
//! - [`store`]: the only code that knows redb: the Raft log, and the state machine's tables.
//! - [`raft`]: the only code that knows openraft: type config, peer network, leadership watch.
//! - [`mesos`]: the Mesos v1 scheduler API's wire types and RecordIO framing.
//! - [`mesos_local`]: `baton mesos-local`, an embedded Mesos master with local agents that runs
//!   command tasks as processes.
//! - [`scheduler`]: the leader's Mesos scheduler: subscription, offers, launches, kills, status
//!   updates committed before they are acknowledged, reconciliation.
//! - [`health`]: the leader's HTTP/HTTPS/TCP health checks: one probing engine, pure verdicts.
//! - [`api`]: the only code that knows HTTP, JSON DTOs and the public gRPC types; forwarding.
//! - [`cli`]: the command-line client, speaking gRPC to any node.
//! - [`node`]: wiring only: builds a node from its config, runs it, drains it on SIGTERM.
//! - [`bench`]: `baton bench …`, the benchmarks that print figures.
//! - [`failpoint`]: crash points for tests (`BATON_FAILPOINT`).
//! - [`metrics`]: the node's counters and HTTP latency histogram (atomics), for `/metrics`.

pub mod api;
pub mod bench;
pub mod cli;
pub mod config;
pub mod failpoint;
pub mod health;
pub mod mesos;
pub mod mesos_local;
pub mod metrics;
pub mod node;
pub mod raft;
pub mod scheduler;
pub mod state;
pub mod store;

/// Generated protobuf and gRPC code.
pub mod proto {
    /// The public client API.
    pub mod v1 {
        tonic::include_proto!("baton.v1");
    }
    /// Peer RPC between nodes; never exposed to clients.
    pub mod peer {
        tonic::include_proto!("baton.peer");
    }
    /// The encoded descriptors, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("baton_descriptor");
}
