//! The canonical, default-filled app types; their serde shape is Marathon's JSON and the storage shape.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::checks::{Check, HealthCheck, ReadinessCheck};
use super::container::{Container, FetchUri, Network, PortDefinition};
use super::strategy::{KillSelection, Residency, UnreachableStrategy, UpgradeStrategy};
use crate::state::path::PathId;

/// Marathon's AppDefinition after normalization: legacy fields folded in, defaults filled, ids
/// canonical. Field names serialize in Marathon's camelCase so the stored shape and the served
/// shape stay one thing; `to_marathon_json` only drops what Marathon's writer drops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppDefinition {
    pub id: PathId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// Empty means unset: Marathon treats `[]` like an absent `args` everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub instances: u32,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: u32,
    /// "" (Mesos' default) or "//cmd" (command executor); custom executors come later.
    pub executor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_resources: Option<ExecutorResources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_limits: Option<ResourceLimits>,
    pub env: BTreeMap<String, EnvValue>,
    pub secrets: BTreeMap<String, SecretDef>,
    pub labels: BTreeMap<String, String>,
    pub constraints: Vec<Constraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_resource_roles: Option<Vec<String>>,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    pub networks: Vec<Network>,
    /// Host networking only; empty for container networks (and then not emitted).
    pub port_definitions: Vec<PortDefinition>,
    pub require_ports: bool,
    pub fetch: Vec<FetchUri>,
    pub health_checks: Vec<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
    pub readiness_checks: Vec<ReadinessCheck>,
    pub dependencies: Vec<PathId>,
    pub upgrade_strategy: UpgradeStrategy,
    pub backoff_seconds: u64,
    pub backoff_factor: f64,
    pub max_launch_delay_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_kill_grace_period_seconds: Option<u64>,
    pub unreachable_strategy: UnreachableStrategy,
    pub kill_selection: KillSelection,
    /// Deprecated in Marathon and refused here until resident apps exist; kept so stored data
    /// written by a later version still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Residency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
}

/// Defaults of §3.1, named so the parser and the tests agree on them.
pub mod defaults {
    pub const INSTANCES: u32 = 1;
    pub const CPUS: f64 = 1.0;
    pub const MEM: f64 = 128.0;
    pub const DISK: f64 = 0.0;
    pub const BACKOFF_SECONDS: u64 = 1;
    pub const BACKOFF_FACTOR: f64 = 1.15;
    /// 300 s since Marathon 1.8 (3600 before).
    pub const MAX_LAUNCH_DELAY_SECONDS: u64 = 300;
    pub const ROLE: &str = "*";
    /// The label that makes an app single-instance (instances <= 1, upgrade strategy {0, 0}).
    pub const SINGLE_INSTANCE_LABEL: &str = "MARATHON_SINGLE_INSTANCE_APP";
}

pub(super) fn yes() -> bool {
    true
}
pub(super) fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutorResources {
    #[serde(default)]
    pub cpus: f64,
    #[serde(default)]
    pub mem: f64,
    #[serde(default)]
    pub disk: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<ResourceLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<ResourceLimit>,
}

/// A resource limit: a number, or the string "unlimited".
#[derive(Clone, Debug, PartialEq)]
pub enum ResourceLimit {
    Unlimited,
    Value(f64),
}

impl Serialize for ResourceLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ResourceLimit::Unlimited => s.serialize_str("unlimited"),
            ResourceLimit::Value(v) => s.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for ResourceLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ResourceLimit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or \"unlimited\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResourceLimit, E> {
                match v {
                    "unlimited" => Ok(ResourceLimit::Unlimited),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ResourceLimit, E> {
                Ok(ResourceLimit::Value(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResourceLimit, E> {
                Ok(ResourceLimit::Value(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResourceLimit, E> {
                Ok(ResourceLimit::Value(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// An environment value: a plain string, or a reference `{"secret": "name"}` into `secrets`.
#[derive(Clone, Debug, PartialEq)]
pub enum EnvValue {
    Value(String),
    Secret { secret: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvSecretRef {
    secret: String,
}

impl Serialize for EnvValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EnvValue::Value(v) => s.serialize_str(v),
            EnvValue::Secret { secret } => EnvSecretRef {
                secret: secret.clone(),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or {\"secret\": name}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue::Value(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EnvValue, A::Error> {
                let r = EnvSecretRef::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(EnvValue::Secret { secret: r.secret })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretDef {
    pub source: String,
}

/// A placement rule `[field, OPERATOR, value?]`, typed once validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Constraint {
    pub field: String,
    pub operator: ConstraintOperator,
    pub value: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintOperator {
    Unique,
    Cluster,
    GroupBy,
    Like,
    Unlike,
    MaxPer,
    Is,
}

impl ConstraintOperator {
    pub const ALL: [ConstraintOperator; 7] = [
        ConstraintOperator::Unique,
        ConstraintOperator::Cluster,
        ConstraintOperator::GroupBy,
        ConstraintOperator::Like,
        ConstraintOperator::Unlike,
        ConstraintOperator::MaxPer,
        ConstraintOperator::Is,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintOperator::Unique => "UNIQUE",
            ConstraintOperator::Cluster => "CLUSTER",
            ConstraintOperator::GroupBy => "GROUP_BY",
            ConstraintOperator::Like => "LIKE",
            ConstraintOperator::Unlike => "UNLIKE",
            ConstraintOperator::MaxPer => "MAX_PER",
            ConstraintOperator::Is => "IS",
        }
    }

    pub fn parse(s: &str) -> Option<ConstraintOperator> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

impl From<Constraint> for Vec<String> {
    fn from(c: Constraint) -> Vec<String> {
        let mut v = vec![c.field, c.operator.as_str().to_owned()];
        v.extend(c.value);
        v
    }
}

impl TryFrom<Vec<String>> for Constraint {
    type Error = String;
    /// Shape only (arity, operator name); value rules live in validation, which reports them with
    /// Marathon's messages.
    fn try_from(v: Vec<String>) -> Result<Constraint, String> {
        let mut it = v.into_iter();
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(field), Some(op), value, None) => {
                let operator = ConstraintOperator::parse(&op)
                    .ok_or_else(|| format!("illegal constraint operator {op}"))?;
                Ok(Constraint {
                    field,
                    operator,
                    value,
                })
            }
            (None, _, _, _) => Err("Missing field and operator".to_owned()),
            _ => Err("a constraint is [field, OPERATOR] or [field, OPERATOR, value]".to_owned()),
        }
    }
}
