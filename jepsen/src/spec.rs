//! What one run does: the cluster size, workloads, faults, durations and the seed. The CLI
//! builds it; the run folder keeps it as `spec.json`, which is how the part of the harness that
//! runs inside the network namespace learns it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// Read / write / compare-and-set registers held in app labels.
    Register,
    /// Unique app ids created concurrently, read back whole.
    Set,
    /// Apps scaled up and down while mesos-local's tasks and launches are sampled.
    Scheduling,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// nftables drop rules: one node, random halves, majorities ring, the leader, Mesos from the
    /// leader.
    Partition,
    /// SIGKILL a node (random or the leader), restart it later.
    Kill,
    /// SIGSTOP a node (random or the leader), SIGCONT it later.
    Pause,
    /// Shift nodes' wall clocks with libfaketime, reset them later.
    Clock,
    /// Remove a node from the cluster, wipe it, add it back.
    Membership,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Clock => "clock",
            FaultKind::Membership => "membership",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSpec {
    pub nodes: usize,
    pub workloads: Vec<WorkloadKind>,
    pub faults: Vec<FaultKind>,
    pub seed: u64,
    /// The `baton` binary under test.
    pub baton: PathBuf,
    /// How long clients run and faults happen, before the final heal.
    pub time_limit_secs: u64,
    /// Mean time between fault changes.
    pub interval_secs: f64,
    /// Client processes running at once.
    pub concurrency: usize,
    /// Client operations per second, all processes together.
    pub rate: f64,
    /// How long one client operation may take before its outcome is unknown.
    pub op_timeout_ms: u64,
    /// Quiet time after the final heal and before the final reads.
    pub recovery_secs: u64,
    /// Operations per register key before clients move on to a fresh key.
    pub ops_per_key: u64,
    /// libfaketime's library, preloaded into nodes when the clock nemesis runs.
    pub faketime_lib: Option<PathBuf>,
}

impl RunSpec {
    pub const FILE: &'static str = "spec.json";

    pub fn time_limit(&self) -> Duration {
        Duration::from_secs(self.time_limit_secs)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.interval_secs)
    }

    pub fn op_timeout(&self) -> Duration {
        Duration::from_millis(self.op_timeout_ms)
    }

    pub fn has(&self, fault: FaultKind) -> bool {
        self.faults.contains(&fault)
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::write(
            dir.join(Self::FILE),
            serde_json::to_string_pretty(self)? + "\n",
        )?;
        Ok(())
    }

    pub fn load(dir: &Path) -> anyhow::Result<RunSpec> {
        let text = std::fs::read_to_string(dir.join(Self::FILE))?;
        Ok(serde_json::from_str(&text)?)
    }
}
