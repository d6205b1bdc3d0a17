//! The health fields of a task's JSON: Marathon's `healthCheckResults` (one per health check)
//! and `checkResult` (the Mesos check).

use crate::api::apps::iso::Iso;
use crate::state::health::{CheckResult, HealthResult};
use crate::state::model::Instance;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// Marathon's `healthCheckResults` of a task: one per check that has a result, in check order.
pub(super) struct HealthResults<'a>(pub(super) &'a Instance);

impl Serialize for HealthResults<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Health<'a> {
            alive: bool,
            consecutive_failures: u32,
            first_success: Option<Iso>,
            last_success: Option<Iso>,
            last_failure: Option<Iso>,
            last_failure_cause: &'a Option<String>,
            instance_id: &'a str,
        }
        let instance_id = self.0.id.as_str();
        serializer.collect_seq(self.0.health.values().map(|h: &HealthResult| Health {
            alive: h.alive,
            consecutive_failures: h.consecutive_failures,
            first_success: h.first_success.map(Iso),
            last_success: h.last_success.map(Iso),
            last_failure: h.last_failure.map(Iso),
            last_failure_cause: &h.last_failure_cause,
            instance_id,
        }))
    }
}

/// Marathon's `checkResult` of a task (the Mesos check's last result).
pub(super) struct CheckResultView<'a>(pub(super) &'a CheckResult);

impl Serialize for CheckResultView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Http {
            status_code: Option<u32>,
        }
        #[derive(Serialize)]
        struct Tcp {
            succeeded: Option<bool>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Command {
            exit_code: Option<i32>,
        }
        let mut out = serializer.serialize_map(Some(1))?;
        match *self.0 {
            CheckResult::Http { status_code } => {
                out.serialize_entry("http", &Http { status_code })?
            }
            CheckResult::Tcp { succeeded } => out.serialize_entry("tcp", &Tcp { succeeded })?,
            CheckResult::Command { exit_code } => {
                out.serialize_entry("command", &Command { exit_code })?
            }
        }
        out.end()
    }
}
