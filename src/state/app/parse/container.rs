//! The request's `container` to the model's: legacy docker port mappings folded in, and volume
//! kinds not built yet refused by their field name.

use super::request::{ContainerRequest, DockerNetwork, VolumeRequest};
use crate::state::app::{Container, ContainerType, Docker, Violations, Volume, at};

pub(super) fn resolve_container(
    c: ContainerRequest,
    v: &mut Violations,
) -> (Container, Option<DockerNetwork>) {
    let mut network = None;
    let mut legacy_mappings = None;
    let docker = c.docker.map(|d| {
        network = d.network;
        legacy_mappings = d.port_mappings;
        Docker {
            image: d.image,
            force_pull_image: d.force_pull_image,
            privileged: d.privileged,
            parameters: d.parameters,
            credential: d.credential,
            pull_config: d.pull_config,
        }
    });
    let port_mappings = match (c.port_mappings, legacy_mappings) {
        (Some(current), Some(legacy)) => {
            if !legacy.is_empty() && current != legacy {
                v.add(
                    "/container",
                    "must not specify both container.docker.portMappings and container.portMappings",
                );
            }
            current
        }
        (Some(current), None) => current,
        (None, Some(legacy)) => legacy,
        (None, None) => Vec::new(),
    };
    let volumes = c
        .volumes
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, vol)| resolve_volume(&at("/container/volumes", i), vol, v))
        .collect();
    let container = Container {
        kind: c.kind.unwrap_or(ContainerType::Docker),
        docker,
        volumes,
        port_mappings,
        linux_info: c.linux_info,
    };
    (container, network)
}

fn resolve_volume(path: &str, vol: VolumeRequest, v: &mut Violations) -> Option<Volume> {
    let unsupported = [
        ("persistent", vol.persistent.is_some(), "persistent volumes"),
        ("external", vol.external.is_some(), "external volumes"),
        ("secret", vol.secret.is_some(), "secret volumes"),
    ];
    let mut refused = false;
    for (field, present, what) in unsupported {
        if present {
            v.add(
                format!("{path}/{field}"),
                format!("{what} are not supported yet"),
            );
            refused = true;
        }
    }
    if refused {
        return None;
    }
    if vol.container_path.is_empty() {
        v.add(format!("{path}/containerPath"), "must not be empty");
    }
    let host_path = vol.host_path.unwrap_or_default();
    if host_path.is_empty() {
        v.add(format!("{path}/hostPath"), "must not be empty");
    }
    let Some(mode) = vol.mode else {
        v.add(format!("{path}/mode"), "is required (RO or RW)");
        return None;
    };
    Some(Volume {
        container_path: vol.container_path,
        host_path,
        mode,
    })
}
