//! Bounded group versions, kept as Marathon keeps them: as versions of the root group. Every
//! command that changes an app or a group makes one new root version (Marathon makes a new root
//! group on every write, `/v2/apps` included), and a group's versions are the root versions whose
//! change reached at or below it. A version keeps only what its change replaced, so recording one
//! costs what the change touched, never the whole tree; the subtree of a group at a version is
//! rebuilt on read from the group as it is now by undoing, below the group, every newer change.
//!
//! One root version per write, not one per group above the change: a write three groups deep
//! used to store (and encode) what it replaced four times, which was half of what an app write
//! cost each node (ARCHITECTURE.md, session 8).

use super::{GroupNode, MAX_GROUP_VERSIONS, Subtree, within};
use crate::state::app::AppDefinition;
use crate::state::model::{AppRecord, GroupRecord};
use crate::state::path::PathId;
use crate::state::rows::RowKey;
use crate::state::time::Timestamp;
use crate::state::{Applied, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// One stored version of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GroupVersion {
    /// What the change that made this version replaced below the group.
    Change(Arc<Replaced>),
    /// A whole subtree, as earlier builds stored every version; served as is.
    Subtree(Arc<Subtree>),
}

/// The apps and groups one command changed, each as it was before the command (`None`: it did
/// not exist), noted as the command writes them.
#[derive(Debug, Default)]
pub(in crate::state) struct Changed {
    apps: BTreeMap<PathId, Option<Arc<AppDefinition>>>,
    groups: BTreeMap<PathId, Option<GroupNode>>,
}

/// What one command replaced at and below a group: each app and group it touched there, as it
/// was before (`None`: it did not exist).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replaced {
    pub replaced_apps: Vec<(PathId, Option<Arc<AppDefinition>>)>,
    pub replaced_groups: Vec<(PathId, Option<GroupNode>)>,
}

impl Replaced {
    /// The replaced apps below group `id`.
    fn apps_below<'a>(
        &'a self,
        id: &'a PathId,
    ) -> impl Iterator<Item = &'a (PathId, Option<Arc<AppDefinition>>)> + 'a {
        self.replaced_apps
            .iter()
            .filter(move |(a, _)| id.is_ancestor_of(a))
    }

    /// The replaced groups at or below group `id`.
    fn groups_within<'a>(
        &'a self,
        id: &'a PathId,
    ) -> impl Iterator<Item = &'a (PathId, Option<GroupNode>)> + 'a {
        self.replaced_groups
            .iter()
            .filter(move |(g, _)| within(id, g))
    }
}

impl GroupVersion {
    /// Whether this root version is a version of group `id`: its change reached at or below it.
    fn touches(&self, id: &PathId) -> bool {
        if id.is_root() {
            return true;
        }
        match self {
            GroupVersion::Change(replaced) => {
                replaced.apps_below(id).next().is_some()
                    || replaced.groups_within(id).next().is_some()
            }
            // A whole root stored by an earlier build: a version of every group it held.
            GroupVersion::Subtree(root) => root.groups.iter().any(|g| g.id == *id),
        }
    }
}

impl Subtree {
    /// Takes back, below `self.top`, one change: what it replaced there is put back.
    fn undo(&mut self, replaced: &Replaced) {
        let top = self.top.id.clone();
        for (path, before) in replaced.apps_below(&top) {
            match (self.apps.binary_search_by(|a| a.id.cmp(path)), before) {
                (Ok(i), Some(spec)) => self.apps[i] = Arc::clone(spec),
                (Ok(i), None) => {
                    self.apps.remove(i);
                }
                (Err(i), Some(spec)) => self.apps.insert(i, Arc::clone(spec)),
                (Err(_), None) => {}
            }
        }
        for (path, before) in replaced.groups_within(&top) {
            if *path == top {
                if let Some(node) = before {
                    self.top = node.clone();
                }
                continue;
            }
            match (self.groups.binary_search_by(|g| g.id.cmp(path)), before) {
                (Ok(i), Some(node)) => self.groups[i] = node.clone(),
                (Ok(i), None) => {
                    self.groups.remove(i);
                }
                (Err(i), Some(node)) => self.groups.insert(i, node.clone()),
                (Err(_), None) => {}
            }
        }
    }

    /// The part of a whole root at and below group `id` (which it holds).
    fn below(&self, id: &PathId) -> Subtree {
        if *id == self.top.id {
            return self.clone();
        }
        Subtree {
            top: self
                .groups
                .iter()
                .find(|g| g.id == *id)
                .cloned()
                .unwrap_or_else(|| GroupNode::empty(id)),
            groups: self
                .groups
                .iter()
                .filter(|g| id.is_ancestor_of(&g.id))
                .cloned()
                .collect(),
            apps: self
                .apps
                .iter()
                .filter(|a| id.is_ancestor_of(&a.id))
                .cloned()
                .collect(),
        }
    }
}

