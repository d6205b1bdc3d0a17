//! Deployments in `apply`: every app change commits its plan in the same command, locks its apps
//! (a conflicting change is refused unless forced, which cancels the holder), and is advanced
//! step by step by the leader's deployment service; cancel and rollback; restarts and kills
//! (optionally scaling down); launch failures.

use super::command::{Deploy, Outcome, Rejection, Response};
use super::events::Event;
use super::ids::{DeploymentId, InstanceId};
use super::model::{
    AppFailures, AppRecord, Deployment, DeploymentAction, DeploymentStep, Goal, GroupDeployment,
    Instance, StatusReport, TaskFailure, VersionInfo,
};
use super::path::PathId;
use super::rows::RowKey;
use super::time::Timestamp;
use super::{Applied, State};
use crate::state::app::AppDefinition;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a change does to one app, which decides its deployment steps (Marathon's
/// `DeploymentPlan`: a new app starts then scales; a scale-only change scales; any other change
/// restarts; a deleted app stops).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AppChange {
    Created,
    Scaled,
    Reconfigured,
    Unchanged,
    Deleted,
}

impl AppChange {
    pub(super) fn steps(self, app: &PathId, instances: u32) -> Vec<DeploymentStep> {
        let step = |action| DeploymentStep {
            actions: vec![action],
        };
        let app = app.clone();
        match self {
            AppChange::Created => vec![
                step(DeploymentAction::StartApplication { app: app.clone() }),
                step(DeploymentAction::ScaleApplication { app, instances }),
            ],
            AppChange::Scaled => vec![step(DeploymentAction::ScaleApplication { app, instances })],
            AppChange::Reconfigured => vec![step(DeploymentAction::RestartApplication { app })],
            AppChange::Unchanged => Vec::new(),
            AppChange::Deleted => vec![step(DeploymentAction::StopApplication { app })],
        }
    }
}

impl State {
    /// The deployments holding `app`; refused unless the change is forced (then the caller
    /// cancels them once its own checks passed).
    pub(super) fn check_locks(
        &self,
        app: &PathId,
        deploy: &Deploy,
    ) -> Result<Vec<DeploymentId>, Rejection> {
        let locks: Vec<DeploymentId> = self.deployments_of(app).map(|d| d.id.clone()).collect();
        if !locks.is_empty() && !deploy.force {
            return Err(Rejection::AppLocked {
                app: app.clone(),
                deployments: locks,
            });
        }
        if self.deployments.contains_key(&deploy.id) {
            return Err(Rejection::Invalid(format!(
                "deployment {} already exists",
                deploy.id
            )));
        }
        Ok(locks)
    }

    pub(super) fn cancel_deployments(&mut self, ids: &[DeploymentId], applied: &mut Applied) {
        for id in ids {
            self.cancel_deployment(id, applied);
        }
    }

    pub(super) fn cancel_deployment(&mut self, id: &DeploymentId, applied: &mut Applied) {
        if let Some(deployment) = self.remove_deployment(id) {
            applied.touched.push(RowKey::Deployment(id.clone()));
            let group = deployment
                .group
                .as_ref()
                .map(|g| (g.id.clone(), deployment.version));
            applied.events.push(Event::DeploymentCancelled {
                id: id.clone(),
                group,
            });
        }
    }

    /// Stores a new deployment (none when there is nothing to do: Marathon's empty plan
    /// succeeds at once).
    pub(super) fn start_deployment(
        &mut self,
        deploy: &Deploy,
        version: Timestamp,
        original: Vec<(PathId, Option<Arc<AppDefinition>>)>,
        steps: Vec<DeploymentStep>,
        applied: &mut Applied,
    ) {
        self.start_group_deployment(deploy, version, original, steps, None, applied);
    }

    /// `start_deployment` of a group command, which also remembers the group's state before.
    pub(super) fn start_group_deployment(
        &mut self,
        deploy: &Deploy,
        version: Timestamp,
        original: Vec<(PathId, Option<Arc<AppDefinition>>)>,
        steps: Vec<DeploymentStep>,
        group: Option<GroupDeployment>,
        applied: &mut Applied,
    ) {
        let deployment = Deployment {
            id: deploy.id.clone(),
            version,
            affected_apps: original.iter().map(|(id, _)| id.clone()).collect(),
            steps,
            current_step: 0,
            original,
            revision: 1,
            group,
        };
        if deployment.steps.is_empty() {
            applied.events.push(Event::DeploymentSucceeded {
                deployment: Box::new(deployment),
            });
            return;
        }
        applied
            .touched
            .push(RowKey::Deployment(deployment.id.clone()));
        applied.events.push(Event::DeploymentStarted {
            deployment: Box::new(deployment.clone()),
        });
        self.insert_deployment(Arc::new(deployment));
    }

