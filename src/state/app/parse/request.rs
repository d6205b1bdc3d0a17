//! The request body as sent, before it becomes an app: every top-level field optional, legacy
//! fields kept apart, response-only fields accepted and ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::state::app::{
    Check, ContainerType, DockerCredential, DockerParameter, DockerPullConfig, EnvValue,
    ExecutorResources, FetchUri, HealthCheck, KillSelection, LinuxInfo, Network, PortDefinition,
    PortMapping, ReadinessCheck, Residency, ResourceLimits, SecretDef, UnreachableStrategy,
    UpgradeStrategy, VolumeMode,
};

/// A request body as sent: every top-level field optional (so a merge can tell absent from
/// present), legacy fields still separate, response-only fields swallowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(in crate::state::app) struct AppRequest {
    pub(super) id: Option<String>,
    pub(super) cmd: Option<String>,
    pub(super) args: Option<Vec<String>>,
    pub(super) user: Option<String>,
    /// Signed so that a negative count is a rule violation (422) rather than a type error (400).
    pub(super) instances: Option<i64>,
    pub(super) cpus: Option<f64>,
    pub(super) mem: Option<f64>,
    pub(super) disk: Option<f64>,
    pub(super) gpus: Option<i64>,
    pub(super) executor: Option<String>,
    pub(super) executor_resources: Option<ExecutorResources>,
    pub(super) resource_limits: Option<ResourceLimits>,
    pub(super) env: Option<BTreeMap<String, EnvValue>>,
    pub(super) secrets: Option<BTreeMap<String, SecretDef>>,
    pub(super) labels: Option<BTreeMap<String, String>>,
    /// Raw strings: operator and arity errors are rule violations with Marathon's messages.
    pub(super) constraints: Option<Vec<Vec<String>>>,
    pub(super) accepted_resource_roles: Option<Vec<String>>,
    pub(super) role: Option<String>,
    pub(super) container: Option<ContainerRequest>,
    pub(super) networks: Option<Vec<Network>>,
    pub(super) port_definitions: Option<Vec<PortDefinition>>,
    pub(super) require_ports: Option<bool>,
    pub(super) fetch: Option<Vec<FetchUri>>,
    pub(super) health_checks: Option<Vec<HealthCheck>>,
    pub(super) check: Option<Check>,
    pub(super) readiness_checks: Option<Vec<ReadinessCheck>>,
    pub(super) dependencies: Option<Vec<String>>,
    pub(super) upgrade_strategy: Option<UpgradeStrategy>,
    pub(super) backoff_seconds: Option<i64>,
    pub(super) backoff_factor: Option<f64>,
    pub(super) max_launch_delay_seconds: Option<i64>,
    pub(super) task_kill_grace_period_seconds: Option<i64>,
    pub(super) unreachable_strategy: Option<UnreachableStrategy>,
    pub(super) kill_selection: Option<KillSelection>,
    pub(super) residency: Option<Residency>,
    pub(super) tty: Option<bool>,

    // Legacy input, folded into canonical fields and never stored as such.
    pub(super) ports: Option<Vec<i64>>,
    pub(super) uris: Option<Vec<String>>,
    pub(super) ip_address: Option<IpAddressRequest>,

    // Response-only fields that clients (marathon-python) send back on update: ignored.
    #[serde(rename = "version")]
    _version: Option<IgnoredAny>,
    #[serde(rename = "versionInfo")]
    _version_info: Option<IgnoredAny>,
    #[serde(rename = "tasksRunning")]
    _tasks_running: Option<IgnoredAny>,
    #[serde(rename = "tasksStaged")]
    _tasks_staged: Option<IgnoredAny>,
    #[serde(rename = "tasksHealthy")]
    _tasks_healthy: Option<IgnoredAny>,
    #[serde(rename = "tasksUnhealthy")]
    _tasks_unhealthy: Option<IgnoredAny>,
    #[serde(rename = "deployments")]
    _deployments: Option<IgnoredAny>,
    #[serde(rename = "tasks")]
    _tasks: Option<IgnoredAny>,
    #[serde(rename = "lastTaskFailure")]
    _last_task_failure: Option<IgnoredAny>,
    #[serde(rename = "readinessCheckResults")]
    _readiness_check_results: Option<IgnoredAny>,
    #[serde(rename = "taskStats")]
    _task_stats: Option<IgnoredAny>,
    #[serde(rename = "tasksStats")]
    _tasks_stats: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ContainerRequest {
    /// RAML's default is DOCKER.
    #[serde(rename = "type")]
    pub(super) kind: Option<ContainerType>,
    pub(super) docker: Option<DockerRequest>,
    pub(super) volumes: Option<Vec<VolumeRequest>>,
    pub(super) port_mappings: Option<Vec<PortMapping>>,
    pub(super) linux_info: Option<LinuxInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DockerRequest {
    #[serde(default)]
    pub(super) image: String,
    #[serde(default)]
    pub(super) force_pull_image: bool,
    #[serde(default)]
    pub(super) privileged: bool,
    #[serde(default)]
    pub(super) parameters: Vec<DockerParameter>,
    pub(super) credential: Option<DockerCredential>,
    pub(super) pull_config: Option<DockerPullConfig>,
    /// Legacy (pre-1.5) networking, replaced by top-level `networks`.
    pub(super) network: Option<DockerNetwork>,
    /// Legacy place of `container.portMappings`.
    pub(super) port_mappings: Option<Vec<PortMapping>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum DockerNetwork {
    Host,
    Bridge,
    User,
    None,
}

/// Any volume kind Marathon knows, so that the not-yet-built kinds are refused by name.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct VolumeRequest {
    #[serde(default)]
    pub(super) container_path: String,
    pub(super) host_path: Option<String>,
    pub(super) mode: Option<VolumeMode>,
    pub(super) persistent: Option<IgnoredAny>,
    pub(super) external: Option<IgnoredAny>,
    pub(super) secret: Option<IgnoredAny>,
}

/// Legacy (1.0–1.4) container networking.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct IpAddressRequest {
    pub(super) network_name: Option<String>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, String>,
    #[serde(rename = "groups")]
    _groups: Option<IgnoredAny>,
    #[serde(rename = "discovery")]
    _discovery: Option<IgnoredAny>,
}
