//! Marathon's app rules over the canonical model, each reported with its JSON path.
//!
//! `mod.rs` runs every rule and holds the command and resource ones; the others are grouped in
//! `unsupported.rs`, `roles.rs`, `networking.rs`, `checks.rs` and `strategies.rs`, and
//! `constraint.rs` types a placement constraint while a request is resolved.

mod checks;
mod constraint;
mod networking;
mod roles;
mod strategies;
mod unsupported;

use super::{AppDefinition, ResourceLimit};
use super::{Violations, at};
use checks::{check, health_checks, readiness};
pub(super) use constraint::constraint;
use networking::{container, networking};
use roles::roles;
use strategies::strategies;
use unsupported::not_supported_yet;

pub(super) const MAX_PORT: u32 = 65535;

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
