//! The node's TOML configuration: read, checked whole, and refused with every problem at once.
//!
//! The file is walked as a `toml::Value` rather than deserialized with serde, because serde stops
//! at the first error and an operator fixing a config wants the whole list. Every key a reader
//! asks for is remembered, so whatever is left in a table is reported as unknown.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use toml::{Table, Value};

/// Where `baton mesos-local` listens by default, and so where the ready configs point.
pub const DEFAULT_MESOS_MASTER: &str = "http://127.0.0.1:5050";
/// One week: how long Mesos keeps a disconnected framework's tasks before killing them.
pub const DEFAULT_FAILOVER_TIMEOUT_SECS: u64 = 604_800;

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

/// Parses and checks the whole text, collecting every problem.
fn parse(text: &str, overrides: Overrides) -> Result<Config, Vec<String>> {
    let root: Table = text
        .parse()
        .map_err(|e: toml::de::Error| vec![syntax_problem(text, &e)])?;
    let mut p = Vec::new();
    let empty = Table::new();
    let mut root = Section::new(String::new(), &root);

    let node = match root.table("node", &mut p) {
        Some(mut s) => {
            let node = read_node(&mut s, &overrides, &mut p);
            s.finish(&mut p);
            Some(node)
        }
        None => {
            if root.table_absent("node") {
                p.push("missing required key `node`".to_string());
            }
            None
        }
    };
    let members = read_members(&mut root, &mut p);
    let mesos = root
        .table_or_empty("mesos", &empty, &mut p)
        .and_then(|mut s| {
            let mesos = read_mesos(&mut s, &overrides, &mut p);
            s.finish(&mut p);
            mesos
        });
    let raft = root
        .table_or_empty("raft", &empty, &mut p)
        .and_then(|mut s| {
            let raft = read_raft(&mut s, &mut p);
            s.finish(&mut p);
            raft
        });
    let log = root
        .table_or_empty("log", &empty, &mut p)
        .and_then(|mut s| {
            let log = read_log(&mut s, &overrides, &mut p);
            s.finish(&mut p);
            log
        });
    root.finish(&mut p);

    if let (Some(node), Some(members)) = (&node, &members) {
        check_own_entry(node, members, &mut p);
    }
    let data_dir = node.as_ref().and_then(|n| n.data_dir.clone());
    if let Some((dir, key)) = &data_dir
        && let Err(e) = check_data_dir(dir)
    {
        p.push(format!(
            "{key} \"{}\": unreachable data dir: {e}",
            dir.display()
        ));
    }

    if !p.is_empty() {
        return Err(p);
    }
    // Every `None` below has recorded a problem above; these guards only keep that promise
    // without a panic.
    let (Some(node), Some(members), Some(mesos), Some(raft), Some(log)) =
        (node, members, mesos, raft, log)
    else {
        return Err(vec!["incomplete configuration".to_string()]);
    };
    let (Some(id), Some((data_dir, _)), [Some(peer), Some(grpc), Some(http)]) =
        (node.id, data_dir, node.listens)
    else {
        return Err(vec!["incomplete `node` section".to_string()]);
    };
    let mut members: Vec<Member> = members
        .into_iter()
        .filter_map(RawMember::into_member)
        .collect();
    members.sort_by_key(|m| m.id);
    Ok(Config {
        node: NodeConfig {
            id,
            data_dir,
            peer_listen: peer,
            grpc_listen: grpc,
            http_listen: http,
        },
        members,
        mesos,
        raft,
        log,
    })
}

/// A TOML syntax error on one line: "not valid TOML at line L, column C: why".
fn syntax_problem(text: &str, e: &toml::de::Error) -> String {
    let at = e
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| {
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            format!(" at line {line}, column {column}")
        });
    format!(
        "not valid TOML{}: {}",
        at.unwrap_or_default(),
        e.message().trim_end()
    )
}

/// The names of the three addresses each node has, in the order `listens` and `addrs` hold them.
const ROLES: [&str; 3] = ["peer", "grpc", "http"];

