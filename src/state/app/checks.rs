//! An app's health, Mesos and readiness checks: Marathon's JSON shapes.

use serde::{Deserialize, Serialize};

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
