//! `apply` for each command: validate against the current state, then change it and say which
//! rows changed. A refused command returns before touching anything.

use super::app::AppDefinition;
use super::command::{
    Command, Deploy, Outcome, PutMode, Rejection, Request, Response, StatusEffect,
};
use super::deploy::AppChange;
use super::events::Event;
use super::ids::{FrameworkId, InstanceId};
use super::model::{
    AppRecord, Condition, Goal, GroupRecord, Instance, ObservedStatus, StatusReport, VersionInfo,
};
use super::path::PathId;
use super::rows::RowKey;
use super::time::Timestamp;
use super::{Applied, MAX_APP_VERSIONS, State};
use std::sync::Arc;

impl State {
    pub(super) fn apply_command(&mut self, request: &Request, applied: &mut Applied) -> Response {
        match &request.command {
            Command::PutApp {
                app,
                expected_revision,
                mode,
                deploy,
            } => self.put_app(
                request.time,
                app,
                *expected_revision,
                *mode,
                deploy,
                applied,
            ),
            Command::DeleteApp {
                id,
                expected_revision,
                deploy,
            } => self.delete_app(request.time, id, *expected_revision, deploy, applied),
            Command::AdvanceDeployment { id, step } => self.advance_deployment(id, *step, applied),
            Command::CancelDeployment { id } => {
                if !self.deployments.contains_key(id) {
                    return Err(Rejection::DeploymentNotFound(id.clone()));
                }
                self.cancel_deployment(id, applied);
                Ok(Outcome::DeploymentCancelled { id: id.clone() })
            }
            Command::RollbackDeployment { id, deploy } => {
                self.rollback_deployment(request.time, id, deploy, applied)
            }
            Command::ResetLaunchDelay { app } => {
                if !self.apps.contains_key(app) {
                    return Err(Rejection::AppNotFound(app.clone()));
                }
                if self.app_failures.remove(app).is_some() {
                    applied.touched.push(RowKey::AppFailures(app.clone()));
                }
                Ok(Outcome::LaunchDelayReset { app: app.clone() })
            }
            Command::SetFrameworkId { id } => self.set_framework_id(id, applied),
            Command::ProvisionInstance { instance } => {
                self.provision_instance(request.time, instance, applied)
            }
            Command::RecordStatus { report } => self.record_status(request.time, report, applied),
            Command::SetInstanceGoal { id, goal } => self.set_instance_goal(id, *goal, applied),
            Command::RestartApp { id, deploy } => {
                self.restart_app(request.time, id, deploy, applied)
            }
            Command::KillInstances { ids, scale } => {
                self.kill_instances(request.time, ids, scale.as_ref(), applied)
            }
            Command::RequestTeardown { framework_id } => {
                self.request_teardown(framework_id, applied)
            }
            Command::ForgetFramework { framework_id } => {
                self.forget_framework(framework_id, applied)
            }
            Command::PutApps {
                apps,
                expected_revisions,
                deploy,
            } => self.put_apps(request.time, apps, expected_revisions, deploy, applied),
            Command::MarkUnreachableInactive { id } => {
                self.expire_unreachable(request.time, id, false, applied)
            }
            Command::ExpungeUnreachable { id } => {
                self.expire_unreachable(request.time, id, true, applied)
            }
            Command::PutGroup {
                update,
                mode,
                deploy,
            } => self.put_group(request.time, update, *mode, deploy, applied),
            Command::DeleteGroup { id, deploy } => {
                self.delete_group(request.time, id, deploy, applied)
            }
            Command::ScaleGroup { id, factor, deploy } => {
                self.scale_group(request.time, id, *factor, deploy, applied)
            }
            Command::RollbackGroup {
                id,
                version,
                deploy,
            } => self.rollback_group(request.time, id, *version, deploy, applied),
            Command::RecordHealth { updates } => self.record_health(updates, applied),
            Command::KillUnhealthy {
                instance,
                task,
                reason,
            } => self.kill_unhealthy(request.time, instance, task, reason, applied),
            Command::MarkReady {
                instance,
                task,
                response,
            } => self.mark_ready(instance, task, response.as_ref(), applied),
        }
    }

