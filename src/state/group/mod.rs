//! Groups: the tree the apps' path ids form, as Marathon's `/v2/groups` sees it. A group exists
//! implicitly (the parent of an app) or explicitly (created empty); it carries `dependencies`
//! that every app below it inherits. Group commands replace a whole subtree in one command and
//! deploy every app they change in one deployment, stepped by dependency order (`plan.rs`);
//! every change (through `/v2/apps` too) makes a new version of the root, kept bounded, and a
//! group's versions for `/versions` and rollback are those that changed it (`versions.rs`).

mod apply;
pub mod parse;
mod plan;
mod restore;
mod tree;
mod versions;

pub use plan::Cycle;
pub(in crate::state) use versions::Changed;
pub use versions::{GroupVersion, Replaced};

use super::State;
use super::app::AppDefinition;
use super::command::{Command, Deploy, Request};
use super::model::{DeploymentStep, GroupRecord};
use super::path::PathId;
use super::time::Timestamp;
use super::{Event, Rejection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How many root versions are kept (as for apps, Marathon's `--zk_max_versions`).
pub const MAX_GROUP_VERSIONS: usize = 50;

/// A requested change of one group, as a client sent it: a field that is `None` keeps what the
/// group has (its own apps, its subgroups, its dependencies); a present one replaces it.
/// App ids are absolute and below `id` (the parser resolves relative ones).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupUpdate {
    pub id: PathId,
    pub dependencies: Option<Vec<PathId>>,
    pub enforce_role: Option<bool>,
    /// The group's apps; apps of the group not listed are removed.
    pub apps: Option<Vec<AppDefinition>>,
    /// The group's subgroups, each updated in turn; subgroups not listed are removed.
    pub groups: Option<Vec<GroupUpdate>>,
}

/// One group of a subtree, without its contents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupNode {
    pub id: PathId,
    pub dependencies: Vec<PathId>,
    pub enforce_role: bool,
}

/// A whole subtree: the group at its top, every group below it, every app below it. What a
/// group command makes the subtree into, and what a group version records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subtree {
    pub top: GroupNode,
    /// Every group strictly below `top`, in path order.
    pub groups: Vec<GroupNode>,
    /// Every app below `top`, in path order.
    pub apps: Vec<Arc<AppDefinition>>,
}

impl GroupNode {
    pub(super) fn of(record: &GroupRecord) -> GroupNode {
        GroupNode {
            id: record.id.clone(),
            dependencies: record.dependencies.clone(),
            enforce_role: record.enforce_role,
        }
    }

    pub(super) fn empty(id: &PathId) -> GroupNode {
        GroupNode {
            id: id.clone(),
            dependencies: Vec::new(),
            enforce_role: false,
        }
    }
}

/// Whether `path` is `top` or below it.
pub(crate) fn within(top: &PathId, path: &PathId) -> bool {
    top == path || top.is_ancestor_of(path)
}

impl State {
    /// Whether a group exists at `id` (root always does).
    pub fn group_exists(&self, id: &PathId) -> bool {
        id.is_root() || self.groups.contains_key(id)
    }

    /// The groups strictly below `top`, in path order.
    pub fn groups_below<'a>(&'a self, top: &'a PathId) -> impl Iterator<Item = &'a GroupRecord> {
        self.groups
            .range(top.clone()..)
            .take_while(move |(id, _)| id.as_str().starts_with(top.as_str()))
            .filter(move |(id, _)| top.is_ancestor_of(id))
            .map(|(_, g)| g)
    }

    /// The group's version: the newest change at or below it, whether a stored version
    /// (which a deletion below it also makes), its record's, an app's or a group's below it.
    pub fn group_version(&self, id: &PathId) -> Option<Timestamp> {
        if !self.group_exists(id) {
            return None;
        }
        let record = self.groups.get(id).map(|g| g.version);
        let apps = self.apps_under(id).map(|a| a.version).max();
        let groups = self.groups_below(id).map(|g| g.version).max();
        let stored = self.newest_group_version(id);
        Some(
            [record, apps, groups, stored]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or_default(),
        )
    }

    /// The subtree at `id` as it is now; `None` when no such group exists.
    pub fn subtree(&self, id: &PathId) -> Option<Subtree> {
        if !self.group_exists(id) {
            return None;
        }
        let top = self
            .groups
            .get(id)
            .map_or_else(|| GroupNode::empty(id), GroupNode::of);
        Some(Subtree {
            top,
            groups: self.groups_below(id).map(GroupNode::of).collect(),
            apps: self.apps_under(id).map(|a| Arc::clone(&a.spec)).collect(),
        })
    }

    /// What a group command would deploy, computed on a copy of the state (O(1) to clone):
    /// nothing here changes. Locks are ignored, as in Marathon's `dryRun`.
    pub fn dry_run(&self, time: Timestamp, command: &Command) -> Result<DryRun, Rejection> {
        let command = match command.clone() {
            Command::PutGroup {
                update,
                mode,
                deploy,
            } => Command::PutGroup {
                update,
                mode,
                deploy: Deploy {
                    force: true,
                    ..deploy
                },
            },
            Command::DeleteGroup { id, deploy } => Command::DeleteGroup {
                id,
                deploy: Deploy {
                    force: true,
                    ..deploy
                },
            },
            Command::ScaleGroup { id, factor, deploy } => Command::ScaleGroup {
                id,
                factor,
                deploy: Deploy {
                    force: true,
                    ..deploy
                },
            },
            Command::RollbackGroup {
                id,
                version,
                deploy,
            } => Command::RollbackGroup {
                id,
                version,
                deploy: Deploy {
                    force: true,
                    ..deploy
                },
            },
            other => {
                return Err(Rejection::Invalid(format!(
                    "only group commands have a dry run, not {other:?}"
                )));
            }
        };
        let mut copy = self.clone();
        let (response, applied) = copy.apply((0, 0), &Request::new(time, None, command));
        response?;
        let steps = applied
            .events
            .into_iter()
            .find_map(|e| match e {
                Event::DeploymentStarted { deployment }
                | Event::DeploymentSucceeded { deployment } => Some(deployment.steps),
                _ => None,
            })
            .unwrap_or_default();
        Ok(DryRun { steps })
    }
}

/// The plan a group command would deploy.
#[derive(Clone, Debug, PartialEq)]
pub struct DryRun {
    pub steps: Vec<DeploymentStep>,
}

#[cfg(test)]
mod tests;
