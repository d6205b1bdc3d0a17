//! Marathon's AppInfo and task JSON as borrowed views over the state, serialized straight into
//! a response: a list of 100,000 tasks builds no `serde_json::Value` tree, reads each app's
//! instances once and counts its tasks once. `Value` forms remain for the callers that want
//! one (gRPC, deployments, groups over gRPC).

use super::edit::{Drop, Edited, StructEdit};
use super::iso::Iso;
use crate::state::State;
use crate::state::app::{AppDefinition, NetworkMode, ReadinessCheck};
use crate::state::health::{CheckResult, HealthResult, ReadinessResponse, instance_health};
use crate::state::model::{AppFailures, AppRecord, Condition, Instance};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde_json::Value;

/// Marathon's task counts of an app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub staged: u32,
    pub running: u32,
    /// Tasks whose every health check passed last.
    pub healthy: u32,
    /// Tasks with a failing health check.
    pub unhealthy: u32,
}

pub fn task_counts(record: &AppRecord, state: &State) -> TaskCounts {
    count_tasks(state, state.instances_of(&record.spec.id))
}

/// The counts over `instances`, all of one app.
fn count_tasks<'a>(state: &State, instances: impl IntoIterator<Item = &'a Instance>) -> TaskCounts {
    let mut counts = TaskCounts::default();
    // How many checks the version an instance runs has: one lookup per run of instances of
    // the same version, not one per instance.
    let mut checks: Option<(Timestamp, usize)> = None;
    for instance in instances {
        match instance.condition() {
            Condition::Provisioned | Condition::Staging | Condition::Starting => counts.staged += 1,
            Condition::Running => counts.running += 1,
            _ => {}
        }
        let n = match checks {
            Some((version, n)) if version == instance.app_version => n,
            _ => {
                let n = state.health_checks_of(instance).len();
                checks = Some((instance.app_version, n));
                n
            }
        };
        // Only tasks with health results count (Marathon: an app without checks is 0/0).
        match instance_health(instance, n) {
            Some(true) => counts.healthy += 1,
            Some(false) => counts.unhealthy += 1,
            None => {}
        }
    }
    counts
}

/// What an app document holds beyond its definition, version, versionInfo and readiness
/// results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppEmbed {
    /// `tasksStaged`, `tasksRunning`, `tasksHealthy`, `tasksUnhealthy`.
    pub counts: bool,
    pub deployments: bool,
    pub last_task_failure: bool,
    pub tasks: bool,
}

impl AppEmbed {
    /// Marathon's AppInfo as `/v2/apps` serves it: counts, deployments and the last failure.
    pub const INFO: AppEmbed = AppEmbed {
        counts: true,
        deployments: true,
        last_task_failure: true,
        tasks: false,
    };
    /// The AppInfo with the app's tasks.
    pub const INFO_WITH_TASKS: AppEmbed = AppEmbed {
        tasks: true,
        ..AppEmbed::INFO
    };
}

/// An app as Marathon serves it: the definition in Marathon's writer shape plus what `embed`
/// asks for.
pub struct AppView<'a> {
    record: &'a AppRecord,
    state: &'a State,
    embed: AppEmbed,
    /// The readiness check whose results are reported, if any ([`reported_readiness`]).
    readiness: Option<&'a ReadinessCheck>,
    /// The app's instances in id order, read once for counts, readiness results and tasks
    /// (empty when none of them is asked for).
    instances: Vec<&'a Instance>,
    counts: TaskCounts,
}

impl<'a> AppView<'a> {
    pub fn new(record: &'a AppRecord, state: &'a State, embed: AppEmbed) -> AppView<'a> {
        let readiness = reported_readiness(record, state);
        let instances: Vec<&Instance> = if embed.counts || embed.tasks || readiness.is_some() {
            state.instances_of(&record.spec.id).collect()
        } else {
            Vec::new()
        };
        let counts = if embed.counts {
            count_tasks(state, instances.iter().copied())
        } else {
            TaskCounts::default()
        };
        AppView {
            record,
            state,
            embed,
            readiness,
            instances,
            counts,
        }
    }

    /// The tasks the document embeds.
    pub fn task_count(&self) -> usize {
        if self.embed.tasks {
            self.instances.len()
        } else {
            0
        }
    }
}

