//! What the master keeps of each framework: its live and recently completed tasks, the default
//! executors of its task groups, and the offers it holds.

use super::streams::Stream;
use crate::mesos::{
    CheckStatusInfo, ExecutorId, ExecutorInfo, FrameworkCapability, FrameworkId, FrameworkInfo,
    TaskId, TaskInfo, TaskState, TaskStatus,
};
use crate::mesos_local::allocation::Refusal;
use crate::mesos_local::probing::TaskProbes;
use crate::mesos_local::resources::Resources;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Terminal tasks kept per framework for `/state`, as Mesos keeps.
pub const COMPLETED_TASKS: usize = 1000;
/// Removed frameworks kept for `/state` and to refuse their resubscription.
pub const COMPLETED_FRAMEWORKS: usize = 100;
/// The command executor's kill grace period when neither the task nor the KILL gives one.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);

pub(in crate::mesos_local) struct OutstandingOffer {
    pub framework: FrameworkId,
    pub agent: usize,
    pub resources: Resources,
    /// For `--offer-timeout-secs`.
    pub made: Instant,
}

/// A live task process: where to ask for a kill with a grace period.
pub(in crate::mesos_local) struct ProcessRef {
    pub kill: mpsc::Sender<Duration>,
}

pub(in crate::mesos_local) struct Task {
    pub info: TaskInfo,
    pub agent: usize,
    pub resources: Resources,
    /// The latest state, reliable or not; resources are released when it turns terminal.
    pub state: TaskState,
    pub statuses: Vec<TaskStatus>,
    /// Reliable updates not yet acknowledged; only the head is sent.
    pub unacked: VecDeque<TaskStatus>,
    pub head_sent: Option<Instant>,
    /// How long after `head_sent` the head is sent again; doubles each time, as the agent's
    /// status update manager retries.
    pub head_backoff: Duration,
    pub process: Option<ProcessRef>,
    /// Where its command runs; none for simulated tasks.
    pub sandbox: Option<PathBuf>,
    /// Its health check and check while it runs a process.
    pub probes: Option<Box<TaskProbes>>,
    /// The check's latest result, carried by every later status.
    pub check_status: Option<CheckStatusInfo>,
    /// Killed by its failing health check: its terminal status says `healthy: false`.
    pub health_killed: bool,
    /// The default executor of its task group; none for a command task (its own executor).
    pub executor: Option<ExecutorId>,
}

impl Task {
    /// The executor its statuses name: the group's, or the command executor's (the task id).
    pub fn executor_id(&self) -> ExecutorId {
        self.executor
            .clone()
            .unwrap_or_else(|| ExecutorId::new(self.info.task_id.as_str()))
    }
}

pub(in crate::mesos_local) struct Framework {
    pub info: FrameworkInfo,
    pub stream: Option<Stream>,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub unregistered_time: Option<f64>,
    pub disconnected_at: Option<Instant>,
    pub suppressed: bool,
    pub refusals: HashMap<usize, Refusal>,
    pub tasks: BTreeMap<TaskId, Task>,
    pub completed: VecDeque<Task>,
    /// Running default executors of task groups, by agent and executor id.
    pub executors: BTreeMap<(usize, ExecutorId), Executor>,
}

/// A default executor running a task group (and any group launched onto it later). It holds its
/// own resources until its last task ends.
pub(in crate::mesos_local) struct Executor {
    pub info: ExecutorInfo,
    pub resources: Resources,
    pub tasks: Vec<TaskId>,
    /// Where its tasks' sandboxes are; none on simulated agents.
    pub sandbox: Option<PathBuf>,
    /// Set once one of its tasks failed or was killed: it is killing the others.
    pub killing: bool,
}

impl Framework {
    pub fn id(&self) -> FrameworkId {
        self.info.id.clone().unwrap_or_else(|| FrameworkId::new(""))
    }

    /// The roles it is offered resources for: `roles` with MULTI_ROLE, else `role`, else `*`.
    pub fn roles(&self) -> Vec<String> {
        let multi_role = self.info.has_capability(FrameworkCapability::MultiRole);
        match (&self.info.role, multi_role) {
            _ if multi_role && !self.info.roles.is_empty() => self.info.roles.clone(),
            (Some(role), _) => vec![role.clone()],
            (None, _) => vec!["*".to_owned()],
        }
    }

    pub fn partition_aware(&self) -> bool {
        self.info
            .has_capability(FrameworkCapability::PartitionAware)
    }

    /// Keeps the last [`COMPLETED_TASKS`] terminal tasks.
    pub fn complete(&mut self, task: Task) {
        if self.completed.len() >= COMPLETED_TASKS {
            self.completed.pop_front();
        }
        self.completed.push_back(task);
    }
}
