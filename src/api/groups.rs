//! Group operations shared by REST and gRPC: parse the body, build the group command, propose
//! it (or plan it without proposing, for `dryRun`); and Marathon's group JSON with its embeds.

use super::apps::{AppEmbed, AppView, Iso, deploy, to_value};
use super::{Api, ApiError, Consistency};
use crate::state::group::Subtree;
use crate::state::group::parse::{GroupRequest, parse_group};
use crate::state::ids::{DeploymentId, RequestId};
use crate::state::model::DeploymentStep;
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Command, Outcome, PutMode, Rejection, State};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use serde_json::{Value, json};

/// What a group document embeds (`?embed=`). Marathon's default is the subgroups and apps;
/// an app embed (`group.apps.tasks` …) implies the apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Embed {
    pub groups: bool,
    pub apps: bool,
    pub pods: bool,
    pub tasks: bool,
    pub counts: bool,
    pub deployments: bool,
    pub last_task_failure: bool,
}

impl Default for Embed {
    fn default() -> Embed {
        Embed {
            groups: true,
            apps: true,
            pods: true,
            tasks: false,
            counts: false,
            deployments: false,
            last_task_failure: false,
        }
    }
}

impl Embed {
    /// The embeds named (none named: the default); an unknown one is refused.
    pub fn parse(values: &[&str]) -> Result<Embed, ApiError> {
        if values.is_empty() {
            return Ok(Embed::default());
        }
        let mut e = Embed {
            groups: false,
            apps: false,
            pods: false,
            tasks: false,
            counts: false,
            deployments: false,
            last_task_failure: false,
        };
        for value in values {
            match *value {
                "group.groups" => e.groups = true,
                "group.apps" => e.apps = true,
                "group.pods" => e.pods = true,
                "group.apps.tasks" => e.tasks = true,
                "group.apps.counts" => e.counts = true,
                "group.apps.deployments" => e.deployments = true,
                "group.apps.lastTaskFailure" | "group.apps.failures" => e.last_task_failure = true,
                // Accepted as Marathon does; there is nothing of them to embed yet.
                "group.apps.readiness" | "group.apps.taskStats" => {}
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown embed '{other}': one of group.groups, group.apps, group.pods, \
                         group.apps.tasks, group.apps.counts, group.apps.deployments, \
                         group.apps.readiness, group.apps.lastTaskFailure, group.apps.failures, \
                         group.apps.taskStats"
                    )));
                }
            }
        }
        e.apps |= e.tasks || e.counts || e.deployments || e.last_task_failure;
        Ok(e)
    }
}

/// A group id from a URL path (empty: root).
pub fn group_path(raw: &str) -> Result<PathId, ApiError> {
    PathId::parse(&format!("/{}", raw.trim_start_matches('/')), None)
        .map_err(|e| ApiError::BadRequest(format!("invalid group id '{raw}': {e}")))
}

impl Embed {
    /// What an app of the group embeds.
    fn app(self) -> AppEmbed {
        AppEmbed {
            counts: self.counts,
            deployments: self.deployments,
            last_task_failure: self.last_task_failure,
            tasks: self.tasks,
        }
    }
}

/// Whether `parent` is the group directly above `id` (`PathId::parent` without building it).
fn is_child_of(id: &PathId, parent: &PathId) -> bool {
    match id.as_str().rfind('/') {
        Some(0) | None => parent.is_root() && !id.is_root(),
        Some(i) => &id.as_str()[..i] == parent.as_str(),
    }
}

/// Marathon's group JSON of an existing group as it is now, with the embeds asked for, written
/// straight into a response. (`enforceRole` is left out: the Python client refuses the key,
/// and it is always false.)
pub struct GroupView<'a> {
    state: &'a State,
    id: &'a PathId,
    embed: Embed,
}

impl<'a> GroupView<'a> {
    /// The view of the group at `id`; `None` when it does not exist.
    pub fn new(state: &'a State, id: &'a PathId, embed: Embed) -> Option<GroupView<'a>> {
        state
            .group_exists(id)
            .then_some(GroupView { state, id, embed })
    }

    /// The group's own apps as it embeds them.
    pub fn apps(&self) -> GroupApps<'a> {
        GroupApps {
            state: self.state,
            id: self.id,
            embed: self.embed.app(),
        }
    }
}

