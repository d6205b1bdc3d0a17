//! The replicated model: everything that must survive a failover, and the deterministic `apply`
//! that changes it. No I/O, no clock, no randomness: the leader stamps what a command needs.
//!
//! The maps are persistent (`imbl`), so cloning a `State` is O(1): the store publishes a fresh
//! clone after every applied batch, readers work on it without locks, and snapshots serialise it
//! in the background while `apply` goes on.

pub mod app;
mod apply;
mod batch;
mod bulk;
pub mod command;
mod deploy;
pub mod events;
pub mod group;
pub mod health;
pub mod ids;
pub mod model;
pub mod path;
mod rows;
pub mod time;
pub mod unreachable;

pub use batch::Batch;
pub use command::{Command, Deploy, Outcome, PutMode, Rejection, Request, Response, StatusEffect};
pub use events::{AppliedEvent, Event};
pub use rows::{Row, RowError, RowKey, Table};

use app::AppDefinition;
use ids::{DeploymentId, InstanceId, JobId, JobRunId, RequestId, ReservationId};
use imbl::{OrdMap, OrdSet};
use model::{
    AppFailures, AppRecord, ClusterSettings, Deployment, GroupRecord, Instance, JobRecord, JobRun,
    Reservation,
};
use path::PathId;
use std::sync::Arc;
use time::Timestamp;

/// How many versions of one app are kept (Marathon's `--zk_max_versions`).
pub const MAX_APP_VERSIONS: usize = 50;
/// How many idempotency keys are remembered; a retry older than this many keyed commands is
/// applied afresh.
pub const MAX_REMEMBERED_REQUESTS: usize = 10_000;

/// The whole replicated state.
#[derive(Clone, Debug, Default)]
pub struct State {
    apps: OrdMap<PathId, AppRecord>,
    /// Each app's stored versions, by app: a write adds one to a small map and trims its
    /// oldest, instead of two changes to one map of every app's versions.
    app_versions: OrdMap<PathId, AppVersions>,
    groups: OrdMap<PathId, GroupRecord>,
    /// The root group's versions, the newest `group::MAX_GROUP_VERSIONS`: every group's
    /// versions are among them (`group/versions.rs`).
    root_versions: OrdMap<Timestamp, group::GroupVersion>,
    instances: OrdMap<InstanceId, Arc<Instance>>,
    /// The instances of each app: an index over `instances`, kept by `insert_instance` and
    /// `remove_instance` (never persisted; rebuilt as rows load).
    app_instances: OrdSet<(PathId, InstanceId)>,
    /// Shared so that copying a B-tree node on write copies pointers, not whole plans.
    deployments: OrdMap<DeploymentId, Arc<Deployment>>,
    /// The deployments of each app: an index over `deployments`, kept by `insert_deployment`
    /// and `remove_deployment` (never persisted; rebuilt as rows load).
    app_deployments: OrdSet<(PathId, DeploymentId)>,
    jobs: OrdMap<JobId, JobRecord>,
    job_runs: OrdMap<JobRunId, JobRun>,
    reservations: OrdMap<ReservationId, Reservation>,
    settings: ClusterSettings,
    /// Launch failures per app (backoff, `lastTaskFailure`); gone when the app is.
    app_failures: OrdMap<PathId, AppFailures>,
    /// Idempotency memory: key → (position, first response).
    requests: OrdMap<RequestId, (Position, Response)>,
    /// The same keys by position, to forget the oldest first.
    request_order: OrdMap<Position, RequestId>,
}

/// One app's stored versions (at most [`MAX_APP_VERSIONS`]), oldest first.
type AppVersions = OrdMap<Timestamp, Arc<AppDefinition>>;

/// Where a request sits in the log: the entry's index and its slot in the entry's batch.
pub type Position = (u64, u32);

/// What applying one command did: the caller's answer, the events, and the rows to persist.
#[derive(Debug, Default)]
pub struct Applied {
    pub events: Vec<Event>,
    pub touched: Vec<RowKey>,
    /// Each app and group the command changed, as it was before (`None`: it did not exist):
    /// what the group versions record.
    replaced: group::Changed,
}

impl State {
    pub fn app(&self, id: &PathId) -> Option<&AppRecord> {
        self.apps.get(id)
    }

    /// Every app, in path order.
    pub fn apps(&self) -> impl Iterator<Item = &AppRecord> {
        self.apps.values()
    }

    pub fn app_count(&self) -> usize {
        self.apps.len()
    }

    /// The apps at or below `group`, in path order.
    pub fn apps_under<'a>(&'a self, group: &'a PathId) -> impl Iterator<Item = &'a AppRecord> {
        // Every id starting with the group's is contiguous from it, `/a-b` between `/a` and
        // `/a/b` included; only those at or below the group are kept.
        self.apps
            .range(group.clone()..)
            .take_while(move |(id, _)| id.as_str().starts_with(group.as_str()))
            .filter(move |(id, _)| *id == group || group.is_ancestor_of(id))
            .map(|(_, app)| app)
    }

    /// The stored versions of an app, oldest first.
    pub fn app_versions(&self, id: &PathId) -> Vec<Timestamp> {
        self.versions_of_app(id).map(|(v, _)| v).collect()
    }

