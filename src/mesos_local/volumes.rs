//! The master's side of RESERVE, UNRESERVE, CREATE and DESTROY: applying `reservations`'
//! verdicts to an ACCEPT's pool and the agent's resources, and the agents' persistent volume
//! directories (under the data directory, per agent, role and persistence id), which live until
//! DESTROY and are linked into the sandbox of every task that uses them.

use super::master::Master;
use super::reservations::{self, Asker, Conversion};
use super::resources::{PersistentVolume, Resources};
use crate::mesos::{
    AgentId, Event, FrameworkId, OfferOperation, OperationId, OperationState, OperationStatus,
    UpdateOperationStatus,
};
use std::path::{Path, PathBuf};

/// Where a persistent volume's data lives on the agent.
pub(super) fn volume_dir(data_dir: &Path, agent: &AgentId, role: &str, id: &str) -> PathBuf {
    data_dir
        .join("agents")
        .join(agent.as_str())
        .join("volumes")
        .join("roles")
        .join(role)
        .join(id)
}

/// Links every persistent volume among a task's resources into its sandbox at the volume's
/// container path (there is no container to mount into).
pub(super) fn mount_volumes(
    data_dir: &Path,
    agent: &AgentId,
    resources: &Resources,
    sandbox: &Path,
) -> Result<(), String> {
    for (
        role,
        PersistentVolume {
            id, container_path, ..
        },
    ) in resources.volumes()
    {
        let source = volume_dir(data_dir, agent, &role, &id);
        let target = sandbox.join(&container_path);
        let linked = std::fs::create_dir_all(&source)
            .and_then(|()| match target.parent() {
                Some(parent) => std::fs::create_dir_all(parent),
                None => Ok(()),
            })
            .and_then(|()| std::os::unix::fs::symlink(&source, &target));
        linked.map_err(|e| {
            format!("Failed to mount persistent volume '{id}' at '{container_path}': {e}")
        })?;
    }
    Ok(())
}

impl Master {
    /// Applies one RESERVE, UNRESERVE, CREATE or DESTROY of an ACCEPT to `pool` (what is left of
    /// its offers) and to the agent. Without operation feedback these are speculative: a
    /// refused one is dropped silently and later operations see the pool unchanged. One that
    /// asks for feedback (`id`) is answered OPERATION_ERROR: no agent of mesos-local has the
    /// AGENT_OPERATION_FEEDBACK capability.
    pub(super) fn apply_operation(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        pool: &mut Resources,
        id: Option<OperationId>,
        operation: &OfferOperation,
    ) {
        let Some(a) = self.agents.get(agent) else {
            return;
        };
        let agent_id = a.id.clone();
        if let Some(id) = id {
            let message = format!(
                "Operation requested feedback, but agent {agent_id} does not have the required \
                 AGENT_OPERATION_FEEDBACK capability"
            );
            let status = OperationStatus {
                operation_id: Some(id),
                state: Some(OperationState::Error),
                message: Some(message),
                converted_resources: Vec::new(),
                uuid: None,
                agent_id: Some(agent_id),
                resource_provider_id: None,
            };
            let event = Event::UpdateOperationStatus(UpdateOperationStatus { status });
            return self.send(framework, event);
        }
        let Some(fw) = self.frameworks.get(framework) else {
            return;
        };
        let roles = fw.roles();
        let asker = Asker {
            principal: fw.info.principal.as_deref(),
            roles: &roles,
        };
        let verdict = match operation {
            OfferOperation::Reserve(l) => reservations::reserve(&l.resources, &asker, pool),
            OfferOperation::Unreserve(l) => reservations::unreserve(&l.resources, &asker, pool),
            OfferOperation::Create(l) => reservations::create(&l.volumes, &asker, pool, &a.total),
            OfferOperation::Destroy(l) => reservations::destroy(&l.volumes, pool, &a.total),
            OfferOperation::Launch(_) | OfferOperation::LaunchGroup(_) => return,
        };
        let kind = operation.kind();
        let Conversion {
            consumed,
            converted,
        } = match verdict {
            Ok(c) => c,
            Err(why) => {
                tracing::warn!(framework_id = %framework, %agent_id, operation = kind, %why,
                    "operation dropped");
                return;
            }
        };
        tracing::info!(framework_id = %framework, %agent_id, operation = kind,
            %consumed, %converted, "operation applied");
        *pool = pool.subtract(&consumed).add(&converted);
        if let Some(a) = self.agents.get_mut(agent) {
            a.total = a.total.subtract(&consumed).add(&converted);
        }
        match operation {
            OfferOperation::Create(_) => {
                for (role, v) in converted.volumes() {
                    let dir = volume_dir(&self.settings.data_dir, &agent_id, &role, &v.id);
                    if let Err(e) = std::fs::create_dir_all(&dir) {
                        tracing::warn!(dir = %dir.display(), error = %e,
                            "cannot create a persistent volume's directory");
                    }
                }
            }
            OfferOperation::Destroy(_) => {
                for (role, v) in consumed.volumes() {
                    let dir = volume_dir(&self.settings.data_dir, &agent_id, &role, &v.id);
                    if let Err(e) = std::fs::remove_dir_all(&dir)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        tracing::warn!(dir = %dir.display(), error = %e,
                            "cannot remove a persistent volume's directory");
                    }
                }
            }
            _ => {}
        }
    }
}
