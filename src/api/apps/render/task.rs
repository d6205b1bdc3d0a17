//! Marathon's task JSON: an instance's current task, its id and the Mesos state name shown
//! for it.

use super::document::to_value;
use super::health::{CheckResultView, HealthResults};
use crate::api::apps::iso::Iso;
use crate::state::model::{Condition, Instance};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use serde_json::Value;

/// The Mesos state name Marathon shows for an instance's task.
pub(crate) fn task_state(condition: Condition) -> &'static str {
    match condition {
        Condition::Provisioned | Condition::Staging => "TASK_STAGING",
        Condition::Starting => "TASK_STARTING",
        Condition::Running => "TASK_RUNNING",
        Condition::Killing => "TASK_KILLING",
        Condition::Finished => "TASK_FINISHED",
        Condition::Failed => "TASK_FAILED",
        Condition::Killed => "TASK_KILLED",
        Condition::Error => "TASK_ERROR",
        Condition::Dropped => "TASK_DROPPED",
        Condition::Unreachable | Condition::UnreachableInactive => "TASK_UNREACHABLE",
        Condition::Gone => "TASK_GONE",
        Condition::Unknown => "TASK_UNKNOWN",
    }
}

/// The tasks of instances, in order.
pub struct Tasks<'a>(pub &'a [&'a Instance]);

impl Serialize for Tasks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|i| TaskView(i)))
    }
}

/// Marathon's task JSON for an instance's current task.
pub struct TaskView<'a>(pub &'a Instance);

impl Serialize for TaskView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct IpAddress<'a> {
            ip_address: &'a str,
            protocol: &'static str,
        }
        const NONE: &[u32] = &[];
        let i = self.0;
        let started = i
            .observed
            .as_ref()
            .filter(|o| o.condition == Condition::Running)
            .map(|o| Iso(o.since));
        let ip = i.hostname.as_deref().map(|h| IpAddress {
            ip_address: h,
            protocol: "IPv4",
        });
        let mut task = serializer.serialize_struct("Task", 14)?;
        task.serialize_field("id", &TaskIdText(i))?;
        task.serialize_field("appId", i.app.as_str())?;
        task.serialize_field("host", &i.hostname)?;
        task.serialize_field("slaveId", &i.agent.as_ref().map(|a| a.as_str()))?;
        task.serialize_field("state", task_state(i.condition()))?;
        task.serialize_field("stagedAt", &Iso(i.provisioned_at))?;
        task.serialize_field("startedAt", &started)?;
        task.serialize_field("version", &Iso(i.app_version))?;
        task.serialize_field("ports", &i.host_ports)?;
        task.serialize_field("servicePorts", NONE)?;
        task.serialize_field("ipAddresses", ip.as_slice())?;
        task.serialize_field("localVolumes", NONE)?;
        task.serialize_field("healthCheckResults", &HealthResults(i))?;
        // Only when the app has a Mesos check: marathon-python's task model refuses the key.
        if let Some(result) = &i.check_result {
            task.serialize_field("checkResult", &CheckResultView(result))?;
        }
        task.end()
    }
}

/// Marathon's task JSON for an instance's current task.
pub fn task_json(instance: &Instance) -> Value {
    to_value(TaskView(instance))
}

/// An instance's current task id (`<instance>._app.<n>`), written without building it.
pub(super) struct TaskIdText<'a>(pub(super) &'a Instance);

impl Serialize for TaskIdText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}._app.{}", self.0.id, self.0.incarnation))
    }
}
