//! Health checks, the Mesos check and readiness checks: each well formed, health checks not
//! mixed across kinds, ports they name existing.

use std::collections::BTreeSet;

use super::MAX_PORT;
use crate::state::app::{AppDefinition, HealthCheckProtocol, ReadinessCheck, Violations, at};

/// How many host ports a health check's `portIndex` may address: the port mappings when there
/// are any, else the port definitions (Marathon's `portIndices`).
fn port_count(app: &AppDefinition) -> usize {
    match &app.container {
        Some(c) if !c.port_mappings.is_empty() => c.port_mappings.len(),
        _ => app.port_definitions.len(),
    }
}

pub(super) fn health_checks(app: &AppDefinition, v: &mut Violations) {
    let ports = port_count(app);
    for (i, hc) in app.health_checks.iter().enumerate() {
        let path = at("/healthChecks", i);
        let is_command = hc.protocol == HealthCheckProtocol::Command;
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

pub(super) fn check(app: &AppDefinition, v: &mut Violations) {
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

pub(super) fn readiness(app: &AppDefinition, v: &mut Violations) {
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
