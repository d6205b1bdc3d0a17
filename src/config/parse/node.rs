//! `[node]`: this node's id, data directory and listen addresses, and the rule that no two of
//! those addresses bind the same port.

use crate::config::Overrides;
use crate::config::section::{Need, Section};
use crate::config::values::{as_path, as_socket_addr, as_u64};
use std::net::SocketAddr;
use std::path::PathBuf;

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
