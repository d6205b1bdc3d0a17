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

/// One row, by what it holds: what a command notes as touched and the writer persists. Typed,
/// so that the writer finds the value without parsing its key back; the text form is the key
/// of the row in its redb table. Rows of one table sort together.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKey {
    App(PathId),
    AppVersion(PathId, Timestamp),
    Group(PathId),
    Instance(InstanceId),
    Deployment(DeploymentId),
    Job(JobId),
    JobRun(JobRunId),
    Reservation(ReservationId),
    Settings,
    Request(RequestId),
    AppFailures(PathId),
    RootVersion(Timestamp),
}

impl RowKey {
    pub fn table(&self) -> Table {
        match self {
            RowKey::App(_) => Table::Apps,
            RowKey::AppVersion(..) => Table::AppVersions,
            RowKey::Group(_) => Table::Groups,
            RowKey::Instance(_) => Table::Instances,
            RowKey::Deployment(_) => Table::Deployments,
            RowKey::Job(_) => Table::Jobs,
            RowKey::JobRun(_) => Table::JobRuns,
            RowKey::Reservation(_) => Table::Reservations,
            RowKey::Settings => Table::Settings,
            RowKey::Request(_) => Table::Requests,
            RowKey::AppFailures(_) => Table::AppFailures,
            RowKey::RootVersion(_) => Table::GroupVersions,
        }
    }

