//! The app document: [`AppView`], an app's definition in Marathon's writer shape plus the
//! fields [`AppEmbed`] asks for (version, task counts, deployments, readiness results, the last
//! task failure, the tasks).

use super::counts::{TaskCounts, count_tasks};
use super::document::to_value;
use super::readiness::{Readiness, reported_readiness};
use super::task::{Tasks, task_state};
use crate::api::apps::edit::{Drop, Edited, StructEdit};
use crate::api::apps::iso::Iso;
use crate::state::State;
use crate::state::app::{AppDefinition, NetworkMode, ReadinessCheck};
use crate::state::model::{AppFailures, AppRecord, Instance};
use crate::state::path::PathId;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use serde_json::Value;

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

/// [`app_info`] as JSON text, written straight from the view (no [`Value`] tree between: the
/// gRPC answer to every app write carries it).
pub fn app_info_json(record: &AppRecord, state: &State) -> String {
    serde_json::to_string(&AppView::new(record, state, AppEmbed::INFO))
        .expect("a view serializes to JSON")
}

/// Marathon's AppInfo: the definition plus version, versionInfo, task counts, deployments,
/// readiness results and the last task failure (tasks are embedded with [`AppView`]).
pub fn app_info(record: &AppRecord, state: &State) -> Value {
    to_value(AppView::new(record, state, AppEmbed::INFO))
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