impl Serialize for AppView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let spec: &AppDefinition = &self.record.spec;
        let host = spec.networks.iter().all(|n| n.mode == NetworkMode::Host);
        Edited {
            value: spec,
            edit: InfoFields { view: self, host },
        }
        .serialize(serializer)
    }
}

/// The edit that makes an `AppDefinition` an AppInfo.
#[derive(Clone, Copy)]
struct InfoFields<'v, 'a> {
    view: &'v AppView<'a>,
    /// Host networking (every network is `host`).
    host: bool,
}

impl StructEdit for InfoFields<'_, '_> {
    fn appended(&self) -> usize {
        12
    }

    fn field<M, T>(&self, out: &mut M, key: &'static str, value: &T) -> Result<(), M::Error>
    where
        M: SerializeStruct,
        T: ?Sized + Serialize,
    {
        // Marathon's writer keeps port definitions for host networking only, and a
        // container's port mappings for container networking only (`to_marathon_json`).
        match (key, &self.view.record.spec.container) {
            ("portDefinitions", _) if !self.host => Ok(()),
            ("container", Some(container)) if self.host => out.serialize_field(
                key,
                &Edited {
                    value: container,
                    edit: Drop("portMappings"),
                },
            ),
            _ => out.serialize_field(key, value),
        }
    }

    fn append<M: SerializeStruct>(&self, out: &mut M) -> Result<(), M::Error> {
        let AppView {
            record,
            state,
            embed,
            readiness,
            instances,
            counts,
        } = self.view;
        let id = &record.spec.id;
        out.serialize_field("version", &Iso(record.version))?;
        out.serialize_field(
            "versionInfo",
            &VersionInfo {
                last_scaling_at: Iso(record.version_info.last_scaling_at),
                last_config_change_at: Iso(record.version_info.last_config_change_at),
            },
        )?;
        if embed.counts {
            out.serialize_field("tasksStaged", &counts.staged)?;
            out.serialize_field("tasksRunning", &counts.running)?;
            out.serialize_field("tasksHealthy", &counts.healthy)?;
            out.serialize_field("tasksUnhealthy", &counts.unhealthy)?;
        }
        if embed.deployments {
            out.serialize_field("deployments", &Deployments { state, app: id })?;
        }
        out.serialize_field(
            "readinessCheckResults",
            &Readiness {
                check: *readiness,
                record,
                instances,
            },
        )?;
        if embed.last_task_failure
            && let Some(failure) = state.app_failures(id)
        {
            out.serialize_field("lastTaskFailure", &LastFailure::of(id, failure))?;
        }
        if embed.tasks {
            out.serialize_field("tasks", &Tasks(instances))?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    last_scaling_at: Iso,
    last_config_change_at: Iso,
}

/// `[{"id": …}]` of the deployments that hold an app.
struct Deployments<'a> {
    state: &'a State,
    app: &'a PathId,
}

impl Serialize for Deployments<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct DeploymentRef<'a> {
            id: &'a str,
        }
        serializer.collect_seq(
            self.state
                .deployments_of(self.app)
                .map(|d| DeploymentRef { id: d.id.as_str() }),
        )
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LastFailure<'a> {
    app_id: &'a str,
    host: &'a Option<String>,
    message: &'a str,
    state: &'static str,
    task_id: &'a str,
    timestamp: Iso,
    version: Iso,
    slave_id: Option<&'a str>,
}

impl<'a> LastFailure<'a> {
    fn of(app: &'a PathId, failures: &'a AppFailures) -> LastFailure<'a> {
        let last = &failures.last;
        LastFailure {
            app_id: app.as_str(),
            host: &last.host,
            message: last.message.as_deref().unwrap_or_default(),
            state: task_state(last.condition),
            task_id: last.task_id.as_str(),
            timestamp: Iso(failures.last_at),
            version: Iso(last.app_version),
            slave_id: last.agent.as_ref().map(|a| a.as_str()),
        }
    }
}

/// The readiness check Marathon reports results of: the app's first, while a deployment of
/// the app runs.
fn reported_readiness<'a>(record: &'a AppRecord, state: &State) -> Option<&'a ReadinessCheck> {
    let spec = &record.spec;
    spec.readiness_checks
        .first()
        .filter(|_| state.deployments_of(&spec.id).next().is_some())
}

/// Marathon's `readinessCheckResults`: for each running instance of the app's current
/// configuration, whether the reported check passed (with the response, when the check
/// preserves it).
struct Readiness<'a> {
    check: Option<&'a ReadinessCheck>,
    record: &'a AppRecord,
    instances: &'a [&'a Instance],
}

