//! `apply` of the group commands. Each makes a target for one subtree (an update resolved
//! against what is there, a scaled copy, an old version, or nothing), then `replace_subtree`
//! checks it, computes the plan, and commits the apps, groups, versions and deployment at once.

use super::plan::{self, Change};
use super::tree::World;
use super::{GroupNode, GroupUpdate, Subtree, within};
use crate::state::app::AppDefinition;
use crate::state::command::{Deploy, Outcome, PutMode, Rejection, Response};
use crate::state::deploy::AppChange;
use crate::state::events::Event;
use crate::state::ids::DeploymentId;
use crate::state::model::{GroupDeployment, GroupRecord};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Applied, State};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

impl State {
    /// `POST`/`PUT /v2/groups[/{id}]`: the group becomes what the update says, the rest kept.
    pub(in crate::state) fn put_group(
        &mut self,
        time: Timestamp,
        update: &GroupUpdate,
        mode: PutMode,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        let id = &update.id;
        if self.apps.contains_key(id) {
            return Err(Rejection::AppExists(id.clone()));
        }
        match (mode, self.group_exists(id)) {
            (PutMode::Create, true) => return Err(Rejection::GroupExists(id.clone())),
            (PutMode::Update, false) => return Err(Rejection::GroupNotFound(id.clone())),
            _ => {}
        }
        let mut groups = Vec::new();
        let mut apps = Vec::new();
        let top = self.resolve_update(update, &mut groups, &mut apps)?;
        let target = Subtree::normalized(top, groups, apps);
        self.replace_subtree(time, id, Some(target), deploy, applied)
    }

    /// `DELETE /v2/groups[/{id}]`: every app below stops, the groups go (root stays, empty).
    pub(in crate::state) fn delete_group(
        &mut self,
        time: Timestamp,
        id: &PathId,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        let Some(current) = self.subtree(id) else {
            return Err(Rejection::GroupNotFound(id.clone()));
        };
        let target = id.is_root().then(|| Subtree {
            top: current.top,
            groups: Vec::new(),
            apps: Vec::new(),
        });
        self.replace_subtree(time, id, target, deploy, applied)
    }

    /// `{"scaleBy": f}`: every app below gets `ceil(instances × f)` instances.
    pub(in crate::state) fn scale_group(
        &mut self,
        time: Timestamp,
        id: &PathId,
        factor: f64,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        if !factor.is_finite() || factor < 0.0 {
            return Err(Rejection::Invalid(format!(
                "scaleBy must be a non-negative number, not {factor}"
            )));
        }
        let Some(mut target) = self.subtree(id) else {
            return Err(Rejection::GroupNotFound(id.clone()));
        };
        for app in &mut target.apps {
            let mut spec = AppDefinition::clone(app);
            spec.instances = scaled(spec.instances, factor);
            *app = Arc::new(spec);
        }
        self.replace_subtree(time, id, Some(target), deploy, applied)
    }

    /// `{"version": v}`: the subtree becomes what it was at `version`.
    pub(in crate::state) fn rollback_group(
        &mut self,
        time: Timestamp,
        id: &PathId,
        version: Timestamp,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        let Some(old) = self.group_at(id, version) else {
            return Err(Rejection::GroupVersionNotFound(id.clone(), version));
        };
        let target = Subtree::clone(&old);
        self.replace_subtree(time, id, Some(target), deploy, applied)
    }

    /// The group node an update makes, pushing every group and app below it into the lists.
    fn resolve_update(
        &self,
        update: &GroupUpdate,
        groups: &mut Vec<GroupNode>,
        apps: &mut Vec<Arc<AppDefinition>>,
    ) -> Result<GroupNode, Rejection> {
        let id = &update.id;
        let current = self.groups.get(id);
        let node = GroupNode {
            id: id.clone(),
            dependencies: update
                .dependencies
                .clone()
                .or_else(|| current.map(|g| g.dependencies.clone()))
                .unwrap_or_default(),
            enforce_role: update
                .enforce_role
                .or_else(|| current.map(|g| g.enforce_role))
                .unwrap_or(false),
        };
        let below = |path: &PathId| {
            if id.is_ancestor_of(path) {
                Ok(())
            } else {
                Err(Rejection::Invalid(format!(
                    "{path} is not below the group {id}"
                )))
            }
        };
        match &update.apps {
            Some(list) => {
                for app in list {
                    below(&app.id)?;
                    apps.push(Arc::new(app.clone()));
                }
            }
            None => apps.extend(
                self.apps_under(id)
                    .filter(|a| a.spec.id.parent() == *id)
                    .map(|a| Arc::clone(&a.spec)),
            ),
        }
        match &update.groups {
            Some(list) => {
                for sub in list {
                    below(&sub.id)?;
                    let node = self.resolve_update(sub, groups, apps)?;
                    groups.push(node);
                }
            }
            None => {
                groups.extend(self.groups_below(id).map(GroupNode::of));
                apps.extend(
                    self.apps_under(id)
                        .filter(|a| a.spec.id.parent() != *id)
                        .map(|a| Arc::clone(&a.spec)),
                );
            }
        }
        Ok(node)
    }

