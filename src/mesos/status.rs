//! What Mesos reports about a task: TaskStatus, the task states, sources and reasons.

use super::container::NetworkInfo;
use super::task::CheckType;
use super::wire::{
    AgentId, Base64Bytes, ContainerId, ExecutorId, Labels, TaskId, TimeInfo, lenient, wire_enum,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

wire_enum! {
    /// Every task state of Mesos 1.11. Which are terminal is [`super::is_terminal`].
    pub enum TaskState {
        /// The master's initial state; seen through reconciliation of a just-launched task.
        Staging = "TASK_STAGING",
        Starting = "TASK_STARTING",
        Running = "TASK_RUNNING",
        /// Kill in progress (frameworks with TASK_KILLING_STATE).
        Killing = "TASK_KILLING",
        Finished = "TASK_FINISHED",
        Failed = "TASK_FAILED",
        Killed = "TASK_KILLED",
        /// The task description was invalid; retrying it unchanged is pointless.
        Error = "TASK_ERROR",
        /// Non-PARTITION_AWARE catch-all for unreachable, dropped, gone and unknown.
        Lost = "TASK_LOST",
        /// Never started; safe to retry.
        Dropped = "TASK_DROPPED",
        /// The agent is partitioned; the task may still run.
        Unreachable = "TASK_UNREACHABLE",
        /// Was running, known dead.
        Gone = "TASK_GONE",
        /// An operator asserted the agent is gone; unconfirmed.
        GoneByOperator = "TASK_GONE_BY_OPERATOR",
        /// The master has no record of the task.
        Unknown = "TASK_UNKNOWN",
    }
}

wire_enum! {
    pub enum TaskSource {
        Master = "SOURCE_MASTER",
        Agent = "SOURCE_AGENT",
        Executor = "SOURCE_EXECUTOR",
    }
}

/// A status `reason` (`REASON_…`). Open-ended: a reason added by a newer Mesos parses like any
/// other, so it never makes a status update unreadable.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reason(Cow<'static, str>);

macro_rules! reasons {
    ($($name:ident = $wire:literal,)*) => {
        impl Reason {
            $(pub const $name: Reason = Reason(Cow::Borrowed($wire));)*
        }
    };
}

reasons! {
    // Master-side.
    RECONCILIATION = "REASON_RECONCILIATION",
    INVALID_OFFERS = "REASON_INVALID_OFFERS",
    TASK_INVALID = "REASON_TASK_INVALID",
    TASK_UNAUTHORIZED = "REASON_TASK_UNAUTHORIZED",
    TASK_GROUP_INVALID = "REASON_TASK_GROUP_INVALID",
    TASK_GROUP_UNAUTHORIZED = "REASON_TASK_GROUP_UNAUTHORIZED",
    AGENT_REMOVED = "REASON_AGENT_REMOVED",
    AGENT_REMOVED_BY_OPERATOR = "REASON_AGENT_REMOVED_BY_OPERATOR",
    AGENT_DISCONNECTED = "REASON_AGENT_DISCONNECTED",
    AGENT_REREGISTERED = "REASON_AGENT_REREGISTERED",
    AGENT_UNKNOWN = "REASON_AGENT_UNKNOWN",
    FRAMEWORK_REMOVED = "REASON_FRAMEWORK_REMOVED",
    TASK_KILLED_DURING_LAUNCH = "REASON_TASK_KILLED_DURING_LAUNCH",
    TASK_UNKNOWN = "REASON_TASK_UNKNOWN",
    // Agent and executor.
    COMMAND_EXECUTOR_FAILED = "REASON_COMMAND_EXECUTOR_FAILED",
    CONTAINER_LAUNCH_FAILED = "REASON_CONTAINER_LAUNCH_FAILED",
    CONTAINER_LIMITATION = "REASON_CONTAINER_LIMITATION",
    CONTAINER_LIMITATION_MEMORY = "REASON_CONTAINER_LIMITATION_MEMORY",
    CONTAINER_LIMITATION_DISK = "REASON_CONTAINER_LIMITATION_DISK",
    CONTAINER_PREEMPTED = "REASON_CONTAINER_PREEMPTED",
    CONTAINER_UPDATE_FAILED = "REASON_CONTAINER_UPDATE_FAILED",
    EXECUTOR_TERMINATED = "REASON_EXECUTOR_TERMINATED",
    EXECUTOR_REGISTRATION_TIMEOUT = "REASON_EXECUTOR_REGISTRATION_TIMEOUT",
    EXECUTOR_REREGISTRATION_TIMEOUT = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT",
    EXECUTOR_UNREGISTERED = "REASON_EXECUTOR_UNREGISTERED",
    AGENT_RESTARTED = "REASON_AGENT_RESTARTED",
    AGENT_DRAINING = "REASON_AGENT_DRAINING",
    GC_ERROR = "REASON_GC_ERROR",
    INVALID_FRAMEWORKID = "REASON_INVALID_FRAMEWORKID",
    IO_SWITCHBOARD_EXITED = "REASON_IO_SWITCHBOARD_EXITED",
    MAX_COMPLETION_TIME_REACHED = "REASON_MAX_COMPLETION_TIME_REACHED",
    TASK_HEALTH_CHECK_STATUS_UPDATED = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
    TASK_CHECK_STATUS_UPDATED = "REASON_TASK_CHECK_STATUS_UPDATED",
}

impl Reason {
    pub fn new(name: impl Into<String>) -> Reason {
        Reason(Cow::Owned(name.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One status update. `uuid` is set when the agent wants an ACKNOWLEDGE (and will redeliver
/// until it gets one); master-generated updates have none and must not be acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub task_id: TaskId,
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub source: Option<TaskSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Base64Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<Base64Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_status: Option<CheckStatusInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_status: Option<ContainerStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable_time: Option<TimeInfo>,
}

impl TaskStatus {
    /// A bare status with only the task and its state; the master side fills in the rest.
    pub fn new(task_id: TaskId, state: TaskState) -> TaskStatus {
        TaskStatus {
            task_id,
            state,
            message: None,
            source: None,
            reason: None,
            data: None,
            agent_id: None,
            executor_id: None,
            timestamp: None,
            uuid: None,
            healthy: None,
            check_status: None,
            labels: None,
            container_status: None,
            unreachable_time: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<ContainerId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_infos: Vec<NetworkInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_pid: Option<u32>,
}

/// The last result of a non-killing check; an empty sub-object means "not known yet".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStatusInfo {
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<CheckType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandCheckStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheckStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheckStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandCheckStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheckStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheckStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_update_status_parses() {
        let wire = json!({
          "task_id":{"value":"web.1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR",
          "agent_id":{"value":"M-S3"},"executor_id":{"value":"web.1"},
          "timestamp":1732427000.123,"uuid":"o3kAIuerTGWVSdusmpqIbw==",
          "container_status":{"container_id":{"value":"8f1e"},
            "network_infos":[{"ip_addresses":[{"protocol":"IPv4","ip_address":"10.0.0.13"}]}],
            "executor_pid":4242}});
        let s: TaskStatus = serde_json::from_value(wire.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.state, TaskState::Running);
        assert_eq!(s.source, Some(TaskSource::Executor));
        assert_eq!(s.uuid.as_ref().map(|u| u.as_slice().len()), Some(16));
        assert_eq!(
            s.uuid.as_ref().map(|u| u.to_base64()).as_deref(),
            Some("o3kAIuerTGWVSdusmpqIbw==")
        );
        assert_eq!(serde_json::to_value(&s).ok(), Some(wire));
    }

    #[test]
    fn every_state_name_parses() {
        let names = [
            "TASK_STAGING",
            "TASK_STARTING",
            "TASK_RUNNING",
            "TASK_KILLING",
            "TASK_FINISHED",
            "TASK_FAILED",
            "TASK_KILLED",
            "TASK_ERROR",
            "TASK_LOST",
            "TASK_DROPPED",
            "TASK_UNREACHABLE",
            "TASK_GONE",
            "TASK_GONE_BY_OPERATOR",
            "TASK_UNKNOWN",
        ];
        assert_eq!(names.len(), TaskState::ALL.len());
        for name in names {
            let state: TaskState =
                serde_json::from_value(json!(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(state.as_str(), name);
        }
    }

    #[test]
    fn unknown_reason_and_source_and_fields_are_tolerated() {
        let s: TaskStatus = serde_json::from_value(json!({
            "task_id":{"value":"t"},"state":"TASK_FAILED",
            "reason":"REASON_FROM_THE_FUTURE","source":"SOURCE_ORACLE",
            "limitation":{"resources":[]},"brand_new":{"x":1},
            "check_status":{"type":"HTTP","http":{"status_code":200}}}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.reason, Some(Reason::new("REASON_FROM_THE_FUTURE")));
        assert_eq!(s.source, None);
        assert_eq!(
            s.check_status
                .and_then(|c| c.http)
                .and_then(|h| h.status_code),
            Some(200)
        );
    }

    #[test]
    fn known_reasons_compare_with_their_constants() {
        let s: TaskStatus = serde_json::from_value(json!({
            "task_id":{"value":"t"},"state":"TASK_LOST","reason":"REASON_RECONCILIATION",
            "message":"Reconciliation: Task is unknown to the agent"}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.reason, Some(Reason::RECONCILIATION));
        assert_eq!(
            serde_json::to_value(Reason::CONTAINER_LAUNCH_FAILED).ok(),
            Some(json!("REASON_CONTAINER_LAUNCH_FAILED"))
        );
    }

    #[test]
    fn unknown_state_or_bad_uuid_is_an_error() {
        for bad in [
            json!({"task_id":{"value":"t"},"state":"TASK_DREAMING"}),
            json!({"task_id":{"value":"t"}}),
            json!({"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"not base64!"}),
        ] {
            assert!(
                serde_json::from_value::<TaskStatus>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