    fn put_app(
        &mut self,
        time: Timestamp,
        spec: &Arc<AppDefinition>,
        expected_revision: Option<u64>,
        mode: PutMode,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        let id = &spec.id;
        let existing = self.apps.get(id);
        let actual = existing.map_or(0, |a| a.revision);
        if let Some(expected) = expected_revision
            && expected != actual
        {
            return Err(Rejection::RevisionConflict {
                id: id.to_string(),
                expected,
                actual,
            });
        }
        match (mode, existing) {
            (PutMode::Create, Some(_)) => return Err(Rejection::AppExists(id.clone())),
            (PutMode::Update, None) => return Err(Rejection::AppNotFound(id.clone())),
            _ => {}
        }
        if existing.is_none() {
            self.check_app_placement(id)?;
        }
        let locks = self.check_locks(id, deploy)?;
        let (record, original, change) = self.put_app_inner(time, spec, applied);
        self.cancel_deployments(&locks, applied);
        let steps = change.steps(id, spec.instances);
        self.start_deployment(
            deploy,
            record.version,
            vec![(id.clone(), original)],
            steps,
            applied,
        );
        Ok(Outcome::App {
            app: record,
            created: change == AppChange::Created,
            deployment: deploy.id.clone(),
        })
    }

    /// Stores `spec` as the app's new version (checks done); returns the record, the app as it
    /// was, and what kind of change this is.
    pub(super) fn put_app_inner(
        &mut self,
        time: Timestamp,
        spec: &Arc<AppDefinition>,
        applied: &mut Applied,
    ) -> (AppRecord, Option<Arc<AppDefinition>>, AppChange) {
        let id = &spec.id;
        let existing = self.apps.get(id);
        // Versions must grow even if the leader's clock stepped back across a failover.
        let version = match existing {
            Some(prev) if prev.version >= time => Timestamp(prev.version.0 + 1),
            _ => time,
        };
        let original = existing.map(|e| Arc::clone(&e.spec));
        let change = match &original {
            None => AppChange::Created,
            Some(prev) if prev == spec => AppChange::Unchanged,
            Some(prev) if prev.differs_only_in_scale(spec) => AppChange::Scaled,
            Some(_) => AppChange::Reconfigured,
        };
        let (record, event) = match existing {
            None => {
                let record = AppRecord {
                    spec: Arc::clone(spec),
                    revision: 1,
                    version,
                    version_info: VersionInfo {
                        last_scaling_at: version,
                        last_config_change_at: version,
                    },
                };
                (record.clone(), Event::AppCreated { app: record })
            }
            Some(prev) => {
                let scaled_only = change == AppChange::Scaled;
                let record = AppRecord {
                    spec: Arc::clone(spec),
                    revision: prev.revision + 1,
                    version,
                    version_info: VersionInfo {
                        last_scaling_at: version,
                        last_config_change_at: if scaled_only {
                            prev.version_info.last_config_change_at
                        } else {
                            version
                        },
                    },
                };
                (
                    record.clone(),
                    Event::AppUpdated {
                        app: record,
                        scaled_only,
                    },
                )
            }
        };
        if change == AppChange::Created {
            self.create_missing_groups(&id.parent(), version, applied);
        }
        self.write_app(id, Some(record.clone()), applied);
        self.remember_version(id, version, &record.spec, applied);
        applied.events.push(event);
        if change == AppChange::Reconfigured && self.app_failures.remove(id).is_some() {
            // A new version launches without the old one's backoff.
            applied.touched.push(RowKey::AppFailures(id.clone()));
        }
        (record, original, change)
    }

    /// An app may not sit where a group is, nor inside another app.
    pub(super) fn check_app_placement(&self, id: &PathId) -> Result<(), Rejection> {
        if self.groups.contains_key(id) {
            return Err(Rejection::Invalid(format!(
                "A group with id [{id}] already exists, an app cannot have the same id"
            )));
        }
        let mut parent = id.parent();
        while !parent.is_root() {
            if self.apps.contains_key(&parent) {
                return Err(Rejection::Invalid(format!(
                    "Cannot create app {id} inside app {parent}: its parent must be a group"
                )));
            }
            parent = parent.parent();
        }
        Ok(())
    }

    pub(super) fn create_missing_groups(
        &mut self,
        group: &PathId,
        version: Timestamp,
        applied: &mut Applied,
    ) {
        let mut missing = Vec::new();
        let mut g = group.clone();
        while !g.is_root() && !self.groups.contains_key(&g) {
            missing.push(g.clone());
            g = g.parent();
        }
        for id in missing.into_iter().rev() {
            let record = GroupRecord {
                id: id.clone(),
                dependencies: Vec::new(),
                enforce_role: false,
                revision: 1,
                version,
            };
            self.write_group(&id, Some(record), applied);
            applied.events.push(Event::GroupCreated { id });
        }
    }

    pub(super) fn remember_version(
        &mut self,
        id: &PathId,
        version: Timestamp,
        spec: &Arc<AppDefinition>,
        applied: &mut Applied,
    ) {
        let versions = self.app_versions.entry(id.clone()).or_default();
        versions.insert(version, Arc::clone(spec));
        applied
            .touched
            .push(RowKey::AppVersion(id.clone(), version));
        while versions.len() > MAX_APP_VERSIONS {
            let Some(&(old, _)) = versions.get_min() else {
                break;
            };
            versions.remove(&old);
            applied.touched.push(RowKey::AppVersion(id.clone(), old));
        }
    }

