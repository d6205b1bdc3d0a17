//! Request bodies to apps: JSON decoding with paths, legacy-field folding, merge, and defaults.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::validate::{MAX_PORT, constraint};
use super::{
    AppDefinition, Check, Container, ContainerType, Docker, DockerCredential, DockerParameter,
    DockerPullConfig, EnvValue, ExecutorResources, FetchUri, HealthCheck, HealthCheckProtocol,
    KillSelection, LinuxInfo, Network, NetworkMode, PortDefinition, PortMapping, PortProtocol,
    ReadinessCheck, Residency, ResourceLimits, SecretDef, UnreachableStrategy, UpgradeStrategy,
    Volume, VolumeMode, defaults,
};
use super::{AppInput, AppInputError, Violation, Violations, at};
use crate::state::path::PathId;

/// A request body as sent: every top-level field optional (so a merge can tell absent from
/// present), legacy fields still separate, response-only fields swallowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AppRequest {
    id: Option<String>,
    cmd: Option<String>,
    args: Option<Vec<String>>,
    user: Option<String>,
    /// Signed so that a negative count is a rule violation (422) rather than a type error (400).
    instances: Option<i64>,
    cpus: Option<f64>,
    mem: Option<f64>,
    disk: Option<f64>,
    gpus: Option<i64>,
    executor: Option<String>,
    executor_resources: Option<ExecutorResources>,
    resource_limits: Option<ResourceLimits>,
    env: Option<BTreeMap<String, EnvValue>>,
    secrets: Option<BTreeMap<String, SecretDef>>,
    labels: Option<BTreeMap<String, String>>,
    /// Raw strings: operator and arity errors are rule violations with Marathon's messages.
    constraints: Option<Vec<Vec<String>>>,
    accepted_resource_roles: Option<Vec<String>>,
    role: Option<String>,
    container: Option<ContainerRequest>,
    networks: Option<Vec<Network>>,
    port_definitions: Option<Vec<PortDefinition>>,
    require_ports: Option<bool>,
    fetch: Option<Vec<FetchUri>>,
    health_checks: Option<Vec<HealthCheck>>,
    check: Option<Check>,
    readiness_checks: Option<Vec<ReadinessCheck>>,
    dependencies: Option<Vec<String>>,
    upgrade_strategy: Option<UpgradeStrategy>,
    backoff_seconds: Option<i64>,
    backoff_factor: Option<f64>,
    max_launch_delay_seconds: Option<i64>,
    task_kill_grace_period_seconds: Option<i64>,
    unreachable_strategy: Option<UnreachableStrategy>,
    kill_selection: Option<KillSelection>,
    residency: Option<Residency>,
    tty: Option<bool>,

    // Legacy input, folded into canonical fields and never stored as such.
    ports: Option<Vec<i64>>,
    uris: Option<Vec<String>>,
    ip_address: Option<IpAddressRequest>,

    // Response-only fields that clients (marathon-python) send back on update: ignored.
    #[serde(rename = "version")]
    _version: Option<IgnoredAny>,
    #[serde(rename = "versionInfo")]
    _version_info: Option<IgnoredAny>,
    #[serde(rename = "tasksRunning")]
    _tasks_running: Option<IgnoredAny>,
    #[serde(rename = "tasksStaged")]
    _tasks_staged: Option<IgnoredAny>,
    #[serde(rename = "tasksHealthy")]
    _tasks_healthy: Option<IgnoredAny>,
    #[serde(rename = "tasksUnhealthy")]
    _tasks_unhealthy: Option<IgnoredAny>,
    #[serde(rename = "deployments")]
    _deployments: Option<IgnoredAny>,
    #[serde(rename = "tasks")]
    _tasks: Option<IgnoredAny>,
    #[serde(rename = "lastTaskFailure")]
    _last_task_failure: Option<IgnoredAny>,
    #[serde(rename = "readinessCheckResults")]
    _readiness_check_results: Option<IgnoredAny>,
    #[serde(rename = "taskStats")]
    _task_stats: Option<IgnoredAny>,
    #[serde(rename = "tasksStats")]
    _tasks_stats: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContainerRequest {
    /// RAML's default is DOCKER.
    #[serde(rename = "type")]
    kind: Option<ContainerType>,
    docker: Option<DockerRequest>,
    volumes: Option<Vec<VolumeRequest>>,
    port_mappings: Option<Vec<PortMapping>>,
    linux_info: Option<LinuxInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DockerRequest {
    #[serde(default)]
    image: String,
    #[serde(default)]
    force_pull_image: bool,
    #[serde(default)]
    privileged: bool,
    #[serde(default)]
    parameters: Vec<DockerParameter>,
    credential: Option<DockerCredential>,
    pull_config: Option<DockerPullConfig>,
    /// Legacy (pre-1.5) networking, replaced by top-level `networks`.
    network: Option<DockerNetwork>,
    /// Legacy place of `container.portMappings`.
    port_mappings: Option<Vec<PortMapping>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "UPPERCASE")]