    /// An app or group may not sit inside an app, nor an app where a group is.
    fn check_target(&self, id: &PathId, target: &Subtree) -> Result<(), Rejection> {
        let mut ancestor = id.parent();
        while !ancestor.is_root() {
            if self.apps.contains_key(&ancestor) {
                return Err(Rejection::Invalid(format!(
                    "Cannot create group {id} inside app {ancestor}: its parent must be a group"
                )));
            }
            ancestor = ancestor.parent();
        }
        let app_ids: BTreeSet<&PathId> = target.apps.iter().map(|a| &a.id).collect();
        let paths = target
            .groups
            .iter()
            .map(|g| &g.id)
            .chain(target.apps.iter().map(|a| &a.id));
        for path in paths {
            if !id.is_ancestor_of(path) {
                return Err(Rejection::Invalid(format!(
                    "{path} is not below the group {id}"
                )));
            }
            let mut parent = path.parent();
            while parent != *id && !parent.is_root() {
                if app_ids.contains(&parent) {
                    return Err(Rejection::Invalid(format!(
                        "{path} cannot be inside the app {parent}: its parent must be a group"
                    )));
                }
                parent = parent.parent();
            }
        }
        if let Some(g) = target.groups.iter().find(|g| app_ids.contains(&g.id)) {
            return Err(Rejection::Invalid(format!(
                "{} is both a group and an app",
                g.id
            )));
        }
        Ok(())
    }

    /// Replaces the subtree at `id` by `target` (`None`: the group goes too), deploying every
    /// app that changes in one deployment ordered by dependencies. Refused on a dependency cycle
    /// or a conflicting deployment (unless forced); nothing changes then.
    fn replace_subtree(
        &mut self,
        time: Timestamp,
        id: &PathId,
        target: Option<Subtree>,
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        if let Some(t) = &target {
            self.check_target(id, t)?;
        }
        let before: BTreeMap<PathId, Arc<AppDefinition>> = self
            .apps_under(id)
            .map(|a| (a.spec.id.clone(), Arc::clone(&a.spec)))
            .collect();
        let after: BTreeMap<PathId, Arc<AppDefinition>> = target
            .iter()
            .flat_map(|t| t.apps.iter())
            .map(|a| (a.id.clone(), Arc::clone(a)))
            .collect();
        let mut changes = Vec::new();
        for (app, old) in &before {
            if !after.contains_key(app) {
                changes.push(Change {
                    app: app.clone(),
                    kind: AppChange::Deleted,
                    instances: 0,
                });
            } else if let Some(new) = after.get(app) {
                let kind = if old == new {
                    AppChange::Unchanged
                } else if old.differs_only_in_scale(new) {
                    AppChange::Scaled
                } else {
                    AppChange::Reconfigured
                };
                changes.push(Change {
                    app: app.clone(),
                    kind,
                    instances: new.instances,
                });
            }
        }
        for (app, new) in &after {
            if !before.contains_key(app) {
                changes.push(Change {
                    app: app.clone(),
                    kind: AppChange::Created,
                    instances: new.instances,
                });
            }
        }
        let world = World {
            state: self,
            top: id,
            target: target.as_ref(),
            after: &after,
        };
        // Marathon checks the whole resulting tree: a group's new dependencies can close a
        // cycle through apps that do not change.
        let every_app: Vec<PathId> = self
            .apps
            .iter()
            .map(|(app, _)| app)
            .filter(|app| !within(id, app))
            .chain(after.keys())
            .cloned()
            .collect();
        plan::layers(&every_app, &|app| world.depends_on(app))
            .map_err(|cycle| Rejection::Invalid(cycle.to_string()))?;
        let steps = plan::steps(&changes, &|app| world.depends_on(app))
            .map_err(|cycle| Rejection::Invalid(cycle.to_string()))?;
        let affected: Vec<&Change> = changes
            .iter()
            .filter(|c| c.kind != AppChange::Unchanged)
            .collect();
        let locks = self.group_locks(&affected, deploy)?;
        let group = GroupDeployment {
            id: id.clone(),
            before: self.group_nodes(id),
        };

        let version = self.next_group_version(id, time);
        self.cancel_deployments(&locks, applied);
        for c in &affected {
            if c.kind == AppChange::Deleted {
                self.remove_app_inner(&c.app, applied);
            }
        }
        self.commit_groups(id, target.as_ref(), &affected, version, applied);
        for c in &affected {
            if let Some(spec) = after.get(&c.app) {
                self.put_app_inner(time, spec, applied);
            }
        }
        let original = affected
            .iter()
            .map(|c| (c.app.clone(), before.get(&c.app).cloned()))
            .collect();
        applied.events.push(Event::GroupChanged {
            id: id.clone(),
            version,
        });
        self.start_group_deployment(deploy, version, original, steps, Some(group), applied);
        Ok(Outcome::Group {
            id: id.clone(),
            version,
            deployment: deploy.id.clone(),
        })
    }