    /// Every stored version of app `id`, oldest first.
    pub fn app_version_specs<'a>(
        &'a self,
        id: &PathId,
    ) -> impl Iterator<Item = &'a Arc<AppDefinition>> + 'a {
        self.versions_of_app(id).map(|(_, spec)| spec)
    }

    /// App `id`'s stored versions with their definitions, oldest first.
    fn versions_of_app<'a>(
        &'a self,
        id: &PathId,
    ) -> impl DoubleEndedIterator<Item = (Timestamp, &'a Arc<AppDefinition>)> + 'a {
        self.app_versions
            .get(id)
            .into_iter()
            .flat_map(|versions| versions.iter().map(|(v, spec)| (*v, spec)))
    }

    pub fn app_version(&self, id: &PathId, version: Timestamp) -> Option<&Arc<AppDefinition>> {
        self.app_versions.get(id)?.get(&version)
    }

    pub fn group(&self, id: &PathId) -> Option<&GroupRecord> {
        self.groups.get(id)
    }

    pub fn groups(&self) -> impl Iterator<Item = &GroupRecord> {
        self.groups.values()
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values().map(|i| &**i)
    }

    pub fn instance(&self, id: &InstanceId) -> Option<&Instance> {
        self.instances.get(id).map(|i| &**i)
    }

    /// Whether recording `report` would change nothing: it names the instance's current task
    /// and repeats its last observation.
    pub fn repeats_observation(&self, report: &model::StatusReport) -> bool {
        report.task_id.instance().is_some_and(|(id, _)| {
            self.instance(&id).is_some_and(|i| {
                i.task_id() == report.task_id
                    && i.observed.as_ref().is_some_and(|o| o.repeated_by(report))
            })
        })
    }

    /// One instance to change: copied first if a reader still shares it.
    fn instance_mut(&mut self, id: &InstanceId) -> Option<&mut Instance> {
        self.instances.get_mut(id).map(Arc::make_mut)
    }

    /// The instances of one app, in id order.
    pub fn instances_of<'a>(&'a self, app: &'a PathId) -> impl Iterator<Item = &'a Instance> {
        let from = (app.clone(), InstanceId(String::new().into()));
        self.app_instances
            .range(from..)
            .take_while(move |(a, _)| a == app)
            .filter_map(|(_, id)| self.instances.get(id).map(|i| &**i))
    }

    fn insert_instance(&mut self, instance: Instance) {
        self.app_instances
            .insert((instance.app.clone(), instance.id.clone()));
        self.instances
            .insert(instance.id.clone(), Arc::new(instance));
    }

    fn remove_instance(&mut self, id: &InstanceId) -> Option<Arc<Instance>> {
        let removed = self.instances.remove(id)?;
        self.app_instances
            .remove(&(removed.app.clone(), id.clone()));
        Some(removed)
    }

    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.values().map(|d| &**d)
    }

    pub fn deployment(&self, id: &DeploymentId) -> Option<&Deployment> {
        self.deployments.get(id).map(|d| &**d)
    }

    /// The deployments that affect `app`, in id order.
    pub fn deployments_of<'a>(&'a self, app: &'a PathId) -> impl Iterator<Item = &'a Deployment> {
        let from = (app.clone(), DeploymentId(String::new().into()));
        self.app_deployments
            .range(from..)
            .take_while(move |(a, _)| a == app)
            .filter_map(|(_, id)| self.deployment(id))
    }

    fn insert_deployment(&mut self, deployment: Arc<Deployment>) {
        if let Some(old) = self.deployments.get(&deployment.id).cloned() {
            self.unindex_deployment(&old);
        }
        for app in &deployment.affected_apps {
            self.app_deployments
                .insert((app.clone(), deployment.id.clone()));
        }
        self.deployments.insert(deployment.id.clone(), deployment);
    }

    fn remove_deployment(&mut self, id: &DeploymentId) -> Option<Arc<Deployment>> {
        let removed = self.deployments.remove(id)?;
        self.unindex_deployment(&removed);
        Some(removed)
    }

    fn unindex_deployment(&mut self, deployment: &Deployment) {
        for app in &deployment.affected_apps {
            self.app_deployments
                .remove(&(app.clone(), deployment.id.clone()));
        }
    }

    pub fn app_failures(&self, app: &PathId) -> Option<&AppFailures> {
        self.app_failures.get(app)
    }

    pub fn jobs(&self) -> impl Iterator<Item = &JobRecord> {
        self.jobs.values()
    }

    pub fn job_runs(&self) -> impl Iterator<Item = &JobRun> {
        self.job_runs.values()
    }

    pub fn reservations(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.values()
    }

    pub fn settings(&self) -> &ClusterSettings {
        &self.settings
    }

    /// Applies one request at `position`. Deterministic: the same state and request give the
    /// same response, events and rows on every node.
    pub fn apply(&mut self, position: Position, request: &Request) -> (Response, Applied) {
        let mut applied = Applied::default();
        if let Some(key) = &request.request_id
            && let Some((_, first)) = self.requests.get(key)
        {
            return (first.clone(), applied);
        }
        let response = self.apply_command(request, &mut applied);
        if response.is_ok() {
            self.record_group_versions(request.time, &mut applied);
        }
        if let Some(key) = &request.request_id {
            self.remember_request(position, key.clone(), response.clone(), &mut applied);
        }
        (response, applied)
    }

    fn remember_request(
        &mut self,
        position: Position,
        key: RequestId,
        response: Response,
        applied: &mut Applied,
    ) {
        self.requests.insert(key.clone(), (position, response));
        self.request_order.insert(position, key.clone());
        applied.touched.push(RowKey::Request(key.clone()));
        while self.request_order.len() > MAX_REMEMBERED_REQUESTS {
            let Some((oldest, old_key)) = self.request_order.get_min().cloned() else {
                break;
            };
            self.request_order.remove(&oldest);
            self.requests.remove(&old_key);
            applied.touched.push(RowKey::Request(old_key.clone()));
        }
    }
}

#[cfg(test)]
mod tests;
