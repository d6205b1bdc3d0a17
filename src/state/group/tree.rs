//! The tree a group change leads to: a target subtree made whole (sorted, deduplicated, every
//! implied group present), and the dependency graph of the app tree after the change, which
//! orders the plan.

use super::{GroupNode, Subtree, within};
use crate::state::State;
use crate::state::app::AppDefinition;
use crate::state::path::PathId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

impl Subtree {
    /// Sorted, without duplicates (a later entry wins), with every group an app or group
    /// implies present.
    pub(super) fn normalized(
        top: GroupNode,
        groups: Vec<GroupNode>,
        apps: Vec<Arc<AppDefinition>>,
    ) -> Subtree {
        let mut app_map: BTreeMap<PathId, Arc<AppDefinition>> = BTreeMap::new();
        for app in apps {
            app_map.insert(app.id.clone(), app);
        }
        let mut group_map: BTreeMap<PathId, GroupNode> = BTreeMap::new();
        for g in groups {
            group_map.insert(g.id.clone(), g);
        }
        let implied: Vec<PathId> = group_map
            .keys()
            .chain(app_map.keys())
            .flat_map(|p| {
                let mut out = Vec::new();
                let mut parent = p.parent();
                while top.id.is_ancestor_of(&parent) {
                    out.push(parent.clone());
                    parent = parent.parent();
                }
                out
            })
            .collect();
        for g in implied {
            group_map
                .entry(g.clone())
                .or_insert_with(|| GroupNode::empty(&g));
        }
        Subtree {
            top,
            groups: group_map.into_values().collect(),
            apps: app_map.into_values().collect(),
        }
    }
}

/// The app tree as it will be after a change: the subtree at `top` from the target, the rest
/// from the state.
pub(super) struct World<'a> {
    pub state: &'a State,
    pub top: &'a PathId,
    pub target: Option<&'a Subtree>,
    pub after: &'a BTreeMap<PathId, Arc<AppDefinition>>,
}

impl World<'_> {
    fn app(&self, id: &PathId) -> Option<&AppDefinition> {
        if within(self.top, id) {
            self.after.get(id).map(Arc::as_ref)
        } else {
            self.state.app(id).map(|a| a.spec.as_ref())
        }
    }

    fn group_dependencies(&self, id: &PathId) -> Vec<PathId> {
        if within(self.top, id) {
            self.target
                .and_then(|t| {
                    std::iter::once(&t.top)
                        .chain(&t.groups)
                        .find(|g| g.id == *id)
                })
                .map(|g| g.dependencies.clone())
                .unwrap_or_default()
        } else {
            self.state
                .group(id)
                .map(|g| g.dependencies.clone())
                .unwrap_or_default()
        }
    }

    fn apps_within(&self, path: &PathId) -> Vec<PathId> {
        let mut out: Vec<PathId> = self
            .state
            .apps_under(path)
            .map(|a| &a.spec.id)
            .filter(|a| !within(self.top, a))
            .cloned()
            .collect();
        out.extend(self.after.keys().filter(|a| within(path, a)).cloned());
        out
    }

    /// The apps `app` depends on: its own dependencies and those of every group above it,
    /// each a path naming the apps at or below it.
    pub(super) fn depends_on(&self, app: &PathId) -> Vec<PathId> {
        let Some(spec) = self.app(app) else {
            return Vec::new();
        };
        let mut paths = spec.dependencies.clone();
        let mut group = app.parent();
        loop {
            paths.extend(self.group_dependencies(&group));
            if group.is_root() {
                break;
            }
            group = group.parent();
        }
        let mut deps: BTreeSet<PathId> = BTreeSet::new();
        for path in &paths {
            deps.extend(self.apps_within(path).into_iter().filter(|a| a != app));
        }
        deps.into_iter().collect()
    }
}
