//! The app's role and its accepted resource roles: Mesos' name rules, and which roles an app
//! may take.

use std::collections::BTreeSet;

use crate::state::app::{AppDefinition, Violations, at, defaults};

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

pub(super) fn roles(app: &AppDefinition, v: &mut Violations) {
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