    /// Idempotent: only the step the deployment is on advances it.
    pub(super) fn advance_deployment(
        &mut self,
        id: &DeploymentId,
        step: usize,
        applied: &mut Applied,
    ) -> Response {
        let Some(deployment) = self.deployments.get_mut(id).map(Arc::make_mut) else {
            return Err(Rejection::DeploymentNotFound(id.clone()));
        };
        if deployment.current_step != step {
            return Ok(Outcome::DeploymentAdvanced {
                id: id.clone(),
                finished: false,
            });
        }
        deployment.current_step += 1;
        deployment.revision += 1;
        let snapshot = Box::new(deployment.clone());
        applied.touched.push(RowKey::Deployment(id.clone()));
        applied.events.push(Event::DeploymentStepSucceeded {
            deployment: snapshot.clone(),
            step,
        });
        let finished = snapshot.current_step >= snapshot.steps.len();
        if finished {
            self.remove_deployment(id);
            applied.events.push(Event::DeploymentSucceeded {
                deployment: snapshot,
            });
        }
        Ok(Outcome::DeploymentAdvanced {
            id: id.clone(),
            finished,
        })
    }

    /// Cancels `id` and deploys each app it affected back to what it was before it (Marathon's
    /// revert: other changes made since stay), forced over whatever else holds those apps; a
    /// group command's deployment puts its groups back too.
    pub(super) fn rollback_deployment(
        &mut self,
        time: Timestamp,
        id: &DeploymentId,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        let Some(deployment) = self.deployments.get(id).map(Arc::clone) else {
            return Err(Rejection::DeploymentNotFound(id.clone()));
        };
        if self.deployments.contains_key(&deploy.id) {
            return Err(Rejection::Invalid(format!(
                "deployment {} already exists",
                deploy.id
            )));
        }
        let mut holders: Vec<DeploymentId> = Vec::new();
        for app in &deployment.affected_apps {
            for d in self.deployments_of(app) {
                if !holders.contains(&d.id) {
                    holders.push(d.id.clone());
                }
            }
        }
        // A group command's rollback is a group change too: what it replaces, for its own
        // events and rollback.
        let group = deployment.group.as_ref().map(|g| GroupDeployment {
            id: g.id.clone(),
            before: self.group_nodes(&g.id),
        });
        self.cancel_deployments(&holders, applied);
        let mut original = Vec::new();
        let mut steps: Vec<DeploymentStep> = Vec::new();
        for (app, before) in &deployment.original {
            let now = self.apps.get(app).map(|r| Arc::clone(&r.spec));
            let change = match (&now, before) {
                (None, None) => continue,
                (Some(_), None) => {
                    self.remove_app_inner(app, applied);
                    AppChange::Deleted
                }
                (_, Some(spec)) => {
                    if self.apps.get(app).is_none() && self.check_app_placement(app).is_err() {
                        // A group took its place meanwhile: it cannot come back there.
                        continue;
                    }
                    self.put_app_inner(time, spec, applied).2
                }
            };
            original.push((app.clone(), now));
            let instances = before.as_ref().map_or(0, |s| s.instances);
            for (i, step) in change.steps(app, instances).into_iter().enumerate() {
                match steps.get_mut(i) {
                    Some(s) => s.actions.extend(step.actions),
                    None => steps.push(step),
                }
            }
        }
        if let Some(change) = &deployment.group {
            self.restore_groups(time, change, applied);
        }
        self.start_group_deployment(deploy, time, original, steps, group, applied);
        Ok(Outcome::DeploymentRolledBack {
            id: id.clone(),
            rollback: deploy.id.clone(),
            version: time,
        })
    }

