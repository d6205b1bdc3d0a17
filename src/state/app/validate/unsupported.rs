//! Fields whose feature is not built yet: refused by their path unless they hold the default.

use crate::state::app::{AppDefinition, EnvValue, NetworkMode, Violations, at};

/// Fields whose feature a later issue builds: their defaults are stored, anything else refused
/// rather than accepted and silently ignored.
pub(super) fn not_supported_yet(app: &AppDefinition, v: &mut Violations) {
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
