//! The state as rows of named tables: what the store persists after each apply, what a snapshot
//! carries, and what a restarting node loads. Values are MessagePack with named fields, so a
//! field added later reads as its default from older rows.

use super::app::AppDefinition;
use super::ids::{DeploymentId, InstanceId, JobId, JobRunId, RequestId, ReservationId};
use super::model::{AppRecord, VersionInfo};
use super::path::PathId;
use super::time::Timestamp;
use super::{Response, State};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The tables of the state machine. The names are the redb table names: never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Table {
    Apps,
    AppVersions,
    Groups,
    Instances,
    Deployments,
    Jobs,
    JobRuns,
    Reservations,
    Settings,
    Requests,
    AppFailures,
    GroupVersions,
}

impl Table {
    /// In load order: an app's row names its current version, so versions load first.
    pub const ALL: [Table; 12] = [
        Table::AppVersions,
        Table::Apps,
        Table::Groups,
        Table::Instances,
        Table::Deployments,
        Table::Jobs,
        Table::JobRuns,
        Table::Reservations,
        Table::Settings,
        Table::Requests,
        Table::AppFailures,
        Table::GroupVersions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Apps => "sm_apps",
            Table::AppVersions => "sm_app_versions",
            Table::Groups => "sm_groups",
            Table::Instances => "sm_instances",
            Table::Deployments => "sm_deployments",
            Table::Jobs => "sm_jobs",
            Table::JobRuns => "sm_job_runs",
            Table::Reservations => "sm_reservations",
            Table::Settings => "sm_settings",
            Table::Requests => "sm_requests",
            Table::AppFailures => "sm_app_failures",
            Table::GroupVersions => "sm_group_versions",
        }
    }
}

/// One row: table, key, encoded value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub table: Table,
    pub key: String,
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("row {table:?}/{key}: cannot encode: {source}")]
    Encode {
        table: Table,
        key: String,
        source: rmp_serde::encode::Error,
    },
    #[error("row {table:?}/{key}: cannot decode: {source}")]
    Decode {
        table: Table,
        key: String,
        source: rmp_serde::decode::Error,
    },
    #[error("app row {key} names version {version}, which is not stored")]
    MissingVersion { key: String, version: Timestamp },
    #[error("row {table:?}/{key}: malformed key")]
    Key { table: Table, key: String },
}

/// An app's row: its bookkeeping only. The definition itself is the app's newest version row,
/// so that an update writes the definition once, and the small app rows pack densely.
#[derive(Serialize, Deserialize)]
struct AppMeta {
    revision: u64,
    version: Timestamp,
    version_info: VersionInfo,
}

impl AppMeta {
    fn of(record: &AppRecord) -> AppMeta {
        AppMeta {
            revision: record.revision,
            version: record.version,
            version_info: record.version_info.clone(),
        }
    }
}

/// The key of one app version: `<millis, zero-padded>@<app id>`. Time first, so that new
/// versions append at the end of the table and the oldest are trimmed from its start: a write
/// touches a few adjacent pages instead of one page per app somewhere in the middle.
pub(super) fn version_key(id: &PathId, version: Timestamp) -> String {
    format!("{:020}@{id}", version.0)
}

/// The key of one root-group version: a version key of `/`.
pub(super) fn root_version_key(version: Timestamp) -> String {
    version_key(&PathId::root(), version)
}

fn encode<T: Serialize>(table: Table, key: &str, value: &T) -> Result<Vec<u8>, RowError> {
    // Most rows (an app version, a deployment) take some hundred bytes: one allocation, not
    // a doubling from eight.
    let mut bytes = Vec::with_capacity(1024);
    rmp_serde::encode::write_named(&mut bytes, value).map_err(|source| RowError::Encode {
        table,
        key: key.to_string(),
        source,
    })?;
    Ok(bytes)
}

fn decode<'a, T: Deserialize<'a>>(table: Table, key: &str, bytes: &'a [u8]) -> Result<T, RowError> {
    rmp_serde::from_slice(bytes).map_err(|source| RowError::Decode {
        table,
        key: key.to_string(),
        source,
    })
}

fn bad_key(table: Table, key: &str) -> RowError {
    RowError::Key {
        table,
        key: key.to_string(),
    }
}

fn path_key(table: Table, key: &str) -> Result<PathId, RowError> {
    PathId::parse(key, None).map_err(|_| bad_key(table, key))
}