impl Serialize for GroupView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NONE: &[u32] = &[];
        let GroupView { state, id, embed } = *self;
        let dependencies = state.group(id).map_or(&[][..], |g| &g.dependencies[..]);
        let mut out = serializer.serialize_struct("Group", 6)?;
        out.serialize_field("id", id.as_str())?;
        out.serialize_field("dependencies", dependencies)?;
        out.serialize_field("version", &Iso(state.group_version(id).unwrap_or_default()))?;
        if embed.apps {
            out.serialize_field("apps", &self.apps())?;
        }
        if embed.groups {
            out.serialize_field("groups", &Subgroups { state, id, embed })?;
        }
        if embed.pods {
            out.serialize_field("pods", NONE)?;
        }
        out.end()
    }
}

/// The apps directly in a group, as it embeds them.
pub struct GroupApps<'a> {
    state: &'a State,
    id: &'a PathId,
    embed: AppEmbed,
}

impl Serialize for GroupApps<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let GroupApps { state, id, embed } = *self;
        serializer.collect_seq(
            state
                .apps_under(id)
                .filter(|a| is_child_of(&a.spec.id, id))
                .map(|a| AppView::new(a, state, embed)),
        )
    }
}

/// The groups directly below a group, as it embeds them.
struct Subgroups<'a> {
    state: &'a State,
    id: &'a PathId,
    embed: Embed,
}

impl Serialize for Subgroups<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Subgroups { state, id, embed } = *self;
        serializer.collect_seq(
            state
                .groups_below(id)
                .filter(|g| is_child_of(&g.id, id))
                .filter_map(|g| GroupView::new(state, &g.id, embed)),
        )
    }
}

/// Marathon's group JSON of the group at `id` as it is now; `None` when it does not exist.
pub fn group_json(state: &State, id: &PathId, embed: Embed) -> Option<Value> {
    GroupView::new(state, id, embed).map(to_value)
}

/// The group JSON of a stored version: apps and groups nested as they were.
pub fn version_json(subtree: &Subtree, version: Timestamp) -> Value {
    fn node(subtree: &Subtree, id: &PathId, deps: &[PathId], version: Timestamp) -> Value {
        let apps: Vec<Value> = subtree
            .apps
            .iter()
            .filter(|a| a.id.parent() == *id)
            .map(|a| {
                let mut doc = a.to_marathon_json();
                doc["version"] = json!(version.to_string());
                doc
            })
            .collect();
        let groups: Vec<Value> = subtree
            .groups
            .iter()
            .filter(|g| g.id.parent() == *id)
            .map(|g| node(subtree, &g.id, &g.dependencies, version))
            .collect();
        json!({
            "id": id.to_string(),
            "dependencies": deps.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "version": version.to_string(),
            "apps": apps,
            "groups": groups,
            "pods": [],
        })
    }
    node(subtree, &subtree.top.id, &subtree.top.dependencies, version)
}

/// Marathon's plan steps: `[{"actions": [{"action", "app"}]}]`.
pub fn steps_json(steps: &[DeploymentStep]) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| {
            let actions: Vec<Value> = s
                .actions
                .iter()
                .map(|a| json!({ "action": a.name(), "app": a.app().to_string() }))
                .collect();
            json!({ "actions": actions })
        })
        .collect();
    json!(steps)
}

/// What a group write did.
#[derive(Debug)]
pub enum GroupWrite {
    /// Committed: the deployment it started and the group's new version.
    Deployed {
        id: PathId,
        deployment: DeploymentId,
        version: Timestamp,
    },
    /// `dryRun`: what it would deploy; nothing changed.
    Planned(Vec<DeploymentStep>),
}

/// How a group write is made.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Cancel the deployments that hold the apps instead of being refused.
    pub force: bool,
    /// Plan only (`?dryRun=true`).
    pub dry_run: bool,
    pub request_id: Option<RequestId>,
}