impl State {
    /// Sets app `id` to `record` (`None`: removes it) and marks its row written, noting what
    /// it replaced for the group versions.
    pub(in crate::state) fn write_app(
        &mut self,
        id: &PathId,
        record: Option<AppRecord>,
        applied: &mut Applied,
    ) {
        let before = match record {
            Some(record) => self.apps.insert(id.clone(), record),
            None => self.apps.remove(id),
        };
        applied
            .replaced
            .apps
            .entry(id.clone())
            .or_insert_with(|| before.map(|r| r.spec));
        applied.touched.push(RowKey::App(id.clone()));
    }

    /// Sets group `id` to `record` (`None`: removes it) and marks its row written, noting what
    /// it replaced for the group versions.
    pub(in crate::state) fn write_group(
        &mut self,
        id: &PathId,
        record: Option<GroupRecord>,
        applied: &mut Applied,
    ) {
        let before = match record {
            Some(record) => self.groups.insert(id.clone(), record),
            None => self.groups.remove(id),
        };
        applied
            .replaced
            .groups
            .entry(id.clone())
            .or_insert_with(|| before.as_ref().map(GroupNode::of));
        applied.touched.push(RowKey::Group(id.clone()));
    }

    /// The stored versions of a group, oldest first; none for a group that does not exist.
    pub fn group_versions(&self, id: &PathId) -> Vec<Timestamp> {
        if !self.group_exists(id) {
            return Vec::new();
        }
        self.root_versions
            .iter()
            .filter(|(_, entry)| entry.touches(id))
            .map(|(v, _)| *v)
            .collect()
    }

    /// The group's newest stored version, if it has any.
    pub(super) fn newest_group_version(&self, id: &PathId) -> Option<Timestamp> {
        self.root_versions
            .iter()
            .rev()
            .find(|(_, entry)| entry.touches(id))
            .map(|(v, _)| *v)
    }

    /// The group's subtree as it was at `version`, one of its versions: the group now, each
    /// newer change undone below it (newest first).
    pub fn group_at(&self, id: &PathId, version: Timestamp) -> Option<Arc<Subtree>> {
        let entry = self.root_versions.get(&version)?;
        if !entry.touches(id) {
            return None;
        }
        if let GroupVersion::Subtree(root) = entry {
            return Some(Arc::new(root.below(id)));
        }
        let mut newer: Vec<&Replaced> = Vec::new();
        let mut base = None;
        for (_, entry) in self
            .root_versions
            .range((Bound::Excluded(version), Bound::Unbounded))
        {
            match entry {
                GroupVersion::Change(replaced) => newer.push(replaced),
                GroupVersion::Subtree(root) => {
                    base = Some(root.below(id));
                    break;
                }
            }
        }
        let mut subtree = match base {
            Some(s) => s,
            None => self.subtree(id)?,
        };
        for replaced in newer.iter().rev() {
            subtree.undo(replaced);
        }
        Some(Arc::new(subtree))
    }

    /// After a command changed apps or groups (`applied.replaced`): a new root version keeping
    /// what the command replaced; the oldest beyond the bound go.
    pub(in crate::state) fn record_group_versions(
        &mut self,
        time: Timestamp,
        applied: &mut Applied,
    ) {
        let Changed {
            apps: changed_apps,
            groups: changed_groups,
        } = std::mem::take(&mut applied.replaced);
        if changed_apps.is_empty() && changed_groups.is_empty() {
            return;
        }
        // The newest record the command wrote, so that the groups' version is the app's.
        let mut version = time;
        for app in changed_apps.keys() {
            if let Some(record) = self.apps.get(app) {
                version = version.max(record.version);
            }
        }
        for group in changed_groups.keys() {
            if let Some(record) = self.groups.get(group) {
                version = version.max(record.version);
            }
        }
        // Versions only grow, whatever the clock did.
        let v = match self.root_versions.get_max() {
            Some(&(newest, _)) if newest >= version => Timestamp(newest.0 + 1),
            _ => version,
        };
        let replaced = Replaced {
            replaced_apps: changed_apps.into_iter().collect(),
            replaced_groups: changed_groups.into_iter().collect(),
        };
        self.root_versions
            .insert(v, GroupVersion::Change(Arc::new(replaced)));
        applied.touched.push(RowKey::RootVersion(v));
        while self.root_versions.len() > MAX_GROUP_VERSIONS {
            let Some(&(oldest, _)) = self.root_versions.get_min() else {
                break;
            };
            self.root_versions.remove(&oldest);
            applied.touched.push(RowKey::RootVersion(oldest));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_subtree_stored_by_an_earlier_build_still_loads() {
        let root = PathId::root();
        let subtree = Subtree {
            top: GroupNode::empty(&root),
            groups: Vec::new(),
            apps: Vec::new(),
        };
        let bytes = rmp_serde::to_vec_named(&subtree).expect("encodes");
        let loaded: GroupVersion = rmp_serde::from_slice(&bytes).expect("decodes");
        assert_eq!(loaded, GroupVersion::Subtree(Arc::new(subtree)));
        let change = GroupVersion::Change(Arc::new(Replaced {
            replaced_apps: Vec::new(),
            replaced_groups: vec![(root.clone(), None)],
        }));
        let bytes = rmp_serde::to_vec_named(&change).expect("encodes");
        let loaded: GroupVersion = rmp_serde::from_slice(&bytes).expect("decodes");
        assert_eq!(loaded, change);
    }
}