/// `[node]` as read, with whatever could be parsed.
struct RawNode {
    id: Option<u64>,
    /// The directory and the name of where it came from (the key or the flag).
    data_dir: Option<(PathBuf, &'static str)>,
    listens: [Option<SocketAddr>; 3],
}

fn read_node(s: &mut Section<'_>, overrides: &Overrides, p: &mut Vec<String>) -> RawNode {
    let id = s.take("id", Need::Required, p, as_u64);
    let need_dir = match overrides.data_dir {
        Some(_) => Need::Optional,
        None => Need::Required,
    };
    let from_file = s.take("data_dir", need_dir, p, as_path);
    let data_dir = match (&overrides.data_dir, from_file) {
        (Some(dir), _) => Some((dir.clone(), "--data-dir")),
        (None, Some(Some(dir))) => Some((dir, "`node.data_dir`")),
        (None, _) => None,
    };
    let listens = ["peer_listen", "grpc_listen", "http_listen"]
        .map(|key| s.take(key, Need::Required, p, as_socket_addr).flatten());
    for i in 0..3 {
        for j in (i + 1)..3 {
            if let (Some(a), Some(b)) = (listens[i], listens[j])
                && listens_collide(a, b)
            {
                p.push(format!(
                    "`node.{}_listen` {a} and `node.{}_listen` {b} collide: \
                     they would bind the same port",
                    ROLES[i], ROLES[j]
                ));
            }
        }
    }
    RawNode {
        id: id.flatten(),
        data_dir,
        listens,
    }
}

/// Two listeners collide when they share a port on the same address, or either binds all of them.
fn listens_collide(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// One `[[members]]` entry as read.
struct RawMember {
    label: String,
    id: Option<u64>,
    /// The text as written, and its parsed form.
    addrs: [Option<(String, HostPort)>; 3],
}

impl RawMember {
    fn into_member(self) -> Option<Member> {
        let [Some(peer), Some(grpc), Some(http)] = self.addrs else {
            return None;
        };
        Some(Member {
            id: self.id?,
            peer: peer.0,
            grpc: grpc.0,
            http: http.0,
        })
    }
}

fn read_members(root: &mut Section<'_>, p: &mut Vec<String>) -> Option<Vec<RawMember>> {
    let Some(value) = root.get("members") else {
        p.push("missing required key `members`: list every voter, this node included".into());
        return None;
    };
    let Value::Array(entries) = value else {
        p.push(format!(
            "`members` must be an array of tables ([[members]]), found {}",
            value.type_str()
        ));
        return None;
    };
    if entries.is_empty() {
        p.push("`members` is empty: list every voter, this node included".to_string());
        return None;
    }
    let mut members = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let label = format!("members[{i}]");
        let Value::Table(table) = entry else {
            p.push(format!(
                "`{label}` must be a table, found {}",
                entry.type_str()
            ));
            continue;
        };
        let mut s = Section::new(label.clone(), table);
        let id = s.take("id", Need::Required, p, as_u64).flatten();
        let addrs = ROLES.map(|key| s.take(key, Need::Required, p, as_host_port).flatten());
        s.finish(p);
        members.push(RawMember { label, id, addrs });
    }

    let mut ids: HashMap<u64, &str> = HashMap::new();
    let mut seen: HashMap<&HostPort, String> = HashMap::new();
    for m in &members {
        if let Some(id) = m.id
            && let Some(first) = ids.insert(id, &m.label)
        {
            p.push(format!(
                "duplicate member id {id}: `{first}` and `{}`",
                m.label
            ));
        }
        for (role, addr) in ROLES.iter().zip(&m.addrs) {
            let Some((text, hp)) = addr else { continue };
            let key = format!("{}.{role}", m.label);
            if let Some(first) = seen.get(hp) {
                p.push(format!("duplicate address {text}: `{first}` and `{key}`"));
            } else {
                seen.insert(hp, key);
            }
        }
    }
    Some(members)
}

/// This node must be a member, and its entry must point at the addresses it listens on.
fn check_own_entry(node: &RawNode, members: &[RawMember], p: &mut Vec<String>) {
    let Some(id) = node.id else { return };
    if members.iter().all(|m| m.id.is_some()) && !members.iter().any(|m| m.id == Some(id)) {
        let mut ids: Vec<u64> = members.iter().filter_map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        p.push(format!(
            "`node.id` {id} is not among `members` (ids {})",
            ids.join(", ")
        ));
        return;
    }
    for m in members.iter().filter(|m| m.id == Some(id)) {
        for ((role, listen), addr) in ROLES.iter().zip(&node.listens).zip(&m.addrs) {
            if let (Some(listen), Some((text, hp))) = (listen, addr)
                && !hp.served_by(*listen)
            {
                p.push(format!(
                    "`{}.{role}` {text} is this node's entry but disagrees with \
                     `node.{role}_listen` {listen}",
                    m.label
                ));
            }
        }
    }
}

fn read_mesos(
    s: &mut Section<'_>,
    overrides: &Overrides,
    p: &mut Vec<String>,
) -> Option<MesosConfig> {
    let defaults = MesosConfig::default();
    let need_master = match overrides.mesos_master {
        Some(_) => Need::Optional,
        None => Need::Required,
    };
    let from_file = s.take("master", need_master, p, as_master_list).flatten();
    let masters = match &overrides.mesos_master {
        Some(flag) => parse_masters(flag, "--mesos-master", p),
        None => from_file.and_then(|list| {
            let mut masters = Vec::new();
            for (i, url) in list.iter().enumerate() {
                match parse_master_url(url) {
                    Ok(u) => masters.push(u),
                    Err(e) => p.push(format!("`mesos.master` entry {} {e}", i + 1)),
                }
            }
            (masters.len() == list.len()).then_some(masters)
        }),
    };
    let framework_name = s.non_empty("framework_name", defaults.framework_name, p);
    let role = s.non_empty("role", defaults.role, p);
    let user = s.take("user", Need::Optional, p, as_non_empty).flatten();
    let failover_timeout_secs = s
        .take("failover_timeout_secs", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.failover_timeout_secs));
    let principal = s
        .take("principal", Need::Optional, p, as_non_empty)
        .flatten();
    let secret = s.take("secret", Need::Optional, p, as_non_empty).flatten();
    if secret.is_some() && principal.is_none() {
        p.push("`mesos.secret` is set without `mesos.principal`".to_string());
    }
    Some(MesosConfig {
        masters: masters?,
        framework_name: framework_name?,
        role: role?,
        user,
        failover_timeout_secs: failover_timeout_secs?,
        principal,
        secret,
    })
}

/// Splits a comma-separated list of master URLs and checks each.
fn parse_masters(list: &str, key: &str, p: &mut Vec<String>) -> Option<Vec<String>> {
    let mut masters = Vec::new();
    let mut ok = true;
    for url in list.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match parse_master_url(url) {
            Ok(u) => masters.push(u),
            Err(e) => {
                p.push(format!("{key} {e}"));
                ok = false;
            }
        }
    }
    if masters.is_empty() && ok {
        p.push(format!("{key} names no Mesos master"));
        return None;
    }
    ok.then_some(masters)
}

