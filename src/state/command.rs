//! Commands: the only way the replicated state changes. The leader builds them (stamping time and
//! ids), Raft orders them, and every node applies them identically.

use super::app::AppDefinition;
use super::group::GroupUpdate;
use super::health::{HealthUpdate, ReadinessResponse};
use super::ids::{DeploymentId, FrameworkId, InstanceId, RequestId, TaskId};
use super::model::{AppRecord, Goal, Instance, StatusReport};
use super::path::PathId;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One log entry's payload: a command with what the leader stamped on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The leader's clock when it accepted the command; `apply` uses it instead of reading a clock.
    pub time: Timestamp,
    /// Idempotency key: a command replayed with a key already applied returns the first result.
    pub request_id: Option<RequestId>,
    pub command: Command,
}

impl Request {
    pub fn new(time: Timestamp, request_id: Option<RequestId>, command: Command) -> Request {
        Request {
            time,
            request_id,
            command,
        }
    }
}

/// One Raft entry's payload: the requests the leader gathered while the previous entry was being
/// written, so that one log fsync carries many writes. Each gets its own response, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch(pub Arc<Vec<Request>>);

/// How a change deploys: the leader-chosen id of the deployment it starts, and whether it may
/// cancel deployments that hold its apps (`?force=true`) instead of being refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deploy {
    pub id: DeploymentId,
    pub force: bool,
}

/// Whether a put may create, may replace, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PutMode {
    /// POST: refused when the app exists.
    Create,
    /// PATCH: refused when the app does not exist.
    Update,
    /// PUT: creates or replaces.
    Upsert,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Create or replace an app definition.
    PutApp {
        app: Arc<AppDefinition>,
        /// When set, refused with a conflict unless the stored revision equals it (0 = absent).
        expected_revision: Option<u64>,
        mode: PutMode,
        deploy: Deploy,
    },
    DeleteApp {
        id: PathId,
        expected_revision: Option<u64>,
        deploy: Deploy,
    },
    /// The leader's deployment service saw every action of step `step` done.
    AdvanceDeployment { id: DeploymentId, step: usize },
    /// `DELETE /v2/deployments/{id}?force=true`: stop driving it; nothing is reverted.
    CancelDeployment { id: DeploymentId },
    /// `DELETE /v2/deployments/{id}`: cancel it and deploy its affected apps back to what they
    /// were before it, as deployment `deploy.id`.
    RollbackDeployment { id: DeploymentId, deploy: Deploy },
    /// `DELETE /v2/queue/{app}/delay`: forget the app's launch failures (no more backoff).
    ResetLaunchDelay { app: PathId },
    /// Records the framework id the Mesos master assigned; every later leader subscribes with it.
    SetFrameworkId { id: FrameworkId },
    /// Write-ahead of a LAUNCH: the instance, pinned to its agent and ports, exists before its
    /// task does, so a leader that dies before or during the launch leaves a record that the
    /// next leader reconciles. `revision`, `observed` and `provisioned_at` are set by `apply`.
    ProvisionInstance { instance: Box<Instance> },
    /// A task status from Mesos: applied once per status uuid, only to the instance's current
    /// task; a terminal one expunges the instance.
    RecordStatus { report: StatusReport },
    /// Changes what the scheduler wants of an instance (a scale-down decommissions it).
    SetInstanceGoal { id: InstanceId, goal: Goal },
    /// `POST /v2/apps/{id}/restart`: the same definition as a new version (a configuration
    /// change), so that the deployment's rolling restart replaces every instance.
    RestartApp { id: PathId, deploy: Deploy },
    /// Kills instances: each is decommissioned (and replaced by the scheduler while its app
    /// still wants it). With `scale`, the apps are scaled down by the number of their instances
    /// killed, as deployment `scale`, in the same command, so nothing replaces them.
    KillInstances {
        ids: Vec<InstanceId>,
        scale: Option<Deploy>,
    },
    /// Operator action: tear the framework down (it must be the stored one). Written ahead of
    /// the TEARDOWN call, so a leader that dies in between leaves the request to the next.
    RequestTeardown { framework_id: FrameworkId },
    /// After TEARDOWN: Mesos killed every task and forgot the framework, so the state forgets
    /// it and its instances too.
    ForgetFramework { framework_id: FrameworkId },
    /// Bulk `PUT /v2/apps`: creates or replaces every app given, as one deployment `deploy`
    /// (each app's steps side by side). Refused whole if any app is refused.
    PutApps {
        apps: Vec<AppDefinition>,
        /// Per app (same order), refused with a conflict unless the stored revision equals it
        /// (0 = absent); empty: no checks.
        #[serde(default)]
        expected_revisions: Vec<u64>,
        deploy: Deploy,
    },
    /// An unreachable instance outlived its app's `inactiveAfterSeconds`: it no longer counts
    /// as running (the scheduler launches a replacement) but is kept should it come back.
    MarkUnreachableInactive { id: InstanceId },
    /// An unreachable instance outlived its app's `expungeAfterSeconds`: it is forgotten, and
    /// its task is killed as an orphan should it report again.
    ExpungeUnreachable { id: InstanceId },
    /// `POST`/`PUT /v2/groups[/{id}]`: the group becomes what the update says (fields it leaves
    /// out keep what the group has), every app changed deployed as deployment `deploy`, in
    /// dependency order. `Create` is refused when the group exists.
    PutGroup {
        update: Box<GroupUpdate>,
        mode: PutMode,
        deploy: Deploy,
    },
    /// `DELETE /v2/groups[/{id}]`: every app below stops and the groups go (root stays).
    DeleteGroup { id: PathId, deploy: Deploy },
    /// `{"scaleBy": factor}`: every app below to `ceil(instances × factor)`.
    ScaleGroup {
        id: PathId,
        factor: f64,
        deploy: Deploy,
    },
    /// `{"version": v}`: the subtree back to what it was at group version `version`.
    RollbackGroup {
        id: PathId,
        version: Timestamp,
        deploy: Deploy,
    },
    /// The leader's health checks: the results that changed since its last batch. Results for
    /// instances gone, or for an older task of an instance, are skipped.
    RecordHealth { updates: Vec<HealthUpdate> },
    /// The leader's verdict that an instance failed its health checks: it is killed and
    /// replaced (ignored when the instance no longer runs `task`).
    KillUnhealthy {
        instance: InstanceId,
        task: TaskId,
        reason: String,
    },
    /// The instance's readiness check passed (ignored when it no longer runs `task`).
    MarkReady {
        instance: InstanceId,
        task: TaskId,
        response: Option<ReadinessResponse>,
    },
}

