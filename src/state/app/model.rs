//! The canonical, default-filled app types; their serde shape is Marathon's JSON and the storage shape.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

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

fn yes() -> bool {
    true
}
fn one() -> f64 {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ContainerType {
    Mesos,
    Docker,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    #[serde(rename = "type")]
    pub kind: ContainerType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<Docker>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// Container networking only; Marathon's writer drops them for host networking.
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_info: Option<LinuxInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Docker {
    pub image: String,
    #[serde(default)]
    pub force_pull_image: bool,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub parameters: Vec<DockerParameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<DockerCredential>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_config: Option<DockerPullConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerParameter {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerCredential {
    pub principal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerPullConfig {
    pub secret: String,
}

/// A host-path volume. Persistent, external and secret volumes are refused until built, so only
/// this kind is ever stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    pub container_path: String,
    pub host_path: String,
    pub mode: VolumeMode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeMode {
    #[serde(rename = "RO")]
    ReadOnly,
    #[serde(rename = "RW")]
    ReadWrite,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortMapping {
    #[serde(default)]
    pub container_port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u32>,
    #[serde(default)]
    pub service_port: u32,
    #[serde(default = "PortProtocol::tcp")]
    pub protocol: PortProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinuxInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_info: Option<IpcInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seccomp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    #[serde(default)]
    pub unconfined: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpcInfo {
    pub mode: IpcMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IpcMode {
    Private,
    ShareParent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    pub mode: NetworkMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Network {
    pub fn host() -> Network {
        Network {
            mode: NetworkMode::Host,
            name: None,
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkMode {
    #[serde(rename = "host")]
    Host,
    #[serde(rename = "container")]
    Container,
    #[serde(rename = "container/bridge")]
    ContainerBridge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortProtocol {
    #[serde(rename = "tcp")]
    Tcp,
    #[serde(rename = "udp")]
    Udp,
    #[serde(rename = "udp,tcp", alias = "tcp,udp")]
    UdpTcp,
}

impl PortProtocol {
    fn tcp() -> PortProtocol {
        PortProtocol::Tcp
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortDefinition {
    #[serde(default)]
    pub port: u32,
    #[serde(default = "PortProtocol::tcp")]
    pub protocol: PortProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl PortDefinition {
    /// What Marathon injects when a host-networked app names no ports at create.
    pub fn default_port() -> PortDefinition {
        PortDefinition {
            port: 0,
            protocol: PortProtocol::Tcp,
            name: Some("default".to_owned()),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FetchUri {
    pub uri: String,
    #[serde(default = "yes")]
    pub extract: bool,
    #[serde(default)]
    pub executable: bool,
    #[serde(default)]
    pub cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_path: Option<String>,
}

impl FetchUri {
    pub fn from_legacy_uri(uri: String) -> FetchUri {
        FetchUri {
            uri,
            extract: true,
            executable: false,
            cache: false,
            dest_path: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthCheckProtocol {
    Http,
    Https,
    Tcp,
    MesosHttp,
    MesosHttps,
    MesosTcp,
    Command,
}

impl HealthCheckProtocol {
    /// Checks run by the agent (scale with the cluster) rather than by the leader.
    pub fn is_mesos(self) -> bool {
        !matches!(
            self,
            HealthCheckProtocol::Http | HealthCheckProtocol::Https | HealthCheckProtocol::Tcp
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpProtocol {
    IPv4,
    IPv6,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default = "HealthCheck::default_protocol")]
    pub protocol: HealthCheckProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Overrides `port_index` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandSpec>,
    #[serde(default = "HealthCheck::default_grace")]
    pub grace_period_seconds: u64,
    #[serde(default = "HealthCheck::default_interval")]
    pub interval_seconds: u64,
    #[serde(default = "HealthCheck::default_timeout")]
    pub timeout_seconds: u64,
    /// 0 means never kill for Marathon checks (for Mesos checks: kill at the first failure).
    #[serde(default = "HealthCheck::default_max_failures")]
    pub max_consecutive_failures: u32,
    #[serde(default = "HealthCheck::default_delay")]
    pub delay_seconds: u64,
    #[serde(default, rename = "ignoreHttp1xx")]
    pub ignore_http1xx: bool,
    #[serde(default = "HealthCheck::default_ip_protocol")]
    pub ip_protocol: IpProtocol,
}

impl HealthCheck {
    fn default_protocol() -> HealthCheckProtocol {
        HealthCheckProtocol::Http
    }
    fn default_grace() -> u64 {
        300
    }
    fn default_interval() -> u64 {
        60
    }
    fn default_timeout() -> u64 {
        20
    }
    fn default_max_failures() -> u32 {
        3
    }
    fn default_delay() -> u64 {
        15
    }
    fn default_ip_protocol() -> IpProtocol {
        IpProtocol::IPv4
    }
}

/// A shell command of a COMMAND health check: `{"value": "curl -f localhost"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub value: String,
}

/// A Mesos check (1.6+): reported only, never acted upon. Exactly one of http/tcp/exec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
    #[serde(default = "HealthCheck::default_interval")]
    pub interval_seconds: u64,
    #[serde(default = "HealthCheck::default_timeout")]
    pub timeout_seconds: u64,
    #[serde(default = "HealthCheck::default_delay")]
    pub delay_seconds: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<HttpScheme>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpScheme {
    Http,
    Https,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    pub command: ExecCommand,
}

/// `{"shell": "…"}` (run by /bin/sh -c) or `{"argv": […]}`; exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCommand {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReadinessProtocol {
    Http,
    Https,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadinessCheck {
    #[serde(default = "ReadinessCheck::default_name")]
    pub name: String,
    #[serde(default = "ReadinessCheck::default_protocol")]
    pub protocol: ReadinessProtocol,
    #[serde(default = "ReadinessCheck::default_path")]
    pub path: String,
    #[serde(default = "ReadinessCheck::default_port_name")]
    pub port_name: String,
    #[serde(default = "ReadinessCheck::default_interval")]
    pub interval_seconds: u64,
    #[serde(default = "ReadinessCheck::default_timeout")]
    pub timeout_seconds: u64,
    #[serde(default = "ReadinessCheck::default_codes")]
    pub http_status_codes_for_ready: Vec<u16>,
    #[serde(default)]
    pub preserve_last_response: bool,
}

impl ReadinessCheck {
    fn default_name() -> String {
        "readinessCheck".to_owned()
    }
    fn default_protocol() -> ReadinessProtocol {
        ReadinessProtocol::Http
    }
    fn default_path() -> String {
        "/".to_owned()
    }
    fn default_port_name() -> String {
        "http-api".to_owned()
    }
    fn default_interval() -> u64 {
        30
    }
    fn default_timeout() -> u64 {
        10
    }
    fn default_codes() -> Vec<u16> {
        vec![200]
    }
}

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
