//! Leader-run health checks (Marathon's `HTTP`, `HTTPS`, `TCP`): one engine that probes every
//! target on its schedule, and the pure policy that turns probe results into health and kills.
//!
//! - [`engine`]: one timer wheel for all targets, a bounded budget of probes in flight, pooled
//!   keep-alive connections; it only probes and reports [`Probe`]s, it never decides.
//! - [`policy`]: grace periods, consecutive failures, `ignoreHttp1xx`, and the cluster-wide kill
//!   rate limit, as plain functions of the results and the time passed in.
//!
//! Checks run by the Mesos agent (`MESOS_*`, `COMMAND`) never reach this module.

pub mod engine;
pub mod policy;
mod probe;
mod stats;
pub(crate) mod tls;
mod wheel;

use crate::state::app::HealthCheck;
use crate::state::ids::InstanceId;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use engine::{Engine, EngineConfig, EngineHandle};
pub(crate) use stats::SharedStats;
pub use stats::{EngineStats, LatenessHistogram};

/// The `User-Agent` baton's probes send, so a task can tell which node probed it:
/// `baton/<version> (node <id>)`, or `baton/<version>` outside a node (the benchmark).
pub fn user_agent(node: Option<u64>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match node {
        Some(id) => format!("baton/{version} (node {id})"),
        None => format!("baton/{version}"),
    }
}

/// One health check of one instance: what to probe and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub key: TargetKey,
    pub check: Arc<HealthCheck>,
    /// The agent's hostname (or address) the instance runs on.
    pub host: String,
    /// The host port the check resolved (`port`, else the port at `portIndex`).
    pub port: u16,
}

/// Names a target: the instance and the index of the check in its app's `healthChecks`.
///
/// Not `Copy`: an instance id is a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Ord, PartialOrd)]
pub struct TargetKey {
    pub instance: InstanceId,
    pub check_index: u32,
}

/// What one probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// HTTP status 200–399, or the TCP connection was accepted, within the timeout.
    Healthy,
    /// Anything else; the cause in words (Marathon's `lastFailureCause`).
    Unhealthy(String),
    /// A 1xx answer from a check with `ignoreHttp1xx`: neither a pass nor a failure.
    Ignored1xx,
}

/// The result of one probe, as the engine reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub key: TargetKey,
    pub outcome: Outcome,
    /// When the probe finished (wall clock).
    pub at: SystemTime,
    /// How far behind its schedule the probe started.
    pub late_by: Duration,
}