enum DockerNetwork {
    Host,
    Bridge,
    User,
    None,
}

/// Any volume kind Marathon knows, so that the not-yet-built kinds are refused by name.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VolumeRequest {
    #[serde(default)]
    container_path: String,
    host_path: Option<String>,
    mode: Option<VolumeMode>,
    persistent: Option<IgnoredAny>,
    external: Option<IgnoredAny>,
    secret: Option<IgnoredAny>,
}

/// Legacy (1.0–1.4) container networking.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IpAddressRequest {
    network_name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(rename = "groups")]
    _groups: Option<IgnoredAny>,
    #[serde(rename = "discovery")]
    _discovery: Option<IgnoredAny>,
}

/// Decodes the body with JSON paths. Syntax and type errors are `InvalidJson` (400); an unknown
/// field is `Invalid` (422) naming it, as Marathon's strict schema does.
pub(super) fn decode(body: &[u8]) -> Result<AppRequest, AppInputError> {
    // serde's derive would also take a JSON array as a struct, field by field; an app is an object.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') && serde_json::from_slice::<IgnoredAny>(body).is_ok() {
        return Err(AppInputError::InvalidJson {
            details: vec![Violation {
                path: "/".to_owned(),
                errors: vec!["expected a JSON object".to_owned()],
            }],
        });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let req = match serde_path_to_error::deserialize::<_, AppRequest>(&mut de) {
        Ok(req) => req,
        Err(err) => return Err(decode_error(&err)),
    };
    if let Err(err) = de.end() {
        return Err(AppInputError::InvalidJson {
            details: vec![Violation {
                path: "/".to_owned(),
                errors: vec![err.to_string()],
            }],
        });
    }
    Ok(req)
}

fn decode_error(err: &serde_path_to_error::Error<serde_json::Error>) -> AppInputError {
    let path = json_pointer(err.path());
    let inner = err.inner();
    let message = inner.to_string();
    if let Some(field) = unknown_field_name(&message) {
        // The path usually ends with the offending key already.
        let path = if path.ends_with(&format!("/{field}")) {
            path
        } else if path == "/" {
            format!("/{field}")
        } else {
            format!("{path}/{field}")
        };
        return AppInputError::Invalid {
            details: vec![Violation {
                path,
                errors: vec![format!("unknown field '{field}'")],
            }],
        };
    }
    // Type errors carry a path, so the parser position only adds noise; syntax errors keep it.
    let message = if inner.is_data() {
        strip_position(&message).to_owned()
    } else {
        message
    };
    AppInputError::InvalidJson {
        details: vec![Violation {
            path,
            errors: vec![message],
        }],
    }
}

/// serde's derive reports "unknown field `x`, expected …"; this is the one message shape that
/// makes an error a 422 rather than a 400.
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// Marathon's path style: "/healthChecks(0)/portIndex", root "/".
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("({index})")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if out.is_empty() { "/".to_owned() } else { out }
}

/// Builds the canonical app from a decoded request: resolves ids, folds legacy fields, merges
/// over `existing` for partial updates, fills defaults. Range errors found on the way go to `v`
/// (the returned app then holds a placeholder and must not be used).
pub(super) fn resolve(req: AppRequest, input: &AppInput<'_>, v: &mut Violations) -> AppDefinition {
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

/// Legacy `uris` become fetch entries (extract on, as Marathon does).
fn fold_uris(
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
fn fold_ports(
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
fn fold_networks(
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

fn resolve_container(
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