    /// The deployments holding any affected app: refused unless forced.
    fn group_locks(
        &self,
        affected: &[&Change],
        deploy: &Deploy,
    ) -> Result<Vec<DeploymentId>, Rejection> {
        let mut locks: Vec<DeploymentId> = Vec::new();
        for c in affected {
            for lock in self.check_locks(&c.app, deploy)? {
                if !locks.contains(&lock) {
                    locks.push(lock);
                }
            }
        }
        if self.deployments.contains_key(&deploy.id) {
            return Err(Rejection::Invalid(format!(
                "deployment {} already exists",
                deploy.id
            )));
        }
        Ok(locks)
    }

    /// A version newer than every version the subtree's groups have (clocks may step back).
    pub(super) fn next_group_version(&self, id: &PathId, time: Timestamp) -> Timestamp {
        let newest = self
            .groups
            .get(id)
            .into_iter()
            .chain(self.groups_below(id))
            .map(|g| g.version)
            .max();
        match newest {
            Some(v) if v >= time => Timestamp(v.0 + 1),
            _ => time,
        }
    }

    /// Makes the groups at and below `id` those of `target`; a group whose subtree changed
    /// (its record, a group or an app below it) gets a new record at `version`.
    fn commit_groups(
        &mut self,
        id: &PathId,
        target: Option<&Subtree>,
        affected: &[&Change],
        version: Timestamp,
        applied: &mut Applied,
    ) {
        let nodes: BTreeMap<&PathId, &GroupNode> = target
            .iter()
            .flat_map(|t| std::iter::once(&t.top).chain(&t.groups))
            .map(|g| (&g.id, g))
            .collect();
        let mut changed: Vec<PathId> = affected.iter().map(|c| c.app.clone()).collect();
        if target.is_some() {
            // A group command always makes a new version of the group it names.
            changed.push(id.clone());
        }
        let existing: Vec<PathId> = self
            .groups
            .get(id)
            .into_iter()
            .chain(self.groups_below(id))
            .map(|g| g.id.clone())
            .collect();
        for gone in existing.iter().filter(|g| !nodes.contains_key(g)) {
            self.write_group(gone, None, applied);
            changed.push(gone.clone());
        }
        if target.is_some() {
            self.create_missing_groups(&id.parent(), version, applied);
        }
        for (gid, node) in &nodes {
            let same = self.groups.get(*gid).is_some_and(|g| {
                g.dependencies == node.dependencies && g.enforce_role == node.enforce_role
            });
            if !same {
                changed.push((*gid).clone());
            }
        }
        let changed_groups: BTreeSet<PathId> = nodes
            .keys()
            .filter(|g| changed.iter().any(|c| within(g, c)))
            .map(|g| (*g).clone())
            .collect();
        for gid in nodes.keys().filter(|g| changed_groups.contains(**g)) {
            let node = nodes[gid];
            let previous = self.groups.get(*gid);
            let created = previous.is_none();
            let record = GroupRecord {
                id: (*gid).clone(),
                dependencies: node.dependencies.clone(),
                enforce_role: node.enforce_role,
                revision: previous.map_or(1, |g| g.revision + 1),
                version,
            };
            self.write_group(gid, Some(record), applied);
            if created {
                applied
                    .events
                    .push(Event::GroupCreated { id: (*gid).clone() });
            }
        }
    }
}

/// `ceil(instances × factor)`, as Marathon scales a group.
fn scaled(instances: u32, factor: f64) -> u32 {
    let n = (f64::from(instances) * factor).ceil();
    if n >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        n as u32
    }
}