impl<'a> Readiness<'a> {
    fn results(&self) -> impl Iterator<Item = ReadinessResult<'a>> + use<'a> {
        let config = self.record.version_info.last_config_change_at;
        let check = self.check;
        let instances = if check.is_some() { self.instances } else { &[] };
        instances
            .iter()
            .filter(move |i| i.app_version >= config && i.condition() == Condition::Running)
            .filter_map(move |&instance| check.map(|check| ReadinessResult { check, instance }))
    }
}

impl Serialize for Readiness<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.results())
    }
}

/// One instance's readiness.
struct ReadinessResult<'a> {
    check: &'a ReadinessCheck,
    instance: &'a Instance,
}

impl Serialize for ReadinessResult<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct LastResponse<'a> {
            status: u16,
            content_type: &'a Option<String>,
            body: &'a str,
        }
        let mut out = serializer.serialize_struct("ReadinessCheckResult", 4)?;
        out.serialize_field("name", &self.check.name)?;
        out.serialize_field("taskId", &TaskIdText(self.instance))?;
        out.serialize_field("ready", &self.instance.ready)?;
        out.serialize_field(
            "lastResponse",
            &self
                .instance
                .readiness_response
                .as_ref()
                .map(|r: &ReadinessResponse| LastResponse {
                    status: r.status,
                    content_type: &r.content_type,
                    body: &r.body,
                }),
        )?;
        out.end()
    }
}

/// The tasks of instances, in order.
pub struct Tasks<'a>(pub &'a [&'a Instance]);

impl Serialize for Tasks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|i| TaskView(i)))
    }
}

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

/// An instance's current task id (`<instance>._app.<n>`), written without building it.
struct TaskIdText<'a>(&'a Instance);

impl Serialize for TaskIdText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}._app.{}", self.0.id, self.0.incarnation))
    }
}

/// [`app_info`] as JSON text, written straight from the view (no [`Value`] tree between: the
/// gRPC answer to every app write carries it).
pub fn app_info_json(record: &AppRecord, state: &State) -> String {
    serde_json::to_string(&AppView::new(record, state, AppEmbed::INFO))
        .expect("a view serializes to JSON")
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

/// Marathon's `healthCheckResults` of a task: one per check that has a result, in check order.
struct HealthResults<'a>(&'a Instance);

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
struct CheckResultView<'a>(&'a CheckResult);

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

/// A view as a `Value`, for callers that edit or re-encode the document. The views hold only
/// string-keyed structs, sequences and scalars, so this cannot fail.
pub fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).expect("a view serializes to JSON")
}

/// Marathon's AppInfo: the definition plus version, versionInfo, task counts, deployments,
/// readiness results and the last task failure (tasks are embedded with [`AppView`]).
pub fn app_info(record: &AppRecord, state: &State) -> Value {
    to_value(AppView::new(record, state, AppEmbed::INFO))
}

/// Marathon's task JSON for an instance's current task.
pub fn task_json(instance: &Instance) -> Value {
    to_value(TaskView(instance))
}

/// Marathon's `readinessCheckResults` of an app.
pub fn readiness_results(record: &AppRecord, state: &State) -> Vec<Value> {
    let check = reported_readiness(record, state);
    let instances: Vec<&Instance> = match check {
        Some(_) => state.instances_of(&record.spec.id).collect(),
        None => Vec::new(),
    };
    let readiness = Readiness {
        check,
        record,
        instances: &instances,
    };
    readiness.results().map(to_value).collect()
}

/// `{"<key>": item}` written to `out`.
pub fn write_document<T: Serialize>(
    out: &mut impl std::io::Write,
    key: &str,
    item: T,
) -> Result<(), serde_json::Error> {
    out.write_all(b"{").map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *out, key)?;
    out.write_all(b":").map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *out, &item)?;
    out.write_all(b"}").map_err(serde_json::Error::io)
}

/// `{"<key>": item}` written into a buffer of `capacity` bytes to start with.
pub fn document<T: Serialize>(
    key: &str,
    item: T,
    capacity: usize,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(capacity);
    write_document(&mut out, key, item)?;
    Ok(out)
}

/// Bytes a rendered task takes, about (for sizing a response buffer up front).
pub const TASK_BYTES: usize = 480;

#[cfg(test)]
mod tests;
