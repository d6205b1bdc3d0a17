//! The records the replicated state holds. Each carries a `revision` that grows by one with every
//! change, for optimistic concurrency (`expected_revision`). Apps and groups are filled in by the
//! API now; instances, deployments, jobs and reservations are shaped here so that the Mesos, apps,
//! jobs and stateful-workload issues add behaviour without changing the storage layout.

use super::app::AppDefinition;
use super::group::GroupNode;
use super::health::{CheckResult, HealthResult, ReadinessResponse};
use super::ids::{
    AgentId, DeploymentId, FrameworkId, InstanceId, JobId, JobRunId, ReservationId, TaskId,
};
use super::path::PathId;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Marathon's `versionInfo`: when the app's scale, and its configuration, last changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub last_scaling_at: Timestamp,
    pub last_config_change_at: Timestamp,
}

/// An app as stored: its definition plus the bookkeeping Marathon serves with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    pub spec: Arc<AppDefinition>,
    pub revision: u64,
    /// Marathon's `version`: the time of this definition.
    pub version: Timestamp,
    pub version_info: VersionInfo,
}

/// A group of the app tree. Groups appear implicitly as the parents of apps, as in Marathon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub id: PathId,
    pub dependencies: Vec<PathId>,
    pub enforce_role: bool,
    pub revision: u64,
    pub version: Timestamp,
}

/// What the scheduler wants an instance to be doing (intent), kept apart from what Mesos last
/// reported (observation); reconcilers act on the difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    Running,
    /// Stopped but kept (a resident instance keeps its reservation).
    Stopped,
    /// To be killed and forgotten.
    Decommissioned,
}

/// Marathon's instance condition: the last Mesos task state mapped onto the scheduler's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// Committed as provisioned (write-ahead of the LAUNCH), no status heard yet.
    Provisioned,
    Staging,
    Starting,
    Running,
    Killing,
    Finished,
    Failed,
    Killed,
    Error,
    Dropped,
    Unreachable,
    UnreachableInactive,
    Gone,
    Unknown,
}

impl Condition {
    /// Whether the instance's task is over for good, so the instance is expunged (a resident
    /// instance, later, keeps its reservation instead). Mesos' own terminality differs: TASK_LOST
    /// maps to `Unreachable` here (it may come back) and TASK_UNKNOWN is final here (the master
    /// has no record of the task, so nothing of it runs).
    pub fn is_terminal(self) -> bool {
        match self {
            Condition::Finished
            | Condition::Failed
            | Condition::Killed
            | Condition::Error
            | Condition::Dropped
            | Condition::Gone
            | Condition::Unknown => true,
            Condition::Provisioned
            | Condition::Staging
            | Condition::Starting
            | Condition::Running
            | Condition::Killing
            | Condition::Unreachable
            | Condition::UnreachableInactive => false,
        }
    }

    /// Whether the task ended through its own fault (it counts towards the app's launch
    /// backoff): failed, errored, dropped, or a long-running task that exited.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Condition::Failed | Condition::Error | Condition::Dropped | Condition::Finished
        )
    }

    /// Marathon's name for the condition (`TASK_RUNNING`-style names are Mesos').
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Provisioned => "Provisioned",
            Condition::Staging => "Staging",
            Condition::Starting => "Starting",
            Condition::Running => "Running",
            Condition::Killing => "Killing",
            Condition::Finished => "Finished",
            Condition::Failed => "Failed",
            Condition::Killed => "Killed",
            Condition::Error => "Error",
            Condition::Dropped => "Dropped",
            Condition::Unreachable => "Unreachable",
            Condition::UnreachableInactive => "UnreachableInactive",
            Condition::Gone => "Gone",
            Condition::Unknown => "Unknown",
        }
    }
}

/// The last status Mesos reported for an instance's task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedStatus {
    pub condition: Condition,
    pub task_id: TaskId,
    /// The Mesos status uuid (base64), so a redelivered update is recognised and applied once.
    /// Master-generated updates (reconciliation, some losses) carry none.
    pub status_uuid: Option<String>,
    pub message: Option<String>,
    /// Mesos' reason name, e.g. `REASON_COMMAND_EXECUTOR_FAILED`.
    #[serde(default)]
    pub reason: Option<String>,
    pub healthy: Option<bool>,
    /// When the condition was first observed (a repeated condition keeps its `since`).
    pub since: Timestamp,
    /// When the state last changed this observation: a status recorded (even one repeating
    /// the condition), or the leader marking it `UnreachableInactive`.
    #[serde(default)]
    pub updated_at: Timestamp,
}

