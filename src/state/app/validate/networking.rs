//! Ports and networks: the container's port mappings, the port definitions, port names and
//! ranges, and what host networking allows.

use std::collections::BTreeSet;

use super::MAX_PORT;
use crate::state::app::{AppDefinition, ContainerType, NetworkMode, Violations, at};

/// Marathon's port-name pattern, quoted in the message.
const PORT_NAME_REGEX: &str = "^[a-z0-9-]+$";

pub(super) fn container(app: &AppDefinition, v: &mut Violations) {
    let Some(c) = &app.container else { return };
    match (&c.docker, c.kind) {
        (None, ContainerType::Docker) => v.add(
            "/container/docker",
            "must be defined for a DOCKER container",
        ),
        (Some(d), _) if d.image.is_empty() => v.add("/container/docker/image", "must not be empty"),
        _ => {}
    }
    let mut names = BTreeSet::new();
    for (i, m) in c.port_mappings.iter().enumerate() {
        let path = at("/container/portMappings", i);
        let ports = [
            ("containerPort", Some(m.container_port)),
            ("hostPort", m.host_port),
            ("servicePort", Some(m.service_port)),
        ];
        for (field, port) in ports {
            if port.is_some_and(|p| p > MAX_PORT) {
                v.add(
                    format!("{path}/{field}"),
                    format!("must be between 0 and {MAX_PORT}"),
                );
            }
        }
        if let Some(name) = &m.name {
            port_name(&format!("{path}/name"), name, v);
            if !names.insert(name) {
                v.add("/container/portMappings", "Port names must be unique.");
            }
        }
    }
    let host = app.networks.iter().all(|n| n.mode == NetworkMode::Host);
    if host && !c.port_mappings.is_empty() {
        v.add(
            "/container/portMappings",
            "portMappings are not allowed with host-networking",
        );
    }
}

fn port_name(path: &str, name: &str, v: &mut Violations) {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        v.add(
            path,
            format!("must fully match regular expression '{PORT_NAME_REGEX}'"),
        );
    }
}

pub(super) fn networking(app: &AppDefinition, v: &mut Violations) {
    let hosts = app
        .networks
        .iter()
        .filter(|n| n.mode == NetworkMode::Host)
        .count();
    if hosts > 0 && app.networks.len() > 1 {
        v.add(
            "/networks",
            "host networking may not be combined with other networks",
        );
    }
    for (i, n) in app.networks.iter().enumerate() {
        if n.mode == NetworkMode::Host && n.name.is_some() {
            v.add(
                format!("{}/name", at("/networks", i)),
                "must not be set for host networking",
            );
        }
    }
    if hosts == 0 && !app.port_definitions.is_empty() {
        v.add(
            "/portDefinitions",
            "portDefinitions are only allowed with host-networking",
        );
    }
    let mut names = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for (i, d) in app.port_definitions.iter().enumerate() {
        let path = at("/portDefinitions", i);
        if d.port > MAX_PORT {
            v.add(
                format!("{path}/port"),
                format!("must be between 0 and {MAX_PORT}"),
            );
        }
        if let Some(name) = &d.name {
            port_name(&format!("{path}/name"), name, v);
            if !names.insert(name) {
                v.add("/portDefinitions", "Port names must be unique.");
            }
        }
        if d.port != 0 && !ports.insert(d.port) {
            v.add("/portDefinitions", "Ports must be unique.");
        }
    }
}
