//! `[[members]]`: the initial voters, each id and address unique, and this node's own entry
//! matching what it listens on.

use super::node::{ROLES, RawNode};
use crate::config::Member;
use crate::config::section::{Need, Section};
use crate::config::values::{HostPort, as_host_port, as_u64};
use std::collections::HashMap;
use toml::Value;

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