impl ObservedStatus {
    /// What a reported condition means after this observation: an instance the leader marked
    /// inactive stays so while Mesos still calls it unreachable (its strategy's clock keeps
    /// running from the first report).
    pub fn condition_after(&self, reported: Condition) -> Condition {
        if self.condition == Condition::UnreachableInactive && reported == Condition::Unreachable {
            Condition::UnreachableInactive
        } else {
            reported
        }
    }

    /// Whether `report` only repeats this observation: the same status uuid or, for a
    /// reconciliation answer (no uuid), the same condition. Recording it changes nothing.
    pub fn repeated_by(&self, report: &StatusReport) -> bool {
        match &report.status_uuid {
            Some(uuid) => self.status_uuid.as_ref() == Some(uuid),
            None => self.condition == self.condition_after(report.condition),
        }
    }
}

/// A task status as the scheduler records it: what `RecordStatus` carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub task_id: TaskId,
    pub agent: Option<AgentId>,
    pub condition: Condition,
    pub status_uuid: Option<String>,
    pub message: Option<String>,
    pub reason: Option<String>,
    pub healthy: Option<bool>,
    /// The result of the task's Mesos check (`check`), when the status carries one.
    #[serde(default)]
    pub check: Option<CheckResult>,
}

/// One replica of an app, pinned to an agent once provisioned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: InstanceId,
    pub app: PathId,
    /// The app version this instance runs.
    pub app_version: Timestamp,
    pub goal: Goal,
    /// `None` until Mesos reports on the task: the instance is then `Provisioned`.
    pub observed: Option<ObservedStatus>,
    pub agent: Option<AgentId>,
    pub hostname: Option<String>,
    /// The agent's attributes (text values; scalars and ranges as Mesos prints them) and fault
    /// domain when the instance was placed: what placement constraints compare against.
    #[serde(default)]
    pub agent_attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    pub host_ports: Vec<u32>,
    /// The incarnation counter of the `._app.<n>` task-id suffix.
    pub incarnation: u32,
    pub reservation: Option<ReservationId>,
    /// When the leader committed it as provisioned (write-ahead of its LAUNCH).
    #[serde(default)]
    pub provisioned_at: Timestamp,
    /// The committed result of each health check of the instance's app version, by the
    /// check's index; a check with no result yet is absent (unknown).
    #[serde(default)]
    pub health: BTreeMap<u32, HealthResult>,
    /// The readiness check passed (a deployment counts the instance once it is healthy too).
    #[serde(default)]
    pub ready: bool,
    /// The response that made it ready, when the check preserves it.
    #[serde(default)]
    pub readiness_response: Option<ReadinessResponse>,
    /// The last result of the task's Mesos check (`check`).
    #[serde(default)]
    pub check_result: Option<CheckResult>,
    pub revision: u64,
}

impl Instance {
    /// The id of the instance's current Mesos task.
    pub fn task_id(&self) -> TaskId {
        TaskId(format!("{}._app.{}", self.id, self.incarnation).into())
    }

    /// The instance's condition: the last observed one, or `Provisioned` before any.
    pub fn condition(&self) -> Condition {
        self.observed
            .as_ref()
            .map_or(Condition::Provisioned, |o| o.condition)
    }
}

/// Test fixtures: the plain records tests start from, changed with struct-update syntax.
#[cfg(test)]
impl Instance {
    /// A fresh instance of `app` at `app_version`: goal running, nothing observed, incarnation 1,
    /// not placed on an agent, no host ports, revision 0.
    pub fn fixture(id: InstanceId, app: PathId, app_version: Timestamp) -> Instance {
        Instance {
            id,
            app,
            app_version,
            goal: Goal::Running,
            observed: None,
            agent: None,
            hostname: None,
            agent_attributes: Default::default(),
            region: None,
            zone: None,
            host_ports: Vec::new(),
            incarnation: 1,
            reservation: None,
            provisioned_at: Timestamp(0),
            health: Default::default(),
            ready: false,
            readiness_response: None,
            check_result: None,
            revision: 0,
        }
    }
}

#[cfg(test)]
impl StatusReport {
    /// A Mesos status of `task` in `condition`, with no agent, uuid, message, reason, health or
    /// check result.
    pub fn fixture(task_id: TaskId, condition: Condition) -> StatusReport {
        StatusReport {
            task_id,
            agent: None,
            condition,
            status_uuid: None,
            message: None,
            reason: None,
            healthy: None,
            check: None,
        }
    }
}

impl InstanceId {
    /// A fresh instance id of an app, Marathon 1.5+ style: `<app path, / as _>.instance-<uuid>`.
    pub fn for_app(app: &PathId, uuid: uuid::Uuid) -> InstanceId {
        InstanceId(format!("{}.instance-{uuid}", app.safe_name()).into())
    }
}

impl TaskId {
    /// The instance a task id belongs to (`<instance>._app.<n>` → `<instance>`, `n`).
    pub fn instance(&self) -> Option<(InstanceId, u32)> {
        let (instance, n) = self.0.rsplit_once("._app.")?;
        Some((InstanceId(instance.to_string().into()), n.parse().ok()?))
    }
}

