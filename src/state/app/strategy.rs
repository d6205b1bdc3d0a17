//! How an app is upgraded, what happens to its unreachable instances, which are killed first,
//! and what a resident app keeps: Marathon's JSON shapes.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::model::one;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpgradeStrategy {
    #[serde(default = "one")]
    pub minimum_health_capacity: f64,
    #[serde(default = "one")]
    pub maximum_over_capacity: f64,
}

impl Default for UpgradeStrategy {
    fn default() -> Self {
        UpgradeStrategy {
            minimum_health_capacity: 1.0,
            maximum_over_capacity: 1.0,
        }
    }
}

impl UpgradeStrategy {
    /// The only strategy a `MARATHON_SINGLE_INSTANCE_APP` may have: never two copies at once.
    pub fn single_instance() -> Self {
        UpgradeStrategy {
            minimum_health_capacity: 0.0,
            maximum_over_capacity: 0.0,
        }
    }
}

/// What to do when an instance's agent becomes unreachable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnreachableStrategy {
    /// Never replace (required for resident apps).
    Disabled,
    Enabled {
        inactive_after_seconds: u64,
        expunge_after_seconds: u64,
    },
}

impl Default for UnreachableStrategy {
    /// {0, 0}: Marathon's default since 1.5.1.
    fn default() -> Self {
        UnreachableStrategy::Enabled {
            inactive_after_seconds: 0,
            expunge_after_seconds: 0,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UnreachableEnabled {
    #[serde(default)]
    inactive_after_seconds: u64,
    #[serde(default)]
    expunge_after_seconds: u64,
}

impl Serialize for UnreachableStrategy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UnreachableStrategy::Disabled => s.serialize_str("disabled"),
            UnreachableStrategy::Enabled {
                inactive_after_seconds,
                expunge_after_seconds,
            } => UnreachableEnabled {
                inactive_after_seconds: *inactive_after_seconds,
                expunge_after_seconds: *expunge_after_seconds,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for UnreachableStrategy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UnreachableStrategy;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"disabled\" or {inactiveAfterSeconds, expungeAfterSeconds}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UnreachableStrategy, E> {
                match v {
                    "disabled" => Ok(UnreachableStrategy::Disabled),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<UnreachableStrategy, A::Error> {
                let e =
                    UnreachableEnabled::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(UnreachableStrategy::Enabled {
                    inactive_after_seconds: e.inactive_after_seconds,
                    expunge_after_seconds: e.expunge_after_seconds,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KillSelection {
    #[default]
    YoungestFirst,
    OldestFirst,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Residency {
    #[serde(default = "Residency::default_escalation")]
    pub relaunch_escalation_timeout_seconds: u64,
    #[serde(default = "Residency::default_behavior")]
    pub task_lost_behavior: TaskLostBehavior,
}

impl Residency {
    fn default_escalation() -> u64 {
        3600
    }
    fn default_behavior() -> TaskLostBehavior {
        TaskLostBehavior::WaitForever
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskLostBehavior {
    WaitForever,
    RelaunchAfterTimeout,
}
