//! `[raft]`: the Raft timings, defaulted key by key, and the rules that relate them.

use crate::config::RaftTimings;
use crate::config::section::{Need, Section};
use crate::config::values::as_u64;

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
