//! Domain events emitted by `apply` on every node, leader or follower, for the event streams.

use super::app::HealthCheck;
use super::health::HealthResult;
use super::ids::{AgentId, DeploymentId, FrameworkId, InstanceId, TaskId};
use super::model::{AppRecord, Condition, Deployment, Instance};
use super::path::PathId;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    AppCreated {
        app: AppRecord,
    },
    /// `scaled_only`: only `instances` changed (Marathon's scale vs. config change).
    AppUpdated {
        app: AppRecord,
        scaled_only: bool,
    },
    AppDeleted {
        id: PathId,
    },
    GroupCreated {
        id: PathId,
    },
    /// A group command committed the subtree at `id` as its version `version`.
    GroupChanged {
        id: PathId,
        version: Timestamp,
    },
    FrameworkIdStored {
        id: FrameworkId,
    },
    DeploymentStarted {
        deployment: Box<Deployment>,
    },
    /// Step `step` (0-based) finished; the deployment goes on with the next one.
    DeploymentStepSucceeded {
        deployment: Box<Deployment>,
        step: usize,
    },
    DeploymentSucceeded {
        deployment: Box<Deployment>,
    },
    /// Cancelled (forced over, or `DELETE /v2/deployments/{id}`).
    DeploymentCancelled {
        id: DeploymentId,
        /// The group and version of a group command's deployment (`group_change_failed`).
        #[serde(default)]
        group: Option<(PathId, Timestamp)>,
    },
    FrameworkTeardownRequested {
        id: FrameworkId,
    },
    FrameworkForgotten {
        id: FrameworkId,
    },
    /// Provisioned, or its goal or observed status changed: the instance as it is now.
    InstanceChanged {
        instance: Box<Instance>,
    },
    /// Removed from the state after its task ended with `condition`.
    InstanceExpunged {
        id: InstanceId,
        app: PathId,
        condition: Condition,
        /// The instance as it ended (with the terminal status observed, when a status ended
        /// it), for the events that describe its task.
        #[serde(default)]
        last: Option<Box<Instance>>,
    },
    /// One health check's result of an instance changed (`previous`: none before).
    HealthChecked {
        instance: InstanceId,
        app: PathId,
        app_version: Timestamp,
        check: Box<HealthCheck>,
        previous: Option<HealthResult>,
        result: HealthResult,
    },
    /// The instance's health over all its checks changed (`None`: unknown).
    InstanceHealthChanged {
        instance: InstanceId,
        app: PathId,
        app_version: Timestamp,
        healthy: Option<bool>,
    },
    /// The instance failed its health checks and is being killed.
    UnhealthyInstanceKilled {
        instance: InstanceId,
        task: TaskId,
        app: PathId,
        app_version: Timestamp,
        reason: String,
        host: Option<String>,
        agent: Option<AgentId>,
    },
}

/// An event with the log position and leader time of the command that caused it, so a
/// subscriber can resume from an index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppliedEvent {
    pub index: u64,
    pub time: Timestamp,
    pub event: Event,
}