/// What an accepted command produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// The app as stored after the command (created: `revision == 1`).
    App {
        app: AppRecord,
        created: bool,
        /// The deployment the change started.
        deployment: DeploymentId,
    },
    /// `version`: the time of the deletion (Marathon answers with a new root version).
    AppDeleted {
        id: PathId,
        revision: u64,
        version: Timestamp,
        deployment: DeploymentId,
    },
    /// `finished`: that was the last step and the deployment is gone.
    DeploymentAdvanced {
        id: DeploymentId,
        finished: bool,
    },
    DeploymentCancelled {
        id: DeploymentId,
    },
    DeploymentRolledBack {
        id: DeploymentId,
        rollback: DeploymentId,
        version: Timestamp,
    },
    LaunchDelayReset {
        app: PathId,
    },
    FrameworkId {
        id: FrameworkId,
    },
    InstanceProvisioned {
        id: InstanceId,
    },
    /// What a `RecordStatus` did.
    Status {
        instance: Option<InstanceId>,
        effect: StatusEffect,
    },
    InstanceGoal {
        id: InstanceId,
        goal: Goal,
    },
    /// What a `KillInstances` did: the instances it named that exist, as they are now, and
    /// when it scaled, the deployment it started and the apps' new version.
    InstancesKilled {
        killed: Vec<Instance>,
        scaled: Option<(DeploymentId, Timestamp)>,
    },
    TeardownRequested {
        framework_id: FrameworkId,
    },
    /// How many instances went with the framework.
    FrameworkForgotten {
        framework_id: FrameworkId,
        instances: usize,
    },
    /// A bulk put committed: the apps as stored, the deployment, and the newest version.
    Apps {
        apps: Vec<AppRecord>,
        deployment: DeploymentId,
        version: Timestamp,
    },
    /// An unreachable instance was marked inactive, or expunged.
    UnreachableExpired {
        id: InstanceId,
        expunged: bool,
    },
    /// A group command committed: the group's new version and the deployment it started.
    Group {
        id: PathId,
        version: Timestamp,
        deployment: DeploymentId,
    },
    /// How many of a `RecordHealth`'s results changed an instance.
    HealthRecorded {
        recorded: usize,
    },
    /// Whether a `KillUnhealthy` decommissioned the instance.
    UnhealthyKilled {
        killed: bool,
    },
    /// Whether a `MarkReady` changed the instance.
    MarkedReady {
        changed: bool,
    },
}

/// What recording one task status did. Every case is an acceptance: Mesos may be acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusEffect {
    /// The instance's observed status changed.
    Recorded,
    /// The status was terminal: the instance is gone from the state.
    Expunged,
    /// The same update (uuid) was already applied, or a uuid-less one repeats the condition.
    Duplicate,
    /// The task is an older incarnation of the instance.
    Stale,
    /// No instance has this task: an orphan (or one already expunged).
    UnknownTask,
}

/// Why a command was refused. A refused command changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    #[error("An app with id [{0}] already exists.")]
    AppExists(PathId),
    #[error("App '{0}' does not exist")]
    AppNotFound(PathId),
    /// Marathon's AppLockedException.
    #[error(
        "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/{}'.",
        deployments.first().map(|d| d.as_str()).unwrap_or_default()
    )]
    AppLocked {
        app: PathId,
        deployments: Vec<DeploymentId>,
    },
    /// Marathon's answer to creating a group that exists.
    #[error("Group {0} is already created. Use PUT to change this group.")]
    GroupExists(PathId),
    #[error("Group '{0}' does not exist")]
    GroupNotFound(PathId),
    #[error("Group '{0}' does not exist in version {1}")]
    GroupVersionNotFound(PathId, Timestamp),
    #[error("DeploymentPlan {0} does not exist")]
    DeploymentNotFound(DeploymentId),
    #[error("{id} has revision {actual}, not the expected {expected}")]
    RevisionConflict {
        id: String,
        expected: u64,
        actual: u64,
    },
    /// The command is well-formed but contradicts the current state (e.g. an app inside an app).
    #[error("{0}")]
    Invalid(String),
}

/// The result of applying one command; returned to the client that proposed it.
pub type Response = Result<Outcome, Rejection>;