    /// Stores the app's definition again as a new version that counts as a configuration
    /// change (Marathon's `markedForRestarting`), and starts its rolling restart.
    pub(super) fn restart_app(
        &mut self,
        time: Timestamp,
        id: &PathId,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        let Some(prev) = self.apps.get(id) else {
            return Err(Rejection::AppNotFound(id.clone()));
        };
        let locks = self.check_locks(id, deploy)?;
        // Versions must grow even if the leader's clock stepped back across a failover.
        let version = if prev.version >= time {
            Timestamp(prev.version.0 + 1)
        } else {
            time
        };
        let record = AppRecord {
            spec: Arc::clone(&prev.spec),
            revision: prev.revision + 1,
            version,
            version_info: VersionInfo {
                last_scaling_at: version,
                last_config_change_at: version,
            },
        };
        self.write_app(id, Some(record.clone()), applied);
        self.remember_version(id, version, &record.spec, applied);
        applied.events.push(Event::AppUpdated {
            app: record.clone(),
            scaled_only: false,
        });
        if self.app_failures.remove(id).is_some() {
            // A new version launches without the old one's backoff.
            applied.touched.push(RowKey::AppFailures(id.clone()));
        }
        self.cancel_deployments(&locks, applied);
        let steps = AppChange::Reconfigured.steps(id, record.spec.instances);
        let original = vec![(id.clone(), Some(Arc::clone(&record.spec)))];
        self.start_deployment(deploy, version, original, steps, applied);
        Ok(Outcome::App {
            app: record,
            created: false,
            deployment: deploy.id.clone(),
        })
    }

    /// Decommissions the named instances that exist. With `scale`, each app loses as many
    /// `instances` as it had of them meant to run, in one deployment with a scale action per
    /// app (refused while a deployment holds one of them, unless forced).
    pub(super) fn kill_instances(
        &mut self,
        time: Timestamp,
        ids: &[InstanceId],
        scale: Option<&Deploy>,
        applied: &mut Applied,
    ) -> Response {
        let mut unique: Vec<&InstanceId> = Vec::new();
        for id in ids {
            if self.instances.contains_key(id) && !unique.contains(&id) {
                unique.push(id);
            }
        }
        let mut running_per_app: BTreeMap<PathId, u32> = BTreeMap::new();
        for instance in unique.iter().filter_map(|id| self.instances.get(*id)) {
            if instance.goal == Goal::Running && self.apps.contains_key(&instance.app) {
                *running_per_app.entry(instance.app.clone()).or_default() += 1;
            }
        }
        let mut locks: Vec<DeploymentId> = Vec::new();
        if let Some(deploy) = scale {
            if self.deployments.contains_key(&deploy.id) {
                return Err(Rejection::Invalid(format!(
                    "deployment {} already exists",
                    deploy.id
                )));
            }
            for app in running_per_app.keys() {
                for lock in self.check_locks(app, deploy)? {
                    if !locks.contains(&lock) {
                        locks.push(lock);
                    }
                }
            }
        }
        let mut killed = Vec::with_capacity(unique.len());
        for id in unique {
            if self
                .instances
                .get(id)
                .is_some_and(|i| i.goal != Goal::Decommissioned)
            {
                self.change_instance(id, applied, |i| i.goal = Goal::Decommissioned);
            }
            if let Some(instance) = self.instances.get(id) {
                killed.push(Instance::clone(instance));
            }
        }
        let scaled = scale.map(|deploy| {
            self.cancel_deployments(&locks, applied);
            let mut original = Vec::new();
            let mut actions = Vec::new();
            let mut version = time;
            for (app, count) in running_per_app {
                let Some(record) = self.apps.get(&app) else {
                    continue;
                };
                let mut spec = AppDefinition::clone(&record.spec);
                spec.instances = spec.instances.saturating_sub(count);
                let instances = spec.instances;
                let (record, before, _) = self.put_app_inner(time, &Arc::new(spec), applied);
                version = version.max(record.version);
                original.push((app.clone(), before));
                actions.push(DeploymentAction::ScaleApplication { app, instances });
            }
            let steps = if actions.is_empty() {
                Vec::new()
            } else {
                vec![DeploymentStep { actions }]
            };
            self.start_deployment(deploy, version, original, steps, applied);
            (deploy.id.clone(), version)
        });
        Ok(Outcome::InstancesKilled { killed, scaled })
    }

    /// Counts a failed launch of an instance that was meant to run (backoff, lastTaskFailure).
    pub(super) fn record_failure(
        &mut self,
        time: Timestamp,
        instance: Instance,
        report: &StatusReport,
        applied: &mut Applied,
    ) {
        if instance.goal != Goal::Running || !self.apps.contains_key(&instance.app) {
            return;
        }
        let consecutive = self
            .app_failures
            .get(&instance.app)
            .map_or(0, |f| f.consecutive)
            .saturating_add(1);
        let failures = AppFailures {
            consecutive,
            last_at: time,
            last: TaskFailure {
                task_id: report.task_id.clone(),
                condition: report.condition,
                message: report.message.clone(),
                host: instance.hostname.clone(),
                agent: instance.agent.clone(),
                app_version: instance.app_version,
            },
        };
        applied
            .touched
            .push(RowKey::AppFailures(instance.app.clone()));
        self.app_failures.insert(instance.app, failures);
    }
}
