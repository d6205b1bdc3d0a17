//! The app commands: put and delete one app, and the steps other commands share to store or
//! remove an app, its versions and its groups.

use crate::state::app::AppDefinition;
use crate::state::command::{Deploy, Outcome, PutMode, Rejection, Response};
use crate::state::deploy::AppChange;
use crate::state::events::Event;
use crate::state::ids::InstanceId;
use crate::state::model::{AppRecord, Goal, GroupRecord, VersionInfo};
use crate::state::path::PathId;
use crate::state::rows::RowKey;
use crate::state::time::Timestamp;
use crate::state::{Applied, MAX_APP_VERSIONS, State};
use std::sync::Arc;

impl State {
    pub(super) fn put_app(
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
    pub(in crate::state) fn put_app_inner(
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
    pub(in crate::state) fn check_app_placement(&self, id: &PathId) -> Result<(), Rejection> {
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

    pub(in crate::state) fn create_missing_groups(
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

    pub(in crate::state) fn remember_version(
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

    pub(super) fn delete_app(
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
    pub(in crate::state) fn remove_app_inner(&mut self, id: &PathId, applied: &mut Applied) {
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
}
