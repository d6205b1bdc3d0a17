//! Marathon's app rules over the canonical model, each reported with its JSON path.

use std::collections::BTreeSet;

use super::{
    AppDefinition, Constraint, ConstraintOperator, ContainerType, EnvValue, NetworkMode,
    ReadinessCheck, ResourceLimit, UnreachableStrategy, defaults,
};
use super::{Violations, at};

pub(super) const MAX_PORT: u32 = 65535;

/// Marathon's port-name pattern, quoted in the message.
const PORT_NAME_REGEX: &str = "^[a-z0-9-]+$";

/// Checks every rule and records every violation, so a client sees all its mistakes at once.
pub(super) fn validate(app: &AppDefinition, v: &mut Violations) {
    commands(app, v);
    resources(app, v);
    not_supported_yet(app, v);
    roles(app, v);
    container(app, v);
    networking(app, v);
    health_checks(app, v);
    check(app, v);
    readiness(app, v);
    strategies(app, v);
    for (i, f) in app.fetch.iter().enumerate() {
        if f.uri.is_empty() {
            v.add(format!("{}/uri", at("/fetch", i)), "must not be empty");
        }
    }
}

fn commands(app: &AppDefinition, v: &mut Violations) {
    let cmd = app.cmd.is_some();
    let args = !app.args.is_empty();
    let image = app.container.as_ref().is_some_and(|c| c.docker.is_some());
    if !((cmd ^ args) || (!(cmd && args) && image)) {
        v.add(
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        );
    }
    if app.cmd.as_deref().is_some_and(|c| c.trim().is_empty()) {
        v.add("/cmd", "must not be empty");
    }
}

fn resources(app: &AppDefinition, v: &mut Violations) {
    if app.cpus < 0.001 {
        v.add("/cpus", "must be >= 0.001");
    }
    if app.mem < 0.0 {
        v.add("/mem", "must be >= 0");
    }
    if app.disk < 0.0 {
        v.add("/disk", "must be >= 0");
    }
    if app.backoff_factor < 1.0 {
        v.add("/backoffFactor", "must be >= 1");
    }
    if let Some(limits) = &app.resource_limits {
        let checks = [
            ("cpus", &limits.cpus, app.cpus),
            ("mem", &limits.mem, app.mem),
        ];
        for (name, limit, requested) in checks {
            if let Some(ResourceLimit::Value(l)) = limit
                && *l < requested
            {
                v.add(
                    format!("/resourceLimits/{name}"),
                    format!("must be >= {name} ({requested}) or \"unlimited\""),
                );
            }
        }
    }
}

/// Fields whose feature a later issue builds: their defaults are stored, anything else refused
/// rather than accepted and silently ignored.
fn not_supported_yet(app: &AppDefinition, v: &mut Violations) {
    if app.gpus > 0 {
        v.add("/gpus", "GPU resources (gpus > 0) are not supported yet");
    }
    if !matches!(app.executor.as_str(), "" | "//cmd") {
        v.add(
            "/executor",
            "custom executors are not supported yet (use \"\" or \"//cmd\")",
        );
    }
    if app.executor_resources.is_some() {
        v.add(
            "/executorResources",
            "executorResources are not supported yet",
        );
    }
    if !app.secrets.is_empty() {
        v.add("/secrets", "secrets are not supported yet");
    }
    for (name, value) in &app.env {
        if matches!(value, EnvValue::Secret { .. }) {
            v.add(
                format!("/env/{name}"),
                "secret references are not supported yet",
            );
        }
    }
    if app.residency.is_some() {
        v.add(
            "/residency",
            "resident apps (residency) are not supported yet",
        );
    }
    let docker = app.container.as_ref().and_then(|c| c.docker.as_ref());
    if docker.is_some_and(|d| d.pull_config.is_some()) {
        v.add(
            "/container/docker/pullConfig",
            "pullConfig (a secret) is not supported yet",
        );
    }
    for (i, n) in app.networks.iter().enumerate() {
        if n.mode != NetworkMode::Host {
            v.add(
                format!("{}/mode", at("/networks", i)),
                "container networking is not supported yet",
            );
        }
    }
}

/// Mesos' role name rules, as far as an API can check them.
fn role_error(role: &str) -> Option<&'static str> {
    if role == "*" {
        return None;
    }
    if role.is_empty() {
        return Some("must not be empty");
    }
    if role == "." || role == ".." {
        return Some("must not be '.' or '..'");
    }
    if role.starts_with('-') {
        return Some("must not start with '-'");
    }
    if role
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '/' || c == '*')
    {
        return Some("must not contain whitespace, '/', '\\' or '*'");
    }
    None
}