    fn delete_app(
        &mut self,
        time: Timestamp,
        id: &PathId,
        expected_revision: Option<u64>,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        let Some(existing) = self.apps.get(id) else {
            return Err(Rejection::AppNotFound(id.clone()));
        };
        if let Some(expected) = expected_revision
            && expected != existing.revision
        {
            return Err(Rejection::RevisionConflict {
                id: id.to_string(),
                expected,
                actual: existing.revision,
            });
        }
        let revision = existing.revision;
        let original = Arc::clone(&existing.spec);
        let locks = self.check_locks(id, deploy)?;
        self.remove_app_inner(id, applied);
        self.cancel_deployments(&locks, applied);
        let steps = AppChange::Deleted.steps(id, 0);
        self.start_deployment(
            deploy,
            time,
            vec![(id.clone(), Some(original))],
            steps,
            applied,
        );
        Ok(Outcome::AppDeleted {
            id: id.clone(),
            revision,
            version: time,
            deployment: deploy.id.clone(),
        })
    }

    /// Removes an app (checks done): its versions and failures go, its instances are
    /// decommissioned (each is expunged when its task's end is recorded).
    pub(super) fn remove_app_inner(&mut self, id: &PathId, applied: &mut Applied) {
        self.write_app(id, None, applied);
        let versions = self.app_versions.remove(id).unwrap_or_default();
        for version in versions.keys() {
            applied
                .touched
                .push(RowKey::AppVersion(id.clone(), *version));
        }
        if self.app_failures.remove(id).is_some() {
            applied.touched.push(RowKey::AppFailures(id.clone()));
        }
        let orphans: Vec<InstanceId> = self
            .instances_of(id)
            .filter(|i| i.goal != Goal::Decommissioned)
            .map(|i| i.id.clone())
            .collect();
        for instance in orphans {
            self.change_instance(&instance, applied, |i| i.goal = Goal::Decommissioned);
        }
        applied.events.push(Event::AppDeleted { id: id.clone() });
    }

    /// The framework id is written once; a different id later means a second framework, which a
    /// leader must never silently adopt.
    fn set_framework_id(&mut self, id: &FrameworkId, applied: &mut Applied) -> Response {
        match &self.settings.framework_id {
            Some(current) if current == id => Ok(Outcome::FrameworkId { id: id.clone() }),
            Some(current) => Err(Rejection::Invalid(format!(
                "framework id is already {current}; refusing to replace it with {id}"
            ))),
            None => {
                self.settings.framework_id = Some(id.clone());
                self.settings.revision += 1;
                applied.touched.push(RowKey::Settings);
                applied
                    .events
                    .push(Event::FrameworkIdStored { id: id.clone() });
                Ok(Outcome::FrameworkId { id: id.clone() })
            }
        }
    }
}

impl State {
    fn provision_instance(
        &mut self,
        time: Timestamp,
        instance: &Instance,
        applied: &mut Applied,
    ) -> Response {
        if !self.apps.contains_key(&instance.app) {
            return Err(Rejection::AppNotFound(instance.app.clone()));
        }
        if self.instances.contains_key(&instance.id) {
            return Err(Rejection::Invalid(format!(
                "instance {} already exists",
                instance.id
            )));
        }
        let record = Instance {
            observed: None,
            provisioned_at: time,
            revision: 1,
            ..instance.clone()
        };
        self.insert_instance(record.clone());
        applied.touched.push(RowKey::Instance(record.id.clone()));
        let id = record.id.clone();
        applied.events.push(Event::InstanceChanged {
            instance: Box::new(record),
        });
        Ok(Outcome::InstanceProvisioned { id })
    }