fn read_raft(s: &mut Section<'_>, p: &mut Vec<String>) -> Option<RaftTimings> {
    let d = RaftTimings::default();
    let mut get = |key: &'static str, default: u64| {
        s.take(key, Need::Optional, p, as_u64)
            .unwrap_or(Some(default))
    };
    let heartbeat = get("heartbeat_interval_ms", d.heartbeat_interval_ms);
    let min = get("election_timeout_min_ms", d.election_timeout_min_ms);
    let max = get("election_timeout_max_ms", d.election_timeout_max_ms);
    let lease = match min {
        Some(min) => get("lease_ms", min),
        None => get("lease_ms", d.lease_ms),
    };
    let snapshot_logs_since_last = get("snapshot_logs_since_last", d.snapshot_logs_since_last);
    let max_in_snapshot_log_to_keep =
        get("max_in_snapshot_log_to_keep", d.max_in_snapshot_log_to_keep);
    let install_snapshot_timeout_ms =
        get("install_snapshot_timeout_ms", d.install_snapshot_timeout_ms);

    let t = RaftTimings {
        heartbeat_interval_ms: heartbeat?,
        election_timeout_min_ms: min?,
        election_timeout_max_ms: max?,
        lease_ms: lease?,
        snapshot_logs_since_last: snapshot_logs_since_last?,
        max_in_snapshot_log_to_keep: max_in_snapshot_log_to_keep?,
        install_snapshot_timeout_ms: install_snapshot_timeout_ms?,
    };
    let (hb, min, max, lease) = (
        t.heartbeat_interval_ms,
        t.election_timeout_min_ms,
        t.election_timeout_max_ms,
        t.lease_ms,
    );
    let rules = [
        (
            hb > 0,
            "`raft.heartbeat_interval_ms` must be greater than 0".to_string(),
        ),
        (
            min < max,
            format!(
                "`raft.election_timeout_min_ms` ({min}) must be less than \
                 `raft.election_timeout_max_ms` ({max})"
            ),
        ),
        (
            hb.saturating_mul(2) <= min,
            format!(
                "`raft.heartbeat_interval_ms` ({hb}) times 2 must not exceed \
                 `raft.election_timeout_min_ms` ({min})"
            ),
        ),
        (
            lease > 0,
            "`raft.lease_ms` must be greater than 0".to_string(),
        ),
        (
            lease <= min,
            format!(
                "`raft.lease_ms` ({lease}) must not exceed `raft.election_timeout_min_ms` ({min})"
            ),
        ),
        (
            t.snapshot_logs_since_last > 0,
            "`raft.snapshot_logs_since_last` must be greater than 0".to_string(),
        ),
        (
            t.install_snapshot_timeout_ms > 0,
            "`raft.install_snapshot_timeout_ms` must be greater than 0".to_string(),
        ),
    ];
    let before = p.len();
    p.extend(
        rules
            .into_iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, problem)| problem),
    );
    (p.len() == before).then_some(t)
}

fn read_log(s: &mut Section<'_>, overrides: &Overrides, p: &mut Vec<String>) -> Option<LogConfig> {
    let format = s.take("format", Need::Optional, p, |v| {
        as_string(v)?
            .parse::<LogFormat>()
            .map_err(|e| format!("is an {e}"))
    });
    let filter = s.take("filter", Need::Optional, p, |v| {
        let f = as_string(v)?;
        match tracing_subscriber::EnvFilter::try_new(&f) {
            Ok(_) => Ok(f),
            Err(e) => Err(format!("is not a valid filter \"{f}\": {e}")),
        }
    });
    let format = match (overrides.log_format, format) {
        (Some(flag), _) => flag,
        (None, None) => LogFormat::default(),
        (None, Some(from_file)) => from_file?,
    };
    Some(LogConfig {
        format,
        filter: filter.unwrap_or(None).filter(|f| !f.is_empty()),
    })
}

/// Creates the data directory if missing and proves it is a writable directory.
fn check_data_dir(dir: &Path) -> Result<(), String> {
    if dir.as_os_str().is_empty() {
        return Err("the path is empty".to_string());
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create it: {e}"))?;
    let meta = fs::metadata(dir).map_err(|e| format!("cannot inspect it: {e}"))?;
    if !meta.is_dir() {
        return Err("it is not a directory".to_string());
    }
    let probe = dir.join(format!(".baton-write-probe-{}", std::process::id()));
    fs::write(&probe, b"probe").map_err(|e| format!("it is not writable: {e}"))?;
    fs::remove_file(&probe).map_err(|e| format!("cannot remove the probe file in it: {e}"))
}

/// Whether a key must be present.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}

/// One TOML table being read; it remembers which keys were asked for, so the rest are unknown.
struct Section<'t> {
    /// The dotted path of the table, empty for the root.
    path: String,
    table: &'t Table,
    known: Vec<&'static str>,
}

impl<'t> Section<'t> {
    fn new(path: String, table: &'t Table) -> Self {
        Section {
            path,
            table,
            known: Vec::new(),
        }
    }

    fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'t Value> {
        self.known.push(key);
        self.table.get(key)
    }

    fn table_absent(&self, key: &str) -> bool {
        !self.table.contains_key(key)
    }

    /// A sub-table, or an empty one when absent, so its defaults apply; `None` (with a problem
    /// recorded) when it is not a table.
    fn table_or_empty(
        &mut self,
        key: &'static str,
        empty: &'t Table,
        p: &mut Vec<String>,
    ) -> Option<Section<'t>> {
        if self.table_absent(key) {
            self.known.push(key);
            return Some(Section::new(self.key(key), empty));
        }
        self.table(key, p)
    }

    /// A sub-table; `None` when absent or (with a problem recorded) not a table.
    fn table(&mut self, key: &'static str, p: &mut Vec<String>) -> Option<Section<'t>> {
        match self.get(key)? {
            Value::Table(t) => Some(Section::new(self.key(key), t)),
            other => {
                p.push(format!(
                    "`{}` must be a table, found {}",
                    self.key(key),
                    other.type_str()
                ));
                None
            }
        }
    }

    /// Reads `key` with `convert`. The outer `None` means absent; the inner one means present
    /// but invalid, with the problem recorded.
    fn take<T>(
        &mut self,
        key: &'static str,
        need: Need,
        p: &mut Vec<String>,
        convert: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let Some(value) = self.get(key) else {
            if need == Need::Required {
                p.push(format!("missing required key `{}`", self.key(key)));
                return Some(None);
            }
            return None;
        };
        match convert(value) {
            Ok(v) => Some(Some(v)),
            Err(e) => {
                p.push(format!("`{}` {e}", self.key(key)));
                Some(None)
            }
        }
    }

    /// An optional non-empty string with a default; `None` when invalid.
    fn non_empty(
        &mut self,
        key: &'static str,
        default: String,
        p: &mut Vec<String>,
    ) -> Option<String> {
        self.take(key, Need::Optional, p, as_non_empty)
            .unwrap_or(Some(default))
    }

    /// Reports every key of the table that no reader asked for.
    fn finish(self, p: &mut Vec<String>) {
        for key in self.table.keys() {
            if !self.known.contains(&key.as_str()) {
                p.push(format!("unknown key `{}`", self.key(key)));
            }
        }
    }
}

fn as_u64(v: &Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) => {
            u64::try_from(*i).map_err(|_| format!("must not be negative, found {i}"))
        }
        other => Err(format!("must be an integer, found {}", other.type_str())),
    }
}

fn as_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("must be a string, found {}", other.type_str())),
    }
}

fn as_non_empty(v: &Value) -> Result<String, String> {
    let s = as_string(v)?;
    if s.trim().is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(s)
}

fn as_path(v: &Value) -> Result<PathBuf, String> {
    as_non_empty(v).map(PathBuf::from)
}

fn as_socket_addr(v: &Value) -> Result<SocketAddr, String> {
    let s = as_string(v)?;
    s.parse()
        .map_err(|_| format!("\"{s}\" is not an IP:port address (such as \"127.0.0.1:7101\")"))
}

fn as_host_port(v: &Value) -> Result<(String, HostPort), String> {
    let s = as_string(v)?;
    let hp = HostPort::parse(&s).map_err(|e| format!("\"{s}\" is not a host:port address: {e}"))?;
    if let Host::Ip(ip) = hp.host
        && ip.is_unspecified()
    {
        return Err(format!(
            "\"{s}\" is an unspecified address, which no peer can dial"
        ));
    }
    Ok((s, hp))
}

/// `master = "url"` (commas allowed) or `master = ["url", …]`.
fn as_master_list(v: &Value) -> Result<Vec<String>, String> {
    let list: Vec<String> = match v {
        Value::String(s) => s.split(',').map(str::trim).map(String::from).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| as_string(item).map(|s| s.trim().to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("entries {e}"))?,
        other => {
            return Err(format!(
                "must be a URL or a list of URLs, found {}",
                other.type_str()
            ));
        }
    };
    let list: Vec<String> = list.into_iter().filter(|u| !u.is_empty()).collect();
    if list.is_empty() {
        return Err("names no Mesos master".to_string());
    }
    Ok(list)
}

/// Checks an `http(s)://host[:port][/path]` URL and returns it without a trailing slash.
fn parse_master_url(url: &str) -> Result<String, String> {
    let bad = |why: &str| format!("\"{url}\" is not an http(s) URL of a Mesos master: {why}");
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad("no http:// or https:// scheme"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad("the scheme must be http or https"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "credentials belong in `mesos.principal` and `mesos.secret`",
        ));
    }
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let host_only = authority
        .strip_prefix('[')
        .map_or(!authority.contains(':'), |v6| v6.ends_with(']'));
    if host_only {
        Host::parse(authority).map_err(|e| bad(&e))?;
    } else {
        HostPort::parse(authority).map_err(|e| bad(&e))?;
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// A parsed `host:port`, normalised so that equal addresses compare equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct HostPort {
    host: Host,
    port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Host {
    Ip(IpAddr),
    /// A DNS name, lower-cased.
    Name(String),
}

impl Host {
    fn parse(host: &str) -> Result<Host, String> {
        if let Some(inner) = host.strip_prefix('[') {
            return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
                Some(Ok(ip)) => Ok(Host::Ip(IpAddr::V6(ip))),
                _ => Err(format!("\"{host}\" is not a bracketed IPv6 address")),
            };
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(Host::Ip(IpAddr::V4(ip)));
        }
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        let name = host.strip_suffix('.').unwrap_or(host);
        if name.is_empty() || name.len() > 253 || !name.split('.').all(valid_label) {
            return Err(format!("\"{host}\" is not a valid host name or IP address"));
        }
        Ok(Host::Name(name.to_ascii_lowercase()))
    }
}