/// A deployment: the plan from the original to the target state, and how far it has got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: DeploymentId,
    pub version: Timestamp,
    pub affected_apps: Vec<PathId>,
    pub steps: Vec<DeploymentStep>,
    /// Index into `steps` of the step being driven; `steps.len()` when done.
    pub current_step: usize,
    /// Each affected app as it was before (`None`: it did not exist), for a rollback.
    #[serde(default)]
    pub original: Vec<(PathId, Option<Arc<AppDefinition>>)>,
    pub revision: u64,
    /// Set when a group command (or the rollback of one) started it: for `group_change_*`
    /// events and for a rollback that restores the groups too.
    #[serde(default)]
    pub group: Option<GroupDeployment>,
}

/// The group a deployment changes, and its groups as they were before (without their apps,
/// which `Deployment::original` holds): one small node per group of that subtree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupDeployment {
    pub id: PathId,
    /// The group at `id` and every group below it before the change; `None`: no group was
    /// at `id`.
    pub before: Option<Vec<GroupNode>>,
}

impl Deployment {
    /// The action of the current step for `app`, if the deployment is driving one now.
    pub fn current_action(&self, app: &PathId) -> Option<&DeploymentAction> {
        self.steps
            .get(self.current_step)?
            .actions
            .iter()
            .find(|a| a.app() == app)
    }

    /// Whether `app` has an action in a step not reached yet (it waits for its turn).
    pub fn waits(&self, app: &PathId) -> bool {
        self.steps
            .iter()
            .skip(self.current_step + 1)
            .any(|s| s.actions.iter().any(|a| a.app() == app))
            && self.current_action(app).is_none()
    }
}

impl DeploymentAction {
    pub fn app(&self) -> &PathId {
        match self {
            DeploymentAction::StartApplication { app }
            | DeploymentAction::ScaleApplication { app, .. }
            | DeploymentAction::RestartApplication { app }
            | DeploymentAction::StopApplication { app } => app,
        }
    }

    /// Marathon's action name.
    pub fn name(&self) -> &'static str {
        match self {
            DeploymentAction::StartApplication { .. } => "StartApplication",
            DeploymentAction::ScaleApplication { .. } => "ScaleApplication",
            DeploymentAction::RestartApplication { .. } => "RestartApplication",
            DeploymentAction::StopApplication { .. } => "StopApplication",
        }
    }
}

/// The last task of an app that ended badly, and how often launches failed in a row: the
/// launch backoff (`backoffSeconds × backoffFactor^(n−1)`, capped) and Marathon's
/// `lastTaskFailure`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppFailures {
    pub consecutive: u32,
    pub last_at: Timestamp,
    pub last: TaskFailure,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskFailure {
    pub task_id: TaskId,
    pub condition: Condition,
    pub message: Option<String>,
    pub host: Option<String>,
    pub agent: Option<AgentId>,
    pub app_version: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStep {
    pub actions: Vec<DeploymentAction>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DeploymentAction {
    StartApplication { app: PathId },
    ScaleApplication { app: PathId, instances: u32 },
    RestartApplication { app: PathId },
    StopApplication { app: PathId },
}

/// A Metronome job: its run template (as JSON, shaped by the jobs issue) and its schedules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub spec_json: String,
    pub schedules: Vec<Schedule>,
    pub revision: u64,
}

/// A cron schedule and the instant it fires next. The last fired instant is what stops a second
/// run of the same instant after a failover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub cron: String,
    pub time_zone: String,
    pub starting_deadline_seconds: u64,
    pub concurrency_policy: String,
    pub enabled: bool,
    pub next_fire_at: Option<Timestamp>,
    pub last_fired_at: Option<Timestamp>,
}

/// One run of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub id: JobRunId,
    pub job: JobId,
    /// The scheduled instant this run is for (None for a run started by hand).
    pub scheduled_at: Option<Timestamp>,
    pub status: String,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub tasks: Vec<TaskId>,
    pub revision: u64,
}

/// A dynamic reservation with its persistent volumes, made for one resident instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: ReservationId,
    pub agent: AgentId,
    pub instance: InstanceId,
    pub resources_json: String,
    pub volumes: Vec<String>,
    pub confirmed: bool,
    pub revision: u64,
}

/// Cluster-wide settings changed through the API, replicated like everything else.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterSettings {
    pub framework_id: Option<FrameworkId>,
    /// An operator asked for the framework to be torn down: the leader sends TEARDOWN (which
    /// kills every task) and then forgets the framework; the next subscription registers anew.
    #[serde(default)]
    pub teardown_requested: bool,
    pub revision: u64,
}