    fn record_status(
        &mut self,
        time: Timestamp,
        report: &StatusReport,
        applied: &mut Applied,
    ) -> Response {
        let effect = |instance: Option<&InstanceId>, effect| {
            Ok(Outcome::Status {
                instance: instance.cloned(),
                effect,
            })
        };
        let Some((id, _)) = report.task_id.instance() else {
            return effect(None, StatusEffect::UnknownTask);
        };
        let Some(instance) = self.instances.get(&id) else {
            return effect(None, StatusEffect::UnknownTask);
        };
        if instance.task_id() != report.task_id {
            return effect(Some(&id), StatusEffect::Stale);
        }
        let previous = instance.observed.as_ref();
        let condition = previous.map_or(report.condition, |p| p.condition_after(report.condition));
        let duplicate = previous.is_some_and(|p| p.repeated_by(report));
        if duplicate {
            return effect(Some(&id), StatusEffect::Duplicate);
        }
        if report.condition.is_terminal() {
            let app = instance.app.clone();
            let mut last = Instance::clone(instance);
            last.observed = Some(ObservedStatus {
                condition: report.condition,
                task_id: report.task_id.clone(),
                status_uuid: report.status_uuid.clone(),
                message: report.message.clone(),
                reason: report.reason.clone(),
                healthy: report.healthy,
                since: time,
                updated_at: time,
            });
            if report.condition.is_failure() {
                self.record_failure(time, Instance::clone(instance), report, applied);
            }
            self.remove_instance(&id);
            applied.touched.push(RowKey::Instance(id.clone()));
            applied.events.push(Event::InstanceExpunged {
                id: id.clone(),
                app,
                condition: report.condition,
                last: Some(Box::new(last)),
            });
            return effect(Some(&id), StatusEffect::Expunged);
        }
        let since = match previous {
            Some(prev) if prev.condition == condition => prev.since,
            _ => time,
        };
        let observed = ObservedStatus {
            condition,
            updated_at: time,
            task_id: report.task_id.clone(),
            status_uuid: report.status_uuid.clone(),
            message: report.message.clone(),
            reason: report.reason.clone(),
            healthy: report.healthy,
            since,
        };
        let agent = report.agent.clone();
        self.change_instance(&id, applied, |i| {
            i.observed = Some(observed);
            if agent.is_some() {
                i.agent = agent;
            }
        });
        self.record_reported_health(time, report, applied);
        effect(Some(&id), StatusEffect::Recorded)
    }

    fn set_instance_goal(
        &mut self,
        id: &InstanceId,
        goal: Goal,
        applied: &mut Applied,
    ) -> Response {
        let Some(instance) = self.instances.get(id) else {
            return Err(Rejection::Invalid(format!("instance {id} does not exist")));
        };
        if instance.goal != goal {
            self.change_instance(id, applied, |i| i.goal = goal);
        }
        Ok(Outcome::InstanceGoal {
            id: id.clone(),
            goal,
        })
    }

    /// Refused unless `id` is the stored framework id: an operator names what they destroy.
    fn check_framework(&self, id: &FrameworkId) -> Result<(), Rejection> {
        match &self.settings.framework_id {
            Some(current) if current == id => Ok(()),
            Some(current) => Err(Rejection::Invalid(format!(
                "the framework is {current}, not {id}"
            ))),
            None => Err(Rejection::Invalid(
                "no framework is registered with Mesos yet".to_string(),
            )),
        }
    }

    fn request_teardown(&mut self, id: &FrameworkId, applied: &mut Applied) -> Response {
        self.check_framework(id)?;
        if !self.settings.teardown_requested {
            self.settings.teardown_requested = true;
            self.settings.revision += 1;
            applied.touched.push(RowKey::Settings);
            applied
                .events
                .push(Event::FrameworkTeardownRequested { id: id.clone() });
        }
        Ok(Outcome::TeardownRequested {
            framework_id: id.clone(),
        })
    }

    fn forget_framework(&mut self, id: &FrameworkId, applied: &mut Applied) -> Response {
        self.check_framework(id)?;
        let gone: Vec<Instance> = self.instances().cloned().collect();
        for instance in &gone {
            self.remove_instance(&instance.id);
            applied.touched.push(RowKey::Instance(instance.id.clone()));
            applied.events.push(Event::InstanceExpunged {
                id: instance.id.clone(),
                app: instance.app.clone(),
                condition: Condition::Killed,
                last: Some(Box::new(instance.clone())),
            });
        }
        self.settings.framework_id = None;
        self.settings.teardown_requested = false;
        self.settings.revision += 1;
        applied.touched.push(RowKey::Settings);
        applied
            .events
            .push(Event::FrameworkForgotten { id: id.clone() });
        Ok(Outcome::FrameworkForgotten {
            framework_id: id.clone(),
            instances: gone.len(),
        })
    }

    /// Changes an instance that exists, bumps its revision and records the row and the event.
    pub(super) fn change_instance(
        &mut self,
        id: &InstanceId,
        applied: &mut Applied,
        change: impl FnOnce(&mut Instance),
    ) {
        let Some(instance) = self.instance_mut(id) else {
            return;
        };
        change(instance);
        instance.revision += 1;
        let record = instance.clone();
        applied.touched.push(RowKey::Instance(id.clone()));
        applied.events.push(Event::InstanceChanged {
            instance: Box::new(record),
        });
    }
}