impl HostPort {
    fn parse(s: &str) -> Result<HostPort, String> {
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err("no port".to_string());
        };
        let port: u16 = port.parse().map_err(|_| format!("bad port \"{port}\""))?;
        if port == 0 {
            return Err("port 0 cannot be dialled".to_string());
        }
        if host.contains(':') && !host.starts_with('[') {
            return Err("an IPv6 host must be written in brackets, as [::1]:7101".to_string());
        }
        Ok(HostPort {
            host: Host::parse(host)?,
            port,
        })
    }

    /// Whether a listener on `listen` answers at this address. A host name cannot be checked
    /// without DNS, so it matches on the port alone, as an unspecified listen address does.
    fn served_by(&self, listen: SocketAddr) -> bool {
        self.port == listen.port()
            && match self.host {
                Host::Ip(ip) => listen.ip().is_unspecified() || ip == listen.ip(),
                Host::Name(_) => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid three-member config for node 2; cases below edit it.
    const BASE: &str = r#"
[node]
id = 2
data_dir = "unused: tests override it"
peer_listen = "127.0.0.1:7102"
grpc_listen = "127.0.0.1:9102"
http_listen = "127.0.0.1:8082"

[[members]]
id = 3
peer = "127.0.0.1:7103"
grpc = "127.0.0.1:9103"
http = "127.0.0.1:8083"

[[members]]
id = 1
peer = "127.0.0.1:7101"
grpc = "127.0.0.1:9101"
http = "127.0.0.1:8081"

[[members]]
id = 2
peer = "127.0.0.1:7102"
grpc = "127.0.0.1:9102"
http = "127.0.0.1:8082"

[mesos]
master = "http://127.0.0.1:5050"
"#;

    fn with_data_dir(dir: &Path) -> Overrides {
        Overrides {
            data_dir: Some(dir.to_path_buf()),
            ..Overrides::default()
        }
    }

    /// Validates `text` with its data dir in a fresh temporary directory.
    fn check(text: &str) -> Result<Config, ConfigError> {
        check_with(text, Overrides::default())
    }

    fn check_with(text: &str, overrides: Overrides) -> Result<Config, ConfigError> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let overrides = Overrides {
            data_dir: overrides.data_dir.or(Some(tmp.path().join("data"))),
            ..overrides
        };
        Config::from_toml(text, "test.toml", overrides)
    }

    fn problems(text: &str) -> Vec<String> {
        match check(text) {
            Ok(_) => panic!("expected problems, the config was accepted:\n{text}"),
            Err(e) => e.problems,
        }
    }

    /// `BASE` with `from` replaced by `to` (which must occur).
    fn edit(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "BASE has no {from:?}");
        BASE.replacen(from, to, 1)
    }

    fn ready_config(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("cluster-config")
            .join(rel)
    }

    #[test]
    fn ready_configs_all_load() {
        for (size, n) in [("three", 3u64), ("five", 5)] {
            for i in 1..=n {
                let tmp = tempfile::tempdir().expect("tempdir");
                let path = ready_config(&format!("{size}/node{i}.toml"));
                let config = Config::load(&path, with_data_dir(tmp.path()))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(config.node.id, i);
                assert_eq!(
                    config.node.peer_listen.to_string(),
                    format!("127.0.0.1:710{i}")
                );
                assert_eq!(
                    config.node.grpc_listen.to_string(),
                    format!("127.0.0.1:910{i}")
                );
                assert_eq!(
                    config.node.http_listen.to_string(),
                    format!("127.0.0.1:808{i}")
                );
                assert_eq!(config.members.len() as u64, n);
                assert_eq!(config.me().http, format!("127.0.0.1:808{i}"));
                assert_eq!(config.mesos.masters, vec![DEFAULT_MESOS_MASTER.to_string()]);
                assert_eq!(config.raft, RaftTimings::default());
                assert_eq!(config.log.format, LogFormat::Text);

                let text = fs::read_to_string(&path).expect("read");
                assert!(text.contains(&format!("data_dir = \"data/{size}/node{i}\"")));
            }
        }
    }

    #[test]
    fn systemd_example_loads() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = ready_config("systemd/baton.toml.example");
        let config =
            Config::load(&path, with_data_dir(tmp.path())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.members.len(), 3);
        assert_eq!(config.me().peer, "baton-1.example.internal:7100");
        assert_eq!(config.mesos.masters.len(), 3);
        assert_eq!(config.log.format, LogFormat::Json);
    }

    #[test]
    fn base_loads_with_defaults_and_members_sorted() {
        let config = check(BASE).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<u64> = config.members.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(config.me().id, 2);
        assert_eq!(config.mesos, MesosConfig::default());
        assert_eq!(config.raft, RaftTimings::default());
        assert_eq!(config.log, LogConfig::default());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let text = BASE
            .replace("id = 3", "id = 1")
            .replace(
                "[mesos]",
                "[raft]\nheartbeat_ms = 10\nelection_timeout_min_ms = 400\n[mesos]",
            )
            .replace("http://127.0.0.1:5050", "127.0.0.1:5050")
            + "\n[extra]\n";
        let err = check(&text).expect_err("several problems");
        let all = err.problems.join("\n");
        for expected in [
            "unknown key `raft.heartbeat_ms`",
            "unknown key `extra`",
            "duplicate member id 1",
            "`mesos.master` entry 1 \"127.0.0.1:5050\" is not an http(s) URL",
            "`raft.election_timeout_min_ms` (400) must be less than",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        assert_eq!(err.problems.len(), 5, "{all}");
        let shown = err.to_string();
        assert!(
            shown.starts_with("invalid configuration test.toml:\n  - "),
            "{shown}"
        );
        assert_eq!(shown.lines().count(), 6, "{shown}");
    }

    #[test]
    fn each_rule_names_its_key() {
        let cases: &[(&str, String, &str)] = &[
            (
                "unknown root key",
                format!("foo = 1\n{BASE}"),
                "unknown key `foo`",
            ),
            (
                "unknown node key",
                edit("id = 2\n", "id = 2\nname = \"x\"\n"),
                "unknown key `node.name`",
            ),
            (
                "unknown member key",
                edit("id = 3\n", "id = 3\naddress = \"x\"\n"),
                "unknown key `members[0].address`",
            ),
            (
                "unknown raft key",
                format!("{BASE}\n[raft]\nheartbeat_ms = 50\n"),
                "unknown key `raft.heartbeat_ms`",
            ),
            (
                "unknown log key",
                format!("{BASE}\n[log]\nlevel = \"info\"\n"),
                "unknown key `log.level`",
            ),
            (
                "missing node",
                BASE.replace("[node]", "[nodes]"),
                "missing required key `node`",
            ),
            (
                "missing node.id",
                edit("id = 2\n", ""),
                "missing required key `node.id`",
            ),
            (
                "missing node listen",
                edit("grpc_listen = \"127.0.0.1:9102\"\n", ""),
                "missing required key `node.grpc_listen`",
            ),
            (
                "missing member address",
                edit("peer = \"127.0.0.1:7103\"\n", ""),
                "missing required key `members[0].peer`",
            ),
            (
                "missing mesos master",
                edit("master = \"http://127.0.0.1:5050\"\n", ""),
                "missing required key `mesos.master`",
            ),
            (
                "missing mesos section",
                edit("[mesos]\nmaster = \"http://127.0.0.1:5050\"\n", ""),
                "missing required key `mesos.master`",
            ),
            (
                "missing members",
                BASE.replace("[[members]]", "[[member]]"),
                "missing required key `members`",
            ),
            (
                "node id wrong type",
                edit("id = 2\n", "id = \"2\"\n"),
                "`node.id` must be an integer, found string",
            ),
            (
                "negative id",
                edit("id = 2\n", "id = -2\n"),
                "`node.id` must not be negative",
            ),
            (
                "node not a table",
                BASE.replace("[node]\n", "node = 1\n[x]\n"),
                "`node` must be a table, found integer",
            ),
            (
                "member listen wrong type",
                edit("http = \"127.0.0.1:8083\"", "http = 8083"),
                "`members[0].http` must be a string, found integer",
            ),
            (
                "raft wrong type",
                format!("{BASE}\n[raft]\nheartbeat_interval_ms = 5.5\n"),
                "`raft.heartbeat_interval_ms` must be an integer, found float",
            ),
            (
                "members not an array of tables",
                format!(
                    "members = 3\n{}",
                    BASE.split("[[members]]").next().unwrap_or_default()
                ),
                "`members` must be an array of tables",
            ),
            (
                "duplicate member id",
                edit("id = 3\n", "id = 1\n"),
                "duplicate member id 1: `members[0]` and `members[1]`",
            ),
            (
                "duplicate member address",
                edit("grpc = \"127.0.0.1:9103\"", "grpc = \"127.0.0.1:7101\""),
                "duplicate address 127.0.0.1:7101: `members[0].grpc` and `members[1].peer`",
            ),
            (
                "duplicate member address by host name case",
                BASE.replace("127.0.0.1:9101", "Node-A:1")
                    .replace("127.0.0.1:8081", "node-a:1"),
                "duplicate address node-a:1: `members[1].grpc` and `members[1].http`",
            ),
            (
                "duplicate listen addresses",
                edit(
                    "http_listen = \"127.0.0.1:8082\"",
                    "http_listen = \"127.0.0.1:7102\"",
                ),
                "`node.peer_listen` 127.0.0.1:7102 and `node.http_listen` 127.0.0.1:7102 collide",
            ),
            (
                "listen on all interfaces collides by port",
                edit(
                    "grpc_listen = \"127.0.0.1:9102\"",
                    "grpc_listen = \"0.0.0.0:7102\"",
                ),
                "`node.peer_listen` 127.0.0.1:7102 and `node.grpc_listen` 0.0.0.0:7102 collide",
            ),
            (
                "node not a member",
                edit("id = 2\n", "id = 7\n"),
                "`node.id` 7 is not among `members` (ids 1, 2, 3)",
            ),
            (
                "own entry disagrees",
                edit(
                    "peer_listen = \"127.0.0.1:7102\"",
                    "peer_listen = \"127.0.0.1:7109\"",
                ),
                "`members[2].peer` 127.0.0.1:7102 is this node's entry but disagrees with \
                 `node.peer_listen` 127.0.0.1:7109",
            ),
            (
                "own entry disagrees on the host",
                edit(
                    "http_listen = \"127.0.0.1:8082\"",
                    "http_listen = \"127.0.0.2:8082\"",
                ),
                "`members[2].http` 127.0.0.1:8082 is this node's entry",
            ),
            (
                "unparsable listen",
                edit(
                    "peer_listen = \"127.0.0.1:7102\"",
                    "peer_listen = \"localhost:7102\"",
                ),
                "`node.peer_listen` \"localhost:7102\" is not an IP:port address",
            ),
            (
                "member address without port",
                edit("grpc = \"127.0.0.1:9103\"", "grpc = \"127.0.0.1\""),
                "`members[0].grpc` \"127.0.0.1\" is not a host:port address: no port",
            ),
            (
                "member address with bad port",
                edit("grpc = \"127.0.0.1:9103\"", "grpc = \"127.0.0.1:99999\""),
                "`members[0].grpc` \"127.0.0.1:99999\" is not a host:port address: bad port",
            ),
            (
                "member address with bad host",
                edit("grpc = \"127.0.0.1:9103\"", "grpc = \"bad host!:9103\""),
                "`members[0].grpc` \"bad host!:9103\" is not a host:port address",
            ),
            (
                "member address unspecified",
                edit("grpc = \"127.0.0.1:9103\"", "grpc = \"0.0.0.0:9103\""),
                "`members[0].grpc` \"0.0.0.0:9103\" is an unspecified address",
            ),
            (
                "unbracketed ipv6 member address",
                edit("grpc = \"127.0.0.1:9103\"", "grpc = \"::1:9103\""),
                "must be written in brackets",
            ),
            (
                "mesos master not http",
                edit("http://127.0.0.1:5050", "ftp://127.0.0.1:5050"),
                "`mesos.master` entry 1 \"ftp://127.0.0.1:5050\" is not an http(s) URL",
            ),
            (
                "mesos master list with a bad entry",
                edit(
                    "\"http://127.0.0.1:5050\"",
                    "[\"http://a:5050\", \"http://:5050\"]",
                ),
                "`mesos.master` entry 2 \"http://:5050\" is not an http(s) URL",
            ),
            (
                "mesos master empty list",
                edit("\"http://127.0.0.1:5050\"", "[]"),
                "`mesos.master` names no Mesos master",
            ),
            (
                "mesos secret without principal",
                edit("[mesos]\n", "[mesos]\nsecret = \"s\"\n"),
                "`mesos.secret` is set without `mesos.principal`",
            ),
            (
                "mesos empty framework name",
                edit("[mesos]\n", "[mesos]\nframework_name = \"\"\n"),
                "`mesos.framework_name` must not be empty",
            ),
            (
                "heartbeat zero",
                format!("{BASE}\n[raft]\nheartbeat_interval_ms = 0\n"),
                "`raft.heartbeat_interval_ms` must be greater than 0",
            ),
            (
                "min not below max",
                format!("{BASE}\n[raft]\nelection_timeout_min_ms = 300\n"),
                "`raft.election_timeout_min_ms` (300) must be less than `raft.election_timeout_max_ms` (300)",
            ),
            (
                "heartbeat too slow",
                format!("{BASE}\n[raft]\nheartbeat_interval_ms = 80\n"),
                "`raft.heartbeat_interval_ms` (80) times 2 must not exceed",
            ),
            (
                "lease too long",
                format!("{BASE}\n[raft]\nlease_ms = 151\n"),
                "`raft.lease_ms` (151) must not exceed `raft.election_timeout_min_ms` (150)",
            ),
            (
                "zero members",
                format!(
                    "members = []\n{}",
                    BASE.split("[[members]]").next().unwrap_or_default()
                ),
                "`members` is empty",
            ),
            (
                "bad log format",
                format!("{BASE}\n[log]\nformat = \"xml\"\n"),
                "`log.format` is an unknown log format \"xml\"",
            ),
            (
                "bad log filter",
                format!("{BASE}\n[log]\nfilter = \"baton=loud\"\n"),
                "`log.filter` is not a valid filter",
            ),
            ("not toml", "[node\nid = 1".to_string(), "not valid TOML"),
        ];
        for (name, text, expected) in cases {
            let found = problems(text);
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{name}: expected a problem containing {expected:?}, got {found:#?}"
            );
        }
    }

    #[test]
    fn listen_on_all_interfaces_matches_member_by_port() {
        let text = BASE
            .replace(
                "peer_listen = \"127.0.0.1:7102\"",
                "peer_listen = \"0.0.0.0:7102\"",
            )
            .replace(
                "grpc_listen = \"127.0.0.1:9102\"",
                "grpc_listen = \"[::]:9102\"",
            );
        let config = check(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.node.peer_listen.to_string(), "0.0.0.0:7102");

        let wrong_port = BASE.replace(
            "peer_listen = \"127.0.0.1:7102\"",
            "peer_listen = \"0.0.0.0:7109\"",
        );
        assert!(
            problems(&wrong_port)
                .iter()
                .any(|p| p.contains("`members[2].peer`"))
        );
    }

    #[test]
    fn host_names_match_any_listen_with_their_port() {
        let text = BASE.replace(
            "127.0.0.1:7102\"\ngrpc = ",
            "node-2.example:7102\"\ngrpc = ",
        );
        let config = check(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.me().peer, "node-2.example:7102");
    }

    #[test]
    fn raft_timings_and_lease_default() {
        let text = format!(
            "{BASE}\n[raft]\nheartbeat_interval_ms = 100\nelection_timeout_min_ms = 400\n\
             election_timeout_max_ms = 800\n"
        );
        let raft = check(&text).unwrap_or_else(|e| panic!("{e}")).raft;
        assert_eq!(raft.heartbeat_interval_ms, 100);
        assert_eq!(
            raft.lease_ms, 400,
            "lease defaults to election_timeout_min_ms"
        );

        let text = format!("{BASE}\n[raft]\nlease_ms = 100\nsnapshot_logs_since_last = 5\n");
        let raft = check(&text).unwrap_or_else(|e| panic!("{e}")).raft;
        assert_eq!((raft.lease_ms, raft.snapshot_logs_since_last), (100, 5));
    }

    #[test]
    fn mesos_settings_and_master_forms() {
        let text = edit(
            "master = \"http://127.0.0.1:5050\"\n",
            "master = \" http://a:5050/ , https://[::1]:5050\"\nframework_name = \"b\"\n\
             role = \"web\"\nuser = \"nobody\"\nfailover_timeout_secs = 60\n\
             principal = \"p\"\nsecret = \"hunter2\"\n",
        );
        let mesos = check(&text).unwrap_or_else(|e| panic!("{e}")).mesos;
        assert_eq!(mesos.masters, ["http://a:5050", "https://[::1]:5050"]);
        assert_eq!(mesos.framework_name, "b");
        assert_eq!(mesos.role, "web");
        assert_eq!(mesos.user.as_deref(), Some("nobody"));
        assert_eq!(mesos.failover_timeout_secs, 60);
        assert_eq!(mesos.principal.as_deref(), Some("p"));
        assert_eq!(mesos.secret.as_deref(), Some("hunter2"));
        assert!(
            !format!("{mesos:?}").contains("hunter2"),
            "the secret is never printed"
        );
    }

    #[test]
    fn overrides_apply_before_validation() {
        let text = edit(
            "master = \"http://127.0.0.1:5050\"\n",
            "master = \"not a url\"\n",
        )
        .replace("data_dir = \"unused: tests override it\"\n", "");
        let overrides = Overrides {
            mesos_master: Some("http://m1:5050,http://m2:5050".to_string()),
            log_format: Some(LogFormat::Json),
            ..Overrides::default()
        };
        let config = check_with(&text, overrides).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.mesos.masters, ["http://m1:5050", "http://m2:5050"]);
        assert_eq!(config.log.format, LogFormat::Json);

        let bad = Overrides {
            mesos_master: Some("m1:5050".to_string()),
            ..Overrides::default()
        };
        let err = check_with(BASE, bad).expect_err("bad flag");
        assert!(
            err.problems
                .iter()
                .any(|p| p.starts_with("--mesos-master \"m1:5050\""))
        );
    }

    #[test]
    fn data_dir_is_created_and_probed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a/b/c");
        let config =
            Config::from_toml(BASE, "t", with_data_dir(&dir)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.node.data_dir, dir);
        assert!(dir.is_dir());
        assert_eq!(
            fs::read_dir(&dir).expect("read_dir").count(),
            0,
            "the probe is removed"
        );

        let file = tmp.path().join("file");
        fs::write(&file, "x").expect("write");
        let under_file = Config::from_toml(BASE, "t", with_data_dir(&file.join("data")))
            .expect_err("a path under a regular file");
        assert!(
            under_file
                .problems
                .iter()
                .any(|p| p.starts_with("--data-dir") && p.contains("unreachable data dir")),
            "{under_file}"
        );
        let is_file = Config::from_toml(BASE, "t", with_data_dir(&file)).expect_err("a file");
        assert!(
            is_file
                .problems
                .iter()
                .any(|p| p.contains("unreachable data dir")),
            "{is_file}"
        );
    }

    #[test]
    fn data_dir_from_the_file_is_named_by_its_key() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("file");
        fs::write(&file, "x").expect("write");
        let text = edit(
            "data_dir = \"unused: tests override it\"",
            &format!("data_dir = {:?}", file.join("d").display().to_string()),
        );
        let err = Config::from_toml(&text, "t", Overrides::default()).expect_err("unreachable");
        assert!(
            err.problems
                .iter()
                .any(|p| p.starts_with("`node.data_dir`") && p.contains("unreachable data dir")),
            "{err}"
        );
    }

    #[test]
    fn missing_file_is_a_config_error() {
        let err = Config::load(Path::new("/nonexistent/baton.toml"), Overrides::default())
            .expect_err("missing");
        assert_eq!(err.path, "/nonexistent/baton.toml");
        assert!(
            err.problems[0].contains("cannot read the configuration file"),
            "{err}"
        );
    }

    #[test]
    fn single_node_is_its_own_member() {
        let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let config = Config::single_node("d".into(), addr(1), addr(2), addr(3));
        assert_eq!(config.members.len(), 1);
        assert_eq!(config.me().peer, "127.0.0.1:1");
        assert_eq!(config.me().http, "127.0.0.1:3");
    }

    #[test]
    fn log_format_parses_from_flags() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }

    #[test]
    fn odd_inputs_never_panic() {
        for text in [
            "",
            "node = []",
            "[[node]]\nid = 1",
            "members = [1, \"x\", {}]",
            "[node]\nid = 18446744073709551615",
            "[mesos]\nmaster = [1]",
            "[raft]\nheartbeat_interval_ms = 9223372036854775807\nelection_timeout_min_ms = 1",
            "[node]\npeer_listen = \"\u{1F600}:1\"\n[[members]]\npeer = \"[\u{1F600}:1\"",
        ] {
            assert!(check(text).is_err(), "{text}");
        }
    }
}
