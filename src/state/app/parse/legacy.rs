//! Legacy fields folded into their canonical ones: `uris` into `fetch`, `ports` into
//! `portDefinitions`, `ipAddress` and `container.docker.network` into `networks`. Conflicting
//! forms are refused with Marathon's messages; the container-networking forms, not built yet, are
//! refused by their own field name.

use std::collections::BTreeMap;

use super::request::{DockerNetwork, IpAddressRequest};
use crate::state::app::validate::MAX_PORT;
use crate::state::app::{
    FetchUri, Network, NetworkMode, PortDefinition, PortProtocol, Violations, at,
};

/// Legacy `uris` become fetch entries (extract on, as Marathon does).
pub(super) fn fold_uris(
    uris: Option<Vec<String>>,
    fetch: Option<Vec<FetchUri>>,
    v: &mut Violations,
) -> Option<Vec<FetchUri>> {
    match (uris, fetch) {
        (Some(uris), Some(fetch)) if !uris.is_empty() && !fetch.is_empty() => {
            v.add("/uris", "may not be set in conjunction with fetch");
            Some(fetch)
        }
        (Some(uris), None) => Some(uris.into_iter().map(FetchUri::from_legacy_uri).collect()),
        (Some(uris), Some(fetch)) if fetch.is_empty() => {
            Some(uris.into_iter().map(FetchUri::from_legacy_uri).collect())
        }
        (_, fetch) => fetch,
    }
}

/// Legacy `ports` become unnamed tcp port definitions; both together only if they agree.
pub(super) fn fold_ports(
    ports: Option<Vec<i64>>,
    definitions: Option<Vec<PortDefinition>>,
    v: &mut Violations,
) -> Option<Vec<PortDefinition>> {
    let Some(ports) = ports else {
        return definitions;
    };
    let mut valid = Vec::with_capacity(ports.len());
    for (i, &p) in ports.iter().enumerate() {
        match u32::try_from(p) {
            Ok(p) if p <= MAX_PORT => valid.push(p),
            _ => v.add(at("/ports", i), format!("must be between 0 and {MAX_PORT}")),
        }
    }
    let mut non_random: Vec<u32> = valid.iter().copied().filter(|&p| p != 0).collect();
    non_random.sort_unstable();
    if non_random.windows(2).any(|w| w[0] == w[1]) {
        v.add("/", "ports must be unique");
    }
    match definitions {
        Some(defs) if !ports.is_empty() && !defs.is_empty() => {
            let same =
                defs.len() == valid.len() && defs.iter().zip(&valid).all(|(d, p)| d.port == *p);
            if !same {
                v.add("/", "cannot specify both ports and port definitions");
            }
            Some(defs)
        }
        Some(defs) if ports.is_empty() => Some(defs),
        _ => Some(
            valid
                .into_iter()
                .map(|port| PortDefinition {
                    port,
                    protocol: PortProtocol::Tcp,
                    name: None,
                    labels: BTreeMap::new(),
                })
                .collect(),
        ),
    }
}

/// Legacy `ipAddress` and `container.docker.network` become `networks`; container networking is
/// not built yet, so those forms are refused by their own field name.
pub(super) fn fold_networks(
    networks: Option<Vec<Network>>,
    ip_address: Option<IpAddressRequest>,
    docker_network: Option<DockerNetwork>,
    v: &mut Violations,
) -> Option<Vec<Network>> {
    let given = networks.as_ref().is_some_and(|n| !n.is_empty());
    if let Some(ip) = ip_address {
        if given {
            v.add("/", "must not specify both networks and ipAddress");
        }
        v.add(
            "/ipAddress",
            "container networking (ipAddress) is not supported yet",
        );
        return Some(vec![Network {
            mode: NetworkMode::Container,
            name: ip.network_name,
            labels: ip.labels,
        }]);
    }
    if let Some(net) = docker_network {
        if networks.is_some() {
            v.add(
                "/",
                "must not specify both container.docker.network and networks",
            );
        }
        if net == DockerNetwork::Host {
            return Some(vec![Network::host()]);
        }
        v.add(
            "/container/docker/network",
            "container networking (BRIDGE, USER, NONE) is not supported yet",
        );
        let mode = match net {
            DockerNetwork::Bridge => NetworkMode::ContainerBridge,
            _ => NetworkMode::Container,
        };
        return Some(vec![Network {
            mode,
            name: None,
            labels: BTreeMap::new(),
        }]);
    }
    networks
}
