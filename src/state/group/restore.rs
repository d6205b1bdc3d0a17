//! The group half of rolling back a group command's deployment (`DELETE /v2/deployments/{id}`):
//! the apps go back through the deployment's `original`, the groups through the nodes it kept
//! of the subtree as it was, so the subtree is again what it was before (dependencies, and
//! whether each group exists).

use super::GroupNode;
use crate::state::model::{GroupDeployment, GroupRecord};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Applied, Event, State};
use std::collections::BTreeSet;

impl State {
    /// The group at `id` and every group below it, as nodes; `None` when no group is there.
    pub(in crate::state) fn group_nodes(&self, id: &PathId) -> Option<Vec<GroupNode>> {
        if !self.group_exists(id) {
            return None;
        }
        let top = self
            .groups
            .get(id)
            .map_or_else(|| GroupNode::empty(id), GroupNode::of);
        Some(
            std::iter::once(top)
                .chain(self.groups_below(id).map(GroupNode::of))
                .collect(),
        )
    }

    /// Puts the groups at and below `change.id` back as they were before it (the apps are
    /// already back): groups it made go once nothing is in them, groups it removed or changed
    /// get their records back.
    pub(in crate::state) fn restore_groups(
        &mut self,
        time: Timestamp,
        change: &GroupDeployment,
        applied: &mut Applied,
    ) {
        let id = &change.id;
        let version = self.next_group_version(id, time);
        let before: BTreeSet<&PathId> = change.before.iter().flatten().map(|g| &g.id).collect();
        let now: Vec<PathId> = self
            .groups
            .get(id)
            .into_iter()
            .chain(self.groups_below(id))
            .map(|g| g.id.clone())
            .collect();
        // Deepest first, so a parent is empty once its new children went.
        for gid in now.iter().rev() {
            if gid.is_root() || before.contains(gid) {
                continue;
            }
            let empty =
                self.apps_under(gid).next().is_none() && self.groups_below(gid).next().is_none();
            if empty {
                self.write_group(gid, None, applied);
            }
        }
        for node in change.before.iter().flatten() {
            let current = self.groups.get(&node.id);
            let same = current.is_some_and(|g| {
                g.dependencies == node.dependencies && g.enforce_role == node.enforce_role
            });
            let implicit_root =
                node.id.is_root() && current.is_none() && node.dependencies.is_empty();
            // An app that took the group's place meanwhile stays (as for apps, Marathon's
            // revert keeps the changes made since).
            if same || implicit_root || self.apps.contains_key(&node.id) {
                continue;
            }
            self.create_missing_groups(&node.id.parent(), version, applied);
            let created = self.groups.get(&node.id).is_none();
            let record = GroupRecord {
                id: node.id.clone(),
                dependencies: node.dependencies.clone(),
                enforce_role: node.enforce_role,
                revision: self.groups.get(&node.id).map_or(1, |g| g.revision + 1),
                version,
            };
            self.write_group(&node.id, Some(record), applied);
            if created {
                applied.events.push(Event::GroupCreated {
                    id: node.id.clone(),
                });
            }
        }
    }
}
