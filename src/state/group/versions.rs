//! Bounded group versions. Every command that changes an app or a group makes a new version of
//! each group at and above the change, up to the root (Marathon makes a new root group, with a
//! version, on every write, `/v2/apps` included). A version keeps only what its change replaced,
//! so recording one costs what the change touched, never the whole tree; the subtree of a
//! version is rebuilt on read from the group as it is now by undoing every newer version.

use super::{GroupNode, MAX_GROUP_VERSIONS, Subtree, within};
use crate::state::app::AppDefinition;
use crate::state::model::{AppRecord, GroupRecord};
use crate::state::path::PathId;
use crate::state::rows::{Table, version_key};
use crate::state::time::Timestamp;
use crate::state::{Applied, State};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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

impl Subtree {
    /// Takes back one change: what it replaced is put back.
    fn undo(&mut self, replaced: &Replaced) {
        for (path, before) in &replaced.replaced_apps {
            match (self.apps.binary_search_by(|a| a.id.cmp(path)), before) {
                (Ok(i), Some(spec)) => self.apps[i] = Arc::clone(spec),
                (Ok(i), None) => {
                    self.apps.remove(i);
                }
                (Err(i), Some(spec)) => self.apps.insert(i, Arc::clone(spec)),
                (Err(_), None) => {}
            }
        }
        for (path, before) in &replaced.replaced_groups {
            if *path == self.top.id {
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
        applied.touched.push((Table::Apps, id.to_string()));
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
        applied.touched.push((Table::Groups, id.to_string()));
    }

    /// The stored versions of a group, oldest first.
    pub fn group_versions(&self, id: &PathId) -> Vec<Timestamp> {
        self.versions_of(id).map(|(v, _)| v).collect()
    }

    fn versions_of<'a>(
        &'a self,
        id: &PathId,
    ) -> impl DoubleEndedIterator<Item = (Timestamp, &'a GroupVersion)> + 'a {
        self.group_versions
            .range((id.clone(), Timestamp(i64::MIN))..=(id.clone(), Timestamp(i64::MAX)))
            .map(|((_, v), entry)| (*v, entry))
    }

    /// The group's newest version, if it has any stored.
    pub(super) fn newest_group_version(&self, id: &PathId) -> Option<Timestamp> {
        self.versions_of(id).next_back().map(|(v, _)| v)
    }

    /// The group's subtree as it was at `version`: the group now, each newer change undone
    /// (newest first).
    pub fn group_at(&self, id: &PathId, version: Timestamp) -> Option<Arc<Subtree>> {
        match self.group_versions.get(&(id.clone(), version))? {
            GroupVersion::Subtree(subtree) => return Some(Arc::clone(subtree)),
            GroupVersion::Change(_) => {}
        }
        let mut newer: Vec<&Replaced> = Vec::new();
        let mut base = None;
        for (v, entry) in self.versions_of(id) {
            if v <= version {
                continue;
            }
            match entry {
                GroupVersion::Change(replaced) => newer.push(replaced),
                GroupVersion::Subtree(subtree) => {
                    base = Some(Subtree::clone(subtree));
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

    /// After a command changed apps or groups (`applied.replaced`): a new version of every
    /// group at or above a change that exists now, each keeping what the change replaced below
    /// it; the oldest beyond the bound go.
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
        let mut tops: BTreeSet<PathId> = changed_groups.keys().cloned().collect();
        for path in changed_apps.keys().chain(changed_groups.keys()) {
            let mut group = path.clone();
            while !group.is_root() {
                group = group.parent();
                tops.insert(group.clone());
            }
        }
        for top in tops {
            if !self.group_exists(&top) {
                continue;
            }
            let replaced = Replaced {
                replaced_apps: changed_apps
                    .iter()
                    .filter(|(a, _)| top.is_ancestor_of(a))
                    .map(|(a, before)| (a.clone(), before.clone()))
                    .collect(),
                replaced_groups: changed_groups
                    .iter()
                    .filter(|(g, _)| within(&top, g))
                    .map(|(g, before)| (g.clone(), before.clone()))
                    .collect(),
            };
            // Versions of one group only grow, whatever the clock did.
            let v = match self.newest_group_version(&top) {
                Some(newest) if newest >= version => Timestamp(newest.0 + 1),
                _ => version,
            };
            self.group_versions
                .insert((top.clone(), v), GroupVersion::Change(Arc::new(replaced)));
            applied
                .touched
                .push((Table::GroupVersions, version_key(&top, v)));
            let beyond: Vec<Timestamp> = self
                .versions_of(&top)
                .rev()
                .skip(MAX_GROUP_VERSIONS)
                .map(|(v, _)| v)
                .collect();
            for old in &beyond {
                self.group_versions.remove(&(top.clone(), *old));
                applied
                    .touched
                    .push((Table::GroupVersions, version_key(&top, *old)));
            }
        }
    }

    pub(super) fn forget_group_versions(&mut self, id: &PathId, applied: &mut Applied) {
        for version in self.group_versions(id) {
            self.group_versions.remove(&(id.clone(), version));
            applied
                .touched
                .push((Table::GroupVersions, version_key(id, version)));
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