/// The command a parsed group body asks for.
fn command(request: GroupRequest, mode: PutMode, force: bool) -> Result<Command, ApiError> {
    let deploy = deploy(force);
    Ok(match request {
        GroupRequest::Update(update) => Command::PutGroup {
            update: Box::new(update),
            mode,
            deploy,
        },
        GroupRequest::Scale { .. } | GroupRequest::Rollback { .. } if mode == PutMode::Create => {
            return Err(Rejection::Invalid(
                "scaleBy and version change an existing group: use PUT".into(),
            )
            .into());
        }
        GroupRequest::Scale { id, factor } => Command::ScaleGroup { id, factor, deploy },
        GroupRequest::Rollback { id, version } => Command::RollbackGroup {
            id,
            version,
            deploy,
        },
    })
}

/// Proposes a group command, or with `dry_run` plans it on the leader's state.
pub async fn write(
    api: &Api,
    command: Command,
    options: &WriteOptions,
) -> Result<GroupWrite, ApiError> {
    if options.dry_run {
        let view = api.read(Consistency::Linearizable).await?;
        let plan = view.state.dry_run(Timestamp::now(), &command)?;
        return Ok(GroupWrite::Planned(plan.steps));
    }
    match api.propose(options.request_id.clone(), command).await? {
        Outcome::Group {
            id,
            version,
            deployment,
        } => Ok(GroupWrite::Deployed {
            id,
            deployment,
            version,
        }),
        other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
    }
}

/// `POST` (`Create`) or `PUT` (`Upsert`) of a group body at `base` (the URL's group): an
/// update, a `scaleBy` or a `version` rollback.
pub async fn put(
    api: &Api,
    base: &PathId,
    body: &[u8],
    mode: PutMode,
    options: &WriteOptions,
) -> Result<GroupWrite, ApiError> {
    let request = parse_group(body, base)?;
    write(api, command(request, mode, options.force)?, options).await
}

/// `PATCH /v2/groups/{id}`: only `enforceRole`, as Marathon allows; of a group that exists.
pub async fn patch(
    api: &Api,
    id: &PathId,
    body: &[u8],
    options: &WriteOptions,
) -> Result<GroupWrite, ApiError> {
    let request = parse_group(body, id)?;
    let GroupRequest::Update(update) = request else {
        return Err(Rejection::Invalid("PATCH changes only enforceRole: use PUT".into()).into());
    };
    let only_role = update.id == *id
        && update.apps.is_none()
        && update.groups.is_none()
        && update.dependencies.is_none();
    if !only_role {
        return Err(Rejection::Invalid(
            "PATCH changes only enforceRole (and the id, if given, must be the group's)".into(),
        )
        .into());
    }
    let command = Command::PutGroup {
        update: Box::new(update),
        mode: PutMode::Update,
        deploy: deploy(options.force),
    };
    write(api, command, options).await
}

pub async fn delete(
    api: &Api,
    id: &PathId,
    options: &WriteOptions,
) -> Result<GroupWrite, ApiError> {
    let command = Command::DeleteGroup {
        id: id.clone(),
        deploy: deploy(options.force),
    };
    write(api, command, options).await
}

pub async fn scale(
    api: &Api,
    id: &PathId,
    factor: f64,
    options: &WriteOptions,
) -> Result<GroupWrite, ApiError> {
    if !factor.is_finite() || factor < 0.0 {
        return Err(Rejection::Invalid(format!(
            "scaleBy must be a non-negative number, not {factor}"
        ))
        .into());
    }
    let command = Command::ScaleGroup {
        id: id.clone(),
        factor,
        deploy: deploy(options.force),
    };
    write(api, command, options).await
}

pub async fn rollback(
    api: &Api,
    id: &PathId,
    version: Timestamp,
    options: &WriteOptions,
) -> Result<GroupWrite, ApiError> {
    let command = Command::RollbackGroup {
        id: id.clone(),
        version,
        deploy: deploy(options.force),
    };
    write(api, command, options).await
}

