//! A decoded request to the canonical app: the id checked against the URL's, each field taken
//! from the body, else from the app being merged over, else its default, and numbers
//! range-checked on the way.

use std::collections::BTreeMap;

use super::container::resolve_container;
use super::legacy::{fold_networks, fold_ports, fold_uris};
use super::request::AppRequest;
use crate::state::app::validate::constraint;
use crate::state::app::{
    AppDefinition, AppInput, HealthCheckProtocol, KillSelection, Network, NetworkMode,
    PortDefinition, UnreachableStrategy, UpgradeStrategy, Violations, at, defaults,
};
use crate::state::path::PathId;

/// Builds the canonical app from a decoded request: resolves ids, folds legacy fields, merges
/// over `existing` for partial updates, fills defaults. Range errors found on the way go to `v`
/// (the returned app then holds a placeholder and must not be used).
pub(in crate::state::app) fn resolve(
    req: AppRequest,
    input: &AppInput<'_>,
    v: &mut Violations,
) -> AppDefinition {
    let (url_id, base) = match input {
        AppInput::Create => (None, None),
        AppInput::Replace { id } => (Some(*id), None),
        AppInput::Merge { id, existing } => (Some(*id), Some(*existing)),
    };
    let id = resolve_id(req.id.as_deref(), url_id, v);

    let fetch = fold_uris(req.uris, req.fetch, v);
    let port_definitions = fold_ports(req.ports, req.port_definitions, v);
    let (container, docker_network) = match req.container {
        Some(c) => {
            let (c, net) = resolve_container(c, v);
            (Some(Some(c)), net)
        }
        None => (None, None),
    };
    let networks = fold_networks(req.networks, req.ip_address, docker_network, v);

    // Top-level replace semantics: a present field wins, else the existing app's, else default.
    macro_rules! pick {
        ($req:expr, $field:ident, $default:expr) => {
            match $req {
                Some(value) => value,
                None => match base {
                    Some(b) => b.$field.clone(),
                    None => $default,
                },
            }
        };
    }

    let labels = pick!(req.labels, labels, BTreeMap::new());
    let single_instance = labels
        .get(defaults::SINGLE_INSTANCE_LABEL)
        .is_some_and(|v| v == "true");
    let networks = pick!(networks, networks, vec![Network::host()]);
    let networks = if networks.is_empty() {
        vec![Network::host()]
    } else {
        networks
    };
    let host_networking = networks.iter().all(|n| n.mode == NetworkMode::Host);
    let port_definitions = match port_definitions {
        Some(defs) => defs,
        None if !host_networking => Vec::new(),
        // A merge keeps the stored ports if they were host ports already.
        None => match base {
            Some(b) if b.networks.iter().all(|n| n.mode == NetworkMode::Host) => {
                b.port_definitions.clone()
            }
            _ => vec![PortDefinition::default_port()],
        },
    };
    let container = pick!(container, container, None);
    let mut health_checks = pick!(req.health_checks, health_checks, Vec::new());
    let has_ports = !port_definitions.is_empty()
        || container
            .as_ref()
            .is_some_and(|c| !c.port_mappings.is_empty());
    for hc in &mut health_checks {
        let needs_port = hc.protocol != HealthCheckProtocol::Command && hc.command.is_none();
        if needs_port && hc.port.is_none() && hc.port_index.is_none() && has_ports {
            hc.port_index = Some(0);
        }
    }
    let constraints = match req.constraints {
        Some(raw) => raw
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| constraint(&at("/constraints", i), c, v))
            .collect(),
        None => base.map(|b| b.constraints.clone()).unwrap_or_default(),
    };
    let dependencies = match req.dependencies {
        Some(raw) => raw
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match PathId::parse(d, Some(&id)) {
                Ok(dep) => Some(dep),
                Err(e) => {
                    v.add(at("/dependencies", i), e);
                    None
                }
            })
            .collect(),
        None => base.map(|b| b.dependencies.clone()).unwrap_or_default(),
    };
    let default_strategy = if single_instance {
        UpgradeStrategy::single_instance()
    } else {
        UpgradeStrategy::default()
    };

    AppDefinition {
        cmd: pick!(req.cmd.map(Some), cmd, None),
        args: pick!(req.args, args, Vec::new()),
        user: pick!(req.user.map(Some), user, None),
        instances: pick!(
            req.instances.map(|n| count(n, "/instances", v)),
            instances,
            defaults::INSTANCES
        ),
        cpus: pick!(req.cpus, cpus, defaults::CPUS),
        mem: pick!(req.mem, mem, defaults::MEM),
        disk: pick!(req.disk, disk, defaults::DISK),
        gpus: pick!(req.gpus.map(|n| count(n, "/gpus", v)), gpus, 0),
        executor: pick!(req.executor, executor, String::new()),
        executor_resources: pick!(req.executor_resources.map(Some), executor_resources, None),
        resource_limits: pick!(req.resource_limits.map(Some), resource_limits, None),
        env: pick!(req.env, env, BTreeMap::new()),
        secrets: pick!(req.secrets, secrets, BTreeMap::new()),
        labels,
        constraints,
        accepted_resource_roles: pick!(
            req.accepted_resource_roles.map(Some),
            accepted_resource_roles,
            None
        ),
        role: pick!(req.role, role, defaults::ROLE.to_owned()),
        container,
        networks,
        port_definitions,
        require_ports: pick!(req.require_ports, require_ports, false),
        fetch: pick!(fetch, fetch, Vec::new()),
        health_checks,
        check: pick!(req.check.map(Some), check, None),
        readiness_checks: pick!(req.readiness_checks, readiness_checks, Vec::new()),
        dependencies,
        upgrade_strategy: pick!(req.upgrade_strategy, upgrade_strategy, default_strategy),
        backoff_seconds: pick!(
            req.backoff_seconds
                .map(|n| seconds(n, "/backoffSeconds", v)),
            backoff_seconds,
            defaults::BACKOFF_SECONDS
        ),
        backoff_factor: pick!(req.backoff_factor, backoff_factor, defaults::BACKOFF_FACTOR),
        max_launch_delay_seconds: pick!(
            req.max_launch_delay_seconds
                .map(|n| seconds(n, "/maxLaunchDelaySeconds", v)),
            max_launch_delay_seconds,
            defaults::MAX_LAUNCH_DELAY_SECONDS
        ),
        task_kill_grace_period_seconds: pick!(
            req.task_kill_grace_period_seconds.map(|n| Some(seconds(
                n,
                "/taskKillGracePeriodSeconds",
                v
            ))),
            task_kill_grace_period_seconds,
            None
        ),
        unreachable_strategy: pick!(
            req.unreachable_strategy,
            unreachable_strategy,
            UnreachableStrategy::default()
        ),
        kill_selection: pick!(req.kill_selection, kill_selection, KillSelection::default()),
        residency: pick!(req.residency.map(Some), residency, None),
        tty: pick!(req.tty.map(Some), tty, None),
        id,
    }
}