impl State {
    /// The current encoded value of a row, or `None` when the row no longer exists.
    pub fn row(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, RowError> {
        let value = match table {
            Table::Apps => self
                .apps
                .get(&path_key(table, key)?)
                .map(|v| encode(table, key, &AppMeta::of(v))),
            Table::AppVersions => {
                let (id, version) = split_version_key(key).ok_or_else(|| bad_key(table, key))?;
                self.app_version(&id, version)
                    .map(|v| encode(table, key, v.as_ref()))
            }
            Table::Groups => self
                .groups
                .get(&path_key(table, key)?)
                .map(|v| encode(table, key, v)),
            Table::Instances => self
                .instances
                .get(&InstanceId(key.to_string().into()))
                .map(|v| encode(table, key, v)),
            Table::Deployments => self
                .deployments
                .get(&DeploymentId(key.to_string().into()))
                .map(|v| encode(table, key, v)),
            Table::Jobs => self
                .jobs
                .get(&JobId(key.to_string().into()))
                .map(|v| encode(table, key, v)),
            Table::JobRuns => self
                .job_runs
                .get(&JobRunId(key.to_string().into()))
                .map(|v| encode(table, key, v)),
            Table::Reservations => self
                .reservations
                .get(&ReservationId(key.to_string().into()))
                .map(|v| encode(table, key, v)),
            Table::Settings => Some(encode(table, key, &self.settings)),
            Table::Requests => self
                .requests
                .get(&RequestId(key.to_string().into()))
                .map(|v| encode(table, key, v)),
            Table::AppFailures => self
                .app_failures
                .get(&path_key(table, key)?)
                .map(|v| encode(table, key, v)),
            Table::GroupVersions => {
                let (id, version) = split_version_key(key).ok_or_else(|| bad_key(table, key))?;
                if !id.is_root() {
                    return Err(bad_key(table, key));
                }
                self.root_versions
                    .get(&version)
                    .map(|v| encode(table, key, v))
            }
        };
        value.transpose()
    }

    /// Loads one persisted row into the state (restart, snapshot install).
    pub fn load_row(&mut self, table: Table, key: &str, bytes: &[u8]) -> Result<(), RowError> {
        match table {
            Table::Apps => {
                let id = path_key(table, key)?;
                let meta: AppMeta = decode(table, key, bytes)?;
                let spec = self.app_version(&id, meta.version).ok_or_else(|| {
                    RowError::MissingVersion {
                        key: key.to_string(),
                        version: meta.version,
                    }
                })?;
                let record = AppRecord {
                    spec: Arc::clone(spec),
                    revision: meta.revision,
                    version: meta.version,
                    version_info: meta.version_info,
                };
                self.apps.insert(id, record);
            }
            Table::AppVersions => {
                let (id, version) = split_version_key(key).ok_or_else(|| bad_key(table, key))?;
                let spec: AppDefinition = decode(table, key, bytes)?;
                self.app_versions
                    .entry(id)
                    .or_default()
                    .insert(version, Arc::new(spec));
            }
            Table::Groups => {
                self.groups
                    .insert(path_key(table, key)?, decode(table, key, bytes)?);
            }
            Table::Instances => {
                let instance: super::model::Instance = decode(table, key, bytes)?;
                if instance.id.as_str() != key {
                    return Err(bad_key(table, key));
                }
                self.insert_instance(instance);
            }
            Table::Deployments => {
                let deployment: super::model::Deployment = decode(table, key, bytes)?;
                if deployment.id.0 != key.into() {
                    return Err(bad_key(table, key));
                }
                self.insert_deployment(Arc::new(deployment));
            }
            Table::Jobs => {
                self.jobs
                    .insert(JobId(key.into()), decode(table, key, bytes)?);
            }
            Table::JobRuns => {
                self.job_runs
                    .insert(JobRunId(key.into()), decode(table, key, bytes)?);
            }
            Table::Reservations => {
                self.reservations
                    .insert(ReservationId(key.into()), decode(table, key, bytes)?);
            }
            Table::Settings => self.settings = decode(table, key, bytes)?,
            Table::AppFailures => {
                self.app_failures
                    .insert(path_key(table, key)?, decode(table, key, bytes)?);
            }
            Table::GroupVersions => {
                let (id, version) = split_version_key(key).ok_or_else(|| bad_key(table, key))?;
                // Earlier builds kept versions of every group; only the root's are kept now.
                if id.is_root() {
                    self.root_versions
                        .insert(version, decode(table, key, bytes)?);
                }
            }
            Table::Requests => {
                let (position, response): (super::Position, Response) = decode(table, key, bytes)?;
                let id = RequestId(key.into());
                self.request_order.insert(position, id.clone());
                self.requests.insert(id, (position, response));
            }
        }
        Ok(())
    }

    /// Every row of the state, table by table (snapshots).
    pub fn rows(&self) -> Result<Vec<Row>, RowError> {
        let mut keys: Vec<(Table, String)> = Vec::new();
        keys.extend(self.app_versions.iter().flat_map(|(id, versions)| {
            versions
                .keys()
                .map(|v| (Table::AppVersions, version_key(id, *v)))
        }));
        keys.extend(self.apps.keys().map(|k| (Table::Apps, k.to_string())));
        keys.extend(self.groups.keys().map(|k| (Table::Groups, k.to_string())));
        keys.extend(
            self.instances
                .keys()
                .map(|k| (Table::Instances, k.0.to_string())),
        );
        keys.extend(
            self.deployments
                .keys()
                .map(|k| (Table::Deployments, k.0.to_string())),
        );
        keys.extend(self.jobs.keys().map(|k| (Table::Jobs, k.0.to_string())));
        keys.extend(
            self.job_runs
                .keys()
                .map(|k| (Table::JobRuns, k.0.to_string())),
        );
        keys.extend(
            self.reservations
                .keys()
                .map(|k| (Table::Reservations, k.0.to_string())),
        );
        keys.push((Table::Settings, String::new()));
        keys.extend(
            self.requests
                .keys()
                .map(|k| (Table::Requests, k.0.to_string())),
        );
        keys.extend(
            self.app_failures
                .keys()
                .map(|k| (Table::AppFailures, k.to_string())),
        );
        keys.extend(
            self.root_versions
                .keys()
                .map(|v| (Table::GroupVersions, root_version_key(*v))),
        );
        let mut rows = Vec::with_capacity(keys.len());
        for (table, key) in keys {
            if let Some(value) = self.row(table, &key)? {
                rows.push(Row { table, key, value });
            }
        }
        Ok(rows)
    }

    /// Rebuilds a state from rows (the inverse of [`State::rows`]).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Result<State, RowError> {
        let mut state = State::default();
        for row in rows {
            state.load_row(row.table, &row.key, &row.value)?;
        }
        Ok(state)
    }
}

fn split_version_key(key: &str) -> Option<(PathId, Timestamp)> {
    let (millis, id) = key.split_once('@')?;
    Some((
        PathId::parse(id, None).ok()?,
        Timestamp(millis.parse().ok()?),
    ))
}