/// The group's versions, newest first; 404 for a missing group.
pub fn versions(state: &State, id: &PathId) -> Result<Vec<Timestamp>, ApiError> {
    if !state.group_exists(id) {
        return Err(Rejection::GroupNotFound(id.clone()).into());
    }
    let mut versions = state.group_versions(id);
    versions.reverse();
    Ok(versions)
}

/// A version from a URL or request (ISO-8601).
pub fn parse_version(raw: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse(raw)
        .ok_or_else(|| ApiError::BadRequest(format!("'{raw}' is not an ISO-8601 version")))
}

/// The group at a stored version; 404 when there is none.
pub fn at_version(state: &State, id: &PathId, version: Timestamp) -> Result<Value, ApiError> {
    state
        .group_at(id, version)
        .map(|s| version_json(&s, version))
        .ok_or_else(|| Rejection::GroupVersionNotFound(id.clone(), version).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_one_segment_below() {
        let p = |s: &str| PathId::parse(s, None).unwrap();
        assert!(is_child_of(&p("/a"), &PathId::root()));
        assert!(is_child_of(&p("/a/b"), &p("/a")));
        assert!(!is_child_of(&p("/a/b/c"), &p("/a")));
        assert!(!is_child_of(&p("/ab/c"), &p("/a")));
        assert!(!is_child_of(&p("/a"), &p("/a")));
        assert!(!is_child_of(&PathId::root(), &PathId::root()));
        for (child, parent) in [("/a/b", "/a"), ("/a", "/"), ("/x/y/z", "/x/y")] {
            assert_eq!(
                is_child_of(&p(child), &p(parent)),
                p(child).parent() == p(parent)
            );
        }
    }

    #[test]
    fn embeds() {
        assert_eq!(Embed::parse(&[]).unwrap(), Embed::default());
        let e = Embed::parse(&["group.apps.tasks"]).unwrap();
        assert!(e.apps && e.tasks && !e.groups && !e.counts);
        let e = Embed::parse(&["group.groups", "group.apps.counts"]).unwrap();
        assert!(e.groups && e.apps && e.counts && !e.pods);
        assert!(matches!(
            Embed::parse(&["apps.tasks"]),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn a_group_change_is_reported_when_its_deployment_ends() {
        use crate::state::model::{Deployment, GroupDeployment};
        use crate::state::{AppliedEvent, Event};
        let shop = PathId::parse("/shop", None).unwrap();
        let version = Timestamp(1_443_541_191_164);
        let at = |event| AppliedEvent {
            index: 3,
            time: version,
            event,
        };
        // Committing the change says nothing yet (Marathon reports it once deployed).
        let committed = at(Event::GroupChanged {
            id: shop.clone(),
            version,
        });
        assert!(crate::api::events::marathon_events(&committed).is_empty());
        let deployment = Deployment {
            id: DeploymentId("d-1".into()),
            version,
            affected_apps: Vec::new(),
            steps: Vec::new(),
            current_step: 0,
            original: Vec::new(),
            revision: 1,
            group: Some(GroupDeployment {
                id: shop.clone(),
                before: None,
            }),
        };
        let done = at(Event::DeploymentSucceeded {
            deployment: Box::new(deployment),
        });
        let out = crate::api::events::marathon_events(&done);
        let kinds: Vec<&str> = out.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, ["deployment_success", "group_change_success"]);
        let payload = &out[1].1;
        // The Python client's MarathonGroupChangeSuccess knows exactly these attributes.
        assert_eq!(payload["groupId"], "/shop");
        assert_eq!(payload["version"], "2015-09-29T15:39:51.164Z");
        assert_eq!(payload["eventType"], "group_change_success");
        let cancelled = at(Event::DeploymentCancelled {
            id: DeploymentId("d-1".into()),
            group: Some((shop, version)),
        });
        let out = crate::api::events::marathon_events(&cancelled);
        let kinds: Vec<&str> = out.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, ["deployment_failed", "group_change_failed"]);
        assert_eq!(out[1].1["groupId"], "/shop");
        assert_eq!(out[1].1["version"], "2015-09-29T15:39:51.164Z");
        assert!(out[1].1["reason"].is_string());
    }
}
