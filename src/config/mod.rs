//! The node's TOML configuration: read, checked whole, and refused with every problem at once.
//!
//! The file is walked as a `toml::Value` rather than deserialized with serde, because serde stops
//! at the first error and an operator fixing a config wants the whole list. Every key a reader
//! asks for is remembered, so whatever is left in a table is reported as unknown.

use std::fmt;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where `baton mesos-local` listens by default, and so where the ready configs point.
pub const DEFAULT_MESOS_MASTER: &str = "http://127.0.0.1:5050";
/// One week: how long Mesos keeps a disconnected framework's tasks before killing them.
pub const DEFAULT_FAILOVER_TIMEOUT_SECS: u64 = 604_800;
/// Marathon's `--reconciliation_interval`.
pub const DEFAULT_RECONCILIATION_INTERVAL_SECS: u64 = 600;
/// Marathon's `--decline_offer_duration`.
pub const DEFAULT_DECLINE_OFFER_DURATION_SECS: u64 = 120;

/// A validated node configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub node: NodeConfig,
    /// The cluster's initial voters, sorted by id; this node is one of them.
    pub members: Vec<Member>,
    pub mesos: MesosConfig,
    pub raft: RaftTimings,
    pub log: LogConfig,
}

/// What this process is and where it listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    pub id: u64,
    /// Relative paths are relative to the current directory.
    pub data_dir: PathBuf,
    pub peer_listen: SocketAddr,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
}

/// One voter of the initial cluster, with the addresses other nodes and clients dial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    /// `host:port` of its Raft peer listener.
    pub peer: String,
    /// `host:port` of its public gRPC listener.
    pub grpc: String,
    /// `host:port` of its REST listener.
    pub http: String,
}

/// How the leader registers with Mesos as a framework.
#[derive(Clone, PartialEq, Eq)]
pub struct MesosConfig {
    /// `http(s)://host:port` URLs, without a trailing slash; tried in turn.
    pub masters: Vec<String>,
    pub framework_name: String,
    pub role: String,
    pub user: Option<String>,
    pub failover_timeout_secs: u64,
    pub principal: Option<String>,
    pub secret: Option<String>,
    /// How often the leader reconciles every task with the master (Marathon: 10 minutes).
    pub reconciliation_interval_secs: u64,
    /// How long declined offers stay away while nothing waits to launch (Marathon: 120 s).
    pub decline_offer_duration_secs: u64,
    /// At most this many instances (of all apps together) are placed on one offer (Marathon's
    /// `--max_instances_per_offer`, 5). Mesos offers each agent about once per allocation
    /// interval, so this paces launches: agents × this per interval at most.
    pub max_instances_per_offer: usize,
}

/// Raft timings; failover within a second needs elections in the hundreds of milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaftTimings {
    pub heartbeat_interval_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// How long a leader may act without a quorum ack; no follower can have started an election
    /// before `election_timeout_min_ms`, so the lease must not be longer.
    pub lease_ms: u64,
    pub snapshot_logs_since_last: u64,
    pub max_in_snapshot_log_to_keep: u64,
    pub install_snapshot_timeout_ms: u64,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Logging settings; the `RUST_LOG` environment variable still wins over `filter`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `RUST_LOG`-style filter such as `info,baton::raft=debug`.
    pub filter: Option<String>,
}

/// Command-line overrides applied on top of the file before validation.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    /// Comma-separated URLs.
    pub mesos_master: Option<String>,
    pub log_format: Option<LogFormat>,
}

/// Everything wrong with one configuration, so it can be fixed in one go.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration {path}:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub path: String,
    pub problems: Vec<String>,
}

impl Default for MesosConfig {
    fn default() -> Self {
        MesosConfig {
            masters: vec![DEFAULT_MESOS_MASTER.to_string()],
            framework_name: "baton".to_string(),
            role: "*".to_string(),
            user: None,
            failover_timeout_secs: DEFAULT_FAILOVER_TIMEOUT_SECS,
            principal: None,
            secret: None,
            reconciliation_interval_secs: DEFAULT_RECONCILIATION_INTERVAL_SECS,
            decline_offer_duration_secs: DEFAULT_DECLINE_OFFER_DURATION_SECS,
            max_instances_per_offer: crate::scheduler::DEFAULT_MAX_INSTANCES_PER_OFFER,
        }
    }
}

/// Written by hand so that the secret never reaches a log line.
impl fmt::Debug for MesosConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MesosConfig")
            .field("masters", &self.masters)
            .field("framework_name", &self.framework_name)
            .field("role", &self.role)
            .field("user", &self.user)
            .field("failover_timeout_secs", &self.failover_timeout_secs)
            .field("principal", &self.principal)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "reconciliation_interval_secs",
                &self.reconciliation_interval_secs,
            )
            .field(
                "decline_offer_duration_secs",
                &self.decline_offer_duration_secs,
            )
            .field("max_instances_per_offer", &self.max_instances_per_offer)
            .finish()
    }
}

impl Default for RaftTimings {
    fn default() -> Self {
        RaftTimings {
            heartbeat_interval_ms: 50,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            lease_ms: 150,
            snapshot_logs_since_last: 10_000,
            max_in_snapshot_log_to_keep: 1_000,
            install_snapshot_timeout_ms: 10_000,
        }
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format \"{other}\" (expected \"text\" or \"json\")"
            )),
        }
    }
}

impl Config {
    /// Reads, parses and validates FILE; reports every problem at once.
    pub fn load(path: &Path, overrides: Overrides) -> Result<Config, ConfigError> {
        match fs::read_to_string(path) {
            Ok(text) => Config::from_toml(&text, &path.display().to_string(), overrides),
            Err(e) => Err(ConfigError {
                path: path.display().to_string(),
                problems: vec![format!("cannot read the configuration file: {e}")],
            }),
        }
    }

    /// Same from a string (tests, `baton dev`); `origin` names the text in the error.
    pub fn from_toml(
        text: &str,
        origin: &str,
        overrides: Overrides,
    ) -> Result<Config, ConfigError> {
        parse(text, overrides).map_err(|problems| ConfigError {
            path: origin.to_string(),
            problems,
        })
    }

    /// The single-node configuration `baton dev` runs: node 1, its own addresses the only member.
    pub fn single_node(
        data_dir: PathBuf,
        peer: SocketAddr,
        grpc: SocketAddr,
        http: SocketAddr,
    ) -> Config {
        Config {
            node: NodeConfig {
                id: 1,
                data_dir,
                peer_listen: peer,
                grpc_listen: grpc,
                http_listen: http,
            },
            members: vec![Member {
                id: 1,
                peer: peer.to_string(),
                grpc: grpc.to_string(),
                http: http.to_string(),
            }],
            mesos: MesosConfig::default(),
            raft: RaftTimings::default(),
            log: LogConfig::default(),
        }
    }

    /// This node's own `Member` entry.
    pub fn me(&self) -> &Member {
        self.members
            .iter()
            .find(|m| m.id == self.node.id)
            .expect("a validated Config lists its own node among its members")
    }
}

mod parse;
mod section;
mod values;

#[cfg(test)]
mod tests;

use parse::parse;
