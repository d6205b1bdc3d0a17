//! The upgrade strategy's capacities (single-instance apps included) and the unreachable
//! strategy's timeouts.

use crate::state::app::{AppDefinition, UnreachableStrategy, Violations, defaults};

pub(super) fn strategies(app: &AppDefinition, v: &mut Violations) {
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