    /// Writes the row's key in its table into `out` (cleared first).
    pub fn write_text(&self, out: &mut String) {
        use std::fmt::Write;
        out.clear();
        let _ = match self {
            RowKey::App(id) | RowKey::Group(id) | RowKey::AppFailures(id) => {
                out.write_str(id.as_str())
            }
            // `<millis, zero-padded>@<app id>`: time first, so that new versions append at the
            // end of the table and the oldest are trimmed from its start: a write touches a
            // few adjacent pages instead of one page per app somewhere in the middle.
            RowKey::AppVersion(id, version) => write!(out, "{:020}@{id}", version.0),
            RowKey::RootVersion(version) => write!(out, "{:020}@/", version.0),
            RowKey::Instance(id) => out.write_str(&id.0),
            RowKey::Deployment(id) => out.write_str(&id.0),
            RowKey::Job(id) => out.write_str(&id.0),
            RowKey::JobRun(id) => out.write_str(&id.0),
            RowKey::Reservation(id) => out.write_str(&id.0),
            RowKey::Settings => Ok(()),
            RowKey::Request(id) => out.write_str(&id.0),
        };
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// The row `key` of `table` (the inverse of [`RowKey::text`]).
    pub fn parse(table: Table, key: &str) -> Result<RowKey, RowError> {
        let path = || path_key(table, key);
        Ok(match table {
            Table::Apps => RowKey::App(path()?),
            Table::AppVersions => {
                let (id, version) = split_version_key(key).ok_or_else(|| bad_key(table, key))?;
                RowKey::AppVersion(id, version)
            }
            Table::Groups => RowKey::Group(path()?),
            Table::Instances => RowKey::Instance(InstanceId(key.into())),
            Table::Deployments => RowKey::Deployment(DeploymentId(key.into())),
            Table::Jobs => RowKey::Job(JobId(key.into())),
            Table::JobRuns => RowKey::JobRun(JobRunId(key.into())),
            Table::Reservations => RowKey::Reservation(ReservationId(key.into())),
            Table::Settings => RowKey::Settings,
            Table::Requests => RowKey::Request(RequestId(key.into())),
            Table::AppFailures => RowKey::AppFailures(path()?),
            Table::GroupVersions => match split_version_key(key) {
                Some((id, version)) if id.is_root() => RowKey::RootVersion(version),
                _ => return Err(bad_key(table, key)),
            },
        })
    }
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

fn encode<T: Serialize>(key: &RowKey, value: &T) -> Result<Vec<u8>, RowError> {
    // Most rows (an app version, a deployment) take some hundred bytes: one allocation, not
    // a doubling from eight.
    let mut bytes = Vec::with_capacity(1024);
    rmp_serde::encode::write_named(&mut bytes, value).map_err(|source| RowError::Encode {
        table: key.table(),
        key: key.text(),
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
    pub fn row(&self, key: &RowKey) -> Result<Option<Vec<u8>>, RowError> {
        let value = match key {
            RowKey::App(id) => self.apps.get(id).map(|v| encode(key, &AppMeta::of(v))),
            RowKey::AppVersion(id, version) => self
                .app_version(id, *version)
                .map(|v| encode(key, v.as_ref())),
            RowKey::Group(id) => self.groups.get(id).map(|v| encode(key, v)),
            RowKey::Instance(id) => self.instances.get(id).map(|v| encode(key, v)),
            RowKey::Deployment(id) => self.deployments.get(id).map(|v| encode(key, v)),
            RowKey::Job(id) => self.jobs.get(id).map(|v| encode(key, v)),
            RowKey::JobRun(id) => self.job_runs.get(id).map(|v| encode(key, v)),
            RowKey::Reservation(id) => self.reservations.get(id).map(|v| encode(key, v)),
            RowKey::Settings => Some(encode(key, &self.settings)),
            RowKey::Request(id) => self.requests.get(id).map(|v| encode(key, v)),
            RowKey::AppFailures(id) => self.app_failures.get(id).map(|v| encode(key, v)),
            RowKey::RootVersion(version) => self.root_versions.get(version).map(|v| encode(key, v)),
        };
        value.transpose()
    }

    /// Loads one persisted row into the state (restart, snapshot install).
    pub fn load_row(&mut self, table: Table, key: &str, bytes: &[u8]) -> Result<(), RowError> {
        if table == Table::GroupVersions {
            // Earlier builds kept versions of every group; only the root's are kept now.
            let (id, _) = split_version_key(key).ok_or_else(|| bad_key(table, key))?;
            if !id.is_root() {
                return Ok(());
            }
        }
        match RowKey::parse(table, key)? {
            RowKey::App(id) => {
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
            RowKey::AppVersion(id, version) => {
                let spec: AppDefinition = decode(table, key, bytes)?;
                self.app_versions
                    .entry(id)
                    .or_default()
                    .insert(version, Arc::new(spec));
            }
            RowKey::Group(id) => {
                self.groups.insert(id, decode(table, key, bytes)?);
            }
            RowKey::Instance(id) => {
                let instance: super::model::Instance = decode(table, key, bytes)?;
                if instance.id != id {
                    return Err(bad_key(table, key));
                }
                self.insert_instance(instance);
            }
            RowKey::Deployment(id) => {
                let deployment: super::model::Deployment = decode(table, key, bytes)?;
                if deployment.id != id {
                    return Err(bad_key(table, key));
                }
                self.insert_deployment(Arc::new(deployment));
            }
            RowKey::Job(id) => {
                self.jobs.insert(id, decode(table, key, bytes)?);
            }
            RowKey::JobRun(id) => {
                self.job_runs.insert(id, decode(table, key, bytes)?);
            }
            RowKey::Reservation(id) => {
                self.reservations.insert(id, decode(table, key, bytes)?);
            }
            RowKey::Settings => self.settings = decode(table, key, bytes)?,
            RowKey::AppFailures(id) => {
                self.app_failures.insert(id, decode(table, key, bytes)?);
            }
            RowKey::RootVersion(version) => {
                self.root_versions
                    .insert(version, decode(table, key, bytes)?);
            }
            RowKey::Request(id) => {
                let (position, response): (super::Position, Response) = decode(table, key, bytes)?;
                self.request_order.insert(position, id.clone());
                self.requests.insert(id, (position, response));
            }
        }
        Ok(())
    }

    /// Every row of the state, table by table (snapshots).
    pub fn rows(&self) -> Result<Vec<Row>, RowError> {
        let mut keys: Vec<RowKey> = Vec::new();
        keys.extend(self.app_versions.iter().flat_map(|(id, versions)| {
            versions.keys().map(|v| RowKey::AppVersion(id.clone(), *v))
        }));
        keys.extend(self.apps.keys().cloned().map(RowKey::App));
        keys.extend(self.groups.keys().cloned().map(RowKey::Group));
        keys.extend(self.instances.keys().cloned().map(RowKey::Instance));
        keys.extend(self.deployments.keys().cloned().map(RowKey::Deployment));
        keys.extend(self.jobs.keys().cloned().map(RowKey::Job));
        keys.extend(self.job_runs.keys().cloned().map(RowKey::JobRun));
        keys.extend(self.reservations.keys().cloned().map(RowKey::Reservation));
        keys.push(RowKey::Settings);
        keys.extend(self.requests.keys().cloned().map(RowKey::Request));
        keys.extend(self.app_failures.keys().cloned().map(RowKey::AppFailures));
        keys.extend(self.root_versions.keys().copied().map(RowKey::RootVersion));
        let mut rows = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(value) = self.row(&key)? {
                rows.push(Row {
                    table: key.table(),
                    key: key.text(),
                    value,
                });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_key_reads_back_from_its_text() {
        let web = PathId::parse("/prod/web", None).expect("path");
        let keys = [
            RowKey::App(web.clone()),
            RowKey::AppVersion(web.clone(), Timestamp(1_700_000_000_123)),
            RowKey::Group(PathId::parse("/prod", None).expect("path")),
            RowKey::Instance(InstanceId("prod_web.instance-1".into())),
            RowKey::Deployment(DeploymentId("d-1".into())),
            RowKey::Job(JobId("nightly".into())),
            RowKey::JobRun(JobRunId("nightly.run-1".into())),
            RowKey::Reservation(ReservationId("r-1".into())),
            RowKey::Settings,
            RowKey::Request(RequestId("req-1".into())),
            RowKey::AppFailures(web.clone()),
            RowKey::RootVersion(Timestamp(42)),
        ];
        for key in keys {
            let text = key.text();
            assert_eq!(
                RowKey::parse(key.table(), &text).expect("parses"),
                key,
                "{text}"
            );
        }
        // Version keys put the time first, zero-padded, so that they sort by time.
        assert_eq!(
            RowKey::AppVersion(web, Timestamp(7)).text(),
            "00000000000000000007@/prod/web"
        );
        assert_eq!(
            RowKey::RootVersion(Timestamp(7)).text(),
            "00000000000000000007@/"
        );
        assert!(RowKey::parse(Table::GroupVersions, "00000000000000000007@/prod").is_err());
    }

    #[test]
    fn group_version_rows_of_groups_below_the_root_are_skipped_at_load() {
        let mut state = State::default();
        // Rows of an earlier build: versions of `/prod`, whatever they hold, are not read.
        state
            .load_row(Table::GroupVersions, "00000000000000000007@/prod", b"\xc1")
            .expect("skipped");
        assert_eq!(
            state.rows().expect("rows").len(),
            1,
            "only the settings row"
        );
        assert!(
            state
                .load_row(Table::GroupVersions, "not-a-version", b"")
                .is_err()
        );
        // A root version is read (and here its bytes are no version).
        assert!(
            state
                .load_row(Table::GroupVersions, "00000000000000000007@/", b"\xc1")
                .is_err()
        );
    }
}