fn roles(app: &AppDefinition, v: &mut Violations) {
    if let Some(role_msg) = role_error(&app.role) {
        v.add("/role", role_msg);
    } else {
        // With the default `--mesos_role *`, Marathon allows the default role or the top-level
        // group's role (its name).
        let group_role = if app.id.parent().is_root() {
            None
        } else {
            app.id.segments().next()
        };
        if app.role != defaults::ROLE && Some(app.role.as_str()) != group_role {
            let allowed = match group_role {
                Some(g) => format!("'*' or '{g}'"),
                None => "'*'".to_owned(),
            };
            v.add(
                "/role",
                format!(
                    "role '{}' is not allowed here: it must be {allowed}",
                    app.role
                ),
            );
        }
    }
    if let Some(accepted) = &app.accepted_resource_roles {
        if accepted.is_empty() {
            v.add("/acceptedResourceRoles", "must not be empty");
        }
        let unique: BTreeSet<&String> = accepted.iter().collect();
        if unique.len() != accepted.len() {
            v.add("/acceptedResourceRoles", "elements must be unique");
        }
        for (i, r) in accepted.iter().enumerate() {
            if let Some(msg) = role_error(r) {
                v.add(at("/acceptedResourceRoles", i), msg);
            }
        }
    }
}

fn container(app: &AppDefinition, v: &mut Violations) {
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

fn networking(app: &AppDefinition, v: &mut Violations) {
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

/// How many host ports a health check's `portIndex` may address: the port mappings when there
/// are any, else the port definitions (Marathon's `portIndices`).
fn port_count(app: &AppDefinition) -> usize {
    match &app.container {
        Some(c) if !c.port_mappings.is_empty() => c.port_mappings.len(),
        _ => app.port_definitions.len(),
    }
}

fn health_checks(app: &AppDefinition, v: &mut Violations) {
    let ports = port_count(app);
    for (i, hc) in app.health_checks.iter().enumerate() {
        let path = at("/healthChecks", i);
        let is_command = hc.protocol == super::HealthCheckProtocol::Command;
        match (&hc.command, is_command) {
            (None, true) => v.add(
                format!("{path}/command"),
                "must be set for protocol COMMAND",
            ),
            (Some(_), false) => v.add(
                format!("{path}/command"),
                "is only allowed with protocol COMMAND",
            ),
            (Some(c), true) if c.value.trim().is_empty() => {
                v.add(format!("{path}/command/value"), "must not be empty")
            }
            _ => {}
        }
        if hc.port.is_some() && hc.port_index.is_some() {
            v.add(path.clone(), "must not specify both port and portIndex");
        }
        if hc.port.is_some_and(|p| p > MAX_PORT) {
            v.add(
                format!("{path}/port"),
                format!("must be between 0 and {MAX_PORT}"),
            );
        }
        if !is_command && hc.port.is_none() && hc.port_index.is_none_or(|i| i as usize >= ports) {
            v.add(
                path.clone(),
                "Health check port indices must address an element of the ports array or container port mappings.",
            );
        }
        if hc.interval_seconds == 0 {
            v.add(format!("{path}/intervalSeconds"), "must be >= 1");
        }
        if hc.timeout_seconds == 0 {
            v.add(format!("{path}/timeoutSeconds"), "must be >= 1");
        }
    }
    let mesos = app
        .health_checks
        .iter()
        .filter(|hc| hc.protocol.is_mesos())
        .count();
    if mesos > 1 {
        v.add(
            "/healthChecks",
            "AppDefinition can contain at most one Mesos health check",
        );
    }
    if mesos > 0 && mesos < app.health_checks.len() {
        v.add(
            "/healthChecks",
            "Mesos health checks (MESOS_HTTP, MESOS_HTTPS, MESOS_TCP, COMMAND) cannot be mixed with Marathon health checks (HTTP, HTTPS, TCP)",
        );
    }
}

fn check(app: &AppDefinition, v: &mut Violations) {
    let Some(c) = &app.check else { return };
    let kinds = [c.http.is_some(), c.tcp.is_some(), c.exec.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        v.add("/check", "must define exactly one of http, tcp or exec");
    }
    if let Some(exec) = &c.exec
        && exec.command.shell.is_some() == exec.command.argv.is_some()
    {
        v.add(
            "/check/exec/command",
            "must define exactly one of shell or argv",
        );
    }
    if c.interval_seconds == 0 {
        v.add("/check/intervalSeconds", "must be >= 1");
    }
    if c.timeout_seconds == 0 {
        v.add("/check/timeoutSeconds", "must be >= 1");
    }
}

fn readiness(app: &AppDefinition, v: &mut Violations) {
    if app.readiness_checks.len() > 1 {
        v.add("/readinessChecks", "at most one readiness check is allowed");
    }
    let port_names: BTreeSet<&str> = app
        .port_definitions
        .iter()
        .filter_map(|d| d.name.as_deref())
        .chain(
            app.container
                .iter()
                .flat_map(|c| c.port_mappings.iter().filter_map(|m| m.name.as_deref())),
        )
        .collect();
    for (i, rc) in app.readiness_checks.iter().enumerate() {
        readiness_check(&at("/readinessChecks", i), rc, &port_names, v);
    }
}

fn readiness_check(path: &str, rc: &ReadinessCheck, ports: &BTreeSet<&str>, v: &mut Violations) {
    if rc.name.is_empty() {
        v.add(format!("{path}/name"), "must not be empty");
    }
    if rc.path.is_empty() {
        v.add(format!("{path}/path"), "must not be empty");
    }
    if !ports.contains(rc.port_name.as_str()) {
        v.add(
            format!("{path}/portName"),
            format!("No port definition reference for portName {}", rc.port_name),
        );
    }
    if rc.timeout_seconds == 0 {
        v.add(format!("{path}/timeoutSeconds"), "must be >= 1");
    }
    if rc.timeout_seconds >= rc.interval_seconds {
        v.add(
            format!("{path}/timeoutSeconds"),
            format!(
                "must be less than intervalSeconds ({})",
                rc.interval_seconds
            ),
        );
    }
    if rc.http_status_codes_for_ready.is_empty() {
        v.add(
            format!("{path}/httpStatusCodesForReady"),
            "must not be empty",
        );
    }
}

fn strategies(app: &AppDefinition, v: &mut Violations) {
    let s = &app.upgrade_strategy;
    let fractions = [
        ("minimumHealthCapacity", s.minimum_health_capacity),
        ("maximumOverCapacity", s.maximum_over_capacity),
    ];
    let single = app
        .labels
        .get(defaults::SINGLE_INSTANCE_LABEL)
        .is_some_and(|l| l == "true");
    for (name, value) in fractions {
        let path = format!("/upgradeStrategy/{name}");
        if value > 1.0 {
            v.add(path.clone(), "is greater than 1");
        } else if value < 0.0 {
            v.add(path.clone(), "is less than 0");
        }
        if single && value != 0.0 {
            v.add(
                path,
                format!(
                    "must be 0 for a single-instance app (label {})",
                    defaults::SINGLE_INSTANCE_LABEL
                ),
            );
        }
    }
    if single && app.instances > 1 {
        v.add("/", "Single instance app may only have one instance");
    }
    if let UnreachableStrategy::Enabled {
        inactive_after_seconds: inactive,
        expunge_after_seconds: expunge,
    } = app.unreachable_strategy
        && inactive > expunge
    {
        v.add(
            "/unreachableStrategy",
            format!(
                "inactiveAfterSeconds ({inactive}) must be less or equal to expungeAfterSeconds, which is {expunge}"
            ),
        );
    }
}

/// Types one `[field, OPERATOR, value?]`, with Marathon's messages for arity and value rules.
pub(super) fn constraint(path: &str, raw: Vec<String>, v: &mut Violations) -> Option<Constraint> {
    let spec = raw.join(",");
    let c = match Constraint::try_from(raw) {
        Ok(c) => c,
        Err(msg) if msg.starts_with("illegal") || msg.starts_with("Missing") => {
            v.add(path, msg);
            return None;
        }
        Err(_) => {
            v.add(path, format!("illegal constraint specification {spec}"));
            return None;
        }
    };
    let value = c.value.as_deref();
    let error = match (c.operator, value) {
        (ConstraintOperator::Unique, Some(_)) => Some("Value specified but not used".to_owned()),
        (ConstraintOperator::Cluster | ConstraintOperator::Is, None) => {
            Some("Missing value".to_owned())
        }
        (ConstraintOperator::GroupBy | ConstraintOperator::MaxPer, Some(n))
            if n.parse::<i32>().is_err() =>
        {
            Some(format!(
                "Value was specified but is not a number ({} may either have no value or an integer value)",
                c.operator.as_str()
            ))
        }
        (ConstraintOperator::Like | ConstraintOperator::Unlike, None) => {
            Some("A regular expression value must be provided".to_owned())
        }
        (ConstraintOperator::Like | ConstraintOperator::Unlike, Some(re))
            if !plausible_regex(re) =>
        {
            Some(format!("'{re}' is not a valid regular expression"))
        }
        _ => None,
    };
    match error {
        Some(e) => {
            v.add(path, e);
            None
        }
        None => Some(c),
    }
}

/// No regex engine is linked in, so only the structural mistakes are caught here: unbalanced
/// groups or classes and a dangling escape.
fn plausible_regex(re: &str) -> bool {
    let mut depth = 0i32;
    let mut in_class = false;
    let mut chars = re.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' if chars.next().is_none() => return false,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && !in_class
}
