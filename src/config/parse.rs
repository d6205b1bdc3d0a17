//! Reading the TOML tree into a `Config`: every section, every rule, every problem collected.

use super::section::*;
use super::values::*;
use super::*;
use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Parses and checks the whole text, collecting every problem.
pub(super) fn parse(text: &str, overrides: Overrides) -> Result<Config, Vec<String>> {
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
pub(super) fn syntax_problem(text: &str, e: &toml::de::Error) -> String {
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
pub(super) const ROLES: [&str; 3] = ["peer", "grpc", "http"];

/// `[node]` as read, with whatever could be parsed.
pub(super) struct RawNode {
    pub(super) id: Option<u64>,
    /// The directory and the name of where it came from (the key or the flag).
    pub(super) data_dir: Option<(PathBuf, &'static str)>,
    pub(super) listens: [Option<SocketAddr>; 3],
}

pub(super) fn read_node(
    s: &mut Section<'_>,
    overrides: &Overrides,
    p: &mut Vec<String>,
) -> RawNode {
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
pub(super) fn listens_collide(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// One `[[members]]` entry as read.
pub(super) struct RawMember {
    pub(super) label: String,
    pub(super) id: Option<u64>,
    /// The text as written, and its parsed form.
    pub(super) addrs: [Option<(String, HostPort)>; 3],
}

impl RawMember {
    pub(super) fn into_member(self) -> Option<Member> {
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

pub(super) fn read_members(root: &mut Section<'_>, p: &mut Vec<String>) -> Option<Vec<RawMember>> {
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
pub(super) fn check_own_entry(node: &RawNode, members: &[RawMember], p: &mut Vec<String>) {
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

pub(super) fn read_mesos(
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
    let reconciliation_interval_secs = s
        .take("reconciliation_interval_secs", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.reconciliation_interval_secs));
    let decline_offer_duration_secs = s
        .take("decline_offer_duration_secs", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.decline_offer_duration_secs));
    let max_instances_per_offer = s
        .take("max_instances_per_offer", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.max_instances_per_offer as u64));
    if max_instances_per_offer == Some(0) {
        p.push("`mesos.max_instances_per_offer` must be at least 1".to_string());
    }
    if reconciliation_interval_secs == Some(0) {
        p.push("`mesos.reconciliation_interval_secs` must be at least 1".to_string());
    }
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
        reconciliation_interval_secs: reconciliation_interval_secs.filter(|s| *s > 0)?,
        decline_offer_duration_secs: decline_offer_duration_secs?,
        max_instances_per_offer: max_instances_per_offer.filter(|n| *n > 0)? as usize,
    })
}

/// Splits a comma-separated list of master URLs and checks each.
pub(super) fn parse_masters(list: &str, key: &str, p: &mut Vec<String>) -> Option<Vec<String>> {
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

pub(super) fn read_raft(s: &mut Section<'_>, p: &mut Vec<String>) -> Option<RaftTimings> {
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

pub(super) fn read_log(
    s: &mut Section<'_>,
    overrides: &Overrides,
    p: &mut Vec<String>,
) -> Option<LogConfig> {
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
pub(super) fn check_data_dir(dir: &Path) -> Result<(), String> {
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
