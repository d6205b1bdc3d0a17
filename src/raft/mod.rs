//! The only code that knows openraft: the type configuration, the peer network (client and
//! server), the Raft configuration from `[raft]`, and the leadership watch the rest of the node
//! subscribes to.

pub mod leadership;
pub mod network;
pub mod server;
pub mod types;

pub use leadership::{Leadership, LeadershipHandle, LeadershipWatch, MemberInfo, Role, StandAside};
pub use types::{Member, NodeId, Raft, TypeConfig};

use crate::config::RaftTimings;

/// openraft's configuration from the node's `[raft]` settings.
#[allow(clippy::result_large_err)] // openraft's own error type
pub fn raft_config(t: &RaftTimings) -> Result<openraft::Config, openraft::ConfigError> {
    openraft::Config {
        cluster_name: "baton".to_string(),
        heartbeat_interval: t.heartbeat_interval_ms,
        election_timeout_min: t.election_timeout_min_ms,
        election_timeout_max: t.election_timeout_max_ms,
        install_snapshot_timeout: t.install_snapshot_timeout_ms,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(t.snapshot_logs_since_last),
        max_in_snapshot_log_to_keep: t.max_in_snapshot_log_to_keep,
        // A follower further behind than a snapshot interval is sent a snapshot instead.
        replication_lag_threshold: t.snapshot_logs_since_last * 2,
        purge_batch_size: 256,
        ..Default::default()
    }
    .validate()
}
