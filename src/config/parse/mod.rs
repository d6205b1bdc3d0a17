//! Reading the TOML tree into a `Config`: every section, every rule, every problem collected.
//!
//! `mod.rs` walks the file and assembles the result; each section has its reader: `node.rs`,
//! `members.rs`, `mesos.rs`, `raft.rs`, `log.rs`.

mod log;
mod members;
mod mesos;
mod node;
mod raft;

use super::section::*;
use super::*;
use log::read_log;
use members::{RawMember, check_own_entry, read_members};
use mesos::read_mesos;
use node::read_node;
use raft::read_raft;
use std::fs;
use std::path::Path;
use toml::Table;

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