/// The body's id (relative ones resolve against the URL id's group) must agree with the URL's.
fn resolve_id(body_id: Option<&str>, url_id: Option<&PathId>, v: &mut Violations) -> PathId {
    let group = url_id.map(PathId::parent);
    let id = match (body_id, url_id) {
        (Some(raw), _) => match PathId::parse(raw, group.as_ref()) {
            Ok(id) => {
                if let Some(url_id) = url_id.filter(|u| **u != id) {
                    v.add(
                        "/id",
                        format!(
                            "the id in the body ({id}) does not match the id in the URL ({url_id})"
                        ),
                    );
                }
                id
            }
            Err(e) => {
                v.add("/id", e);
                return url_id.cloned().unwrap_or_else(PathId::root);
            }
        },
        (None, Some(url_id)) => url_id.clone(),
        (None, None) => {
            v.add("/id", "is required");
            return PathId::root();
        }
    };
    if id.is_root() {
        v.add("/id", "must not be root");
    }
    id
}

/// A non-negative count that fits the model's u32.
fn count(n: i64, path: &str, v: &mut Violations) -> u32 {
    if n < 0 {
        v.add(path, "must be >= 0");
        return 0;
    }
    u32::try_from(n).unwrap_or_else(|_| {
        v.add(path, format!("must be <= {}", u32::MAX));
        0
    })
}

fn seconds(n: i64, path: &str, v: &mut Violations) -> u64 {
    u64::try_from(n).unwrap_or_else(|_| {
        v.add(path, "must be >= 0");
        0
    })
}
