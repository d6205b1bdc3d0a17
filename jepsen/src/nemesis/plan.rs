//! The fault schedule, drawn from the seed before the run starts: which fault begins when, for
//! how long, against which nodes. One fault at a time, each healed before a quiet spell and the
//! next, so that every fault's effect (and the recovery from it) shows on its own in the
//! history. Targets that exist only at run time ("the leader") are named as such. Pure: the same
//! seed, faults, nodes and durations give the same schedule.

use crate::cluster::NodeId;
use crate::spec::FaultKind;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Serialize, Serializer};
use std::time::Duration;

/// The seed's stream for the schedule (clients draw from other streams, so changing the number
/// of clients does not change the faults).
pub const STREAM: u64 = 1;

/// Whom a process fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Node(NodeId),
    /// Whoever leads when the fault begins.
    Leader,
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Target::Node(id) => s.serialize_str(&crate::cluster::node_name(*id)),
            Target::Leader => s.serialize_str("leader"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "shape", content = "nodes")]
pub enum Partition {
    /// One node alone.
    One(NodeId),
    /// The shuffled nodes' first half (the minority) against the rest.
    Halves(Vec<NodeId>),
    /// The shuffled nodes as a majorities ring (five nodes and more).
    MajoritiesRing(Vec<NodeId>),
    /// The leader alone.
    Leader,
    /// The leader cut from mesos-local (but not from its peers).
    MesosFromLeader,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "fault")]
pub enum Fault {
    Partition {
        partition: Partition,
    },
    Kill {
        target: Target,
    },
    Pause {
        target: Target,
    },
    /// Wall-clock offsets in milliseconds, per node.
    Clock {
        offsets_ms: Vec<(NodeId, i64)>,
    },
    /// Remove the node from the cluster, wipe it, and (at the heal) add it back.
    Membership {
        target: Target,
    },
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::Kill { .. } => FaultKind::Kill,
            Fault::Pause { .. } => FaultKind::Pause,
            Fault::Clock { .. } => FaultKind::Clock,
            Fault::Membership { .. } => FaultKind::Membership,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Since the run started.
    #[serde(serialize_with = "millis")]
    pub at: Duration,
    /// How long the fault lasts before it is healed.
    #[serde(serialize_with = "millis")]
    pub hold: Duration,
    #[serde(flatten)]
    pub fault: Fault,
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// A fault shorter than this is not worth starting before the time limit.
const MIN_HOLD: Duration = Duration::from_secs(2);

/// The schedule for a run of `time_limit` over nodes `ids`: faults of the `kinds` given, one
/// every `interval` or so (a quiet spell of ½–1 interval, then a fault held ½–1½ intervals).
pub fn plan(
    seed: u64,
    kinds: &[FaultKind],
    ids: &[NodeId],
    time_limit: Duration,
    interval: Duration,
) -> Vec<Step> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(STREAM);
    let mut steps = Vec::new();
    if kinds.is_empty() || ids.is_empty() {
        return steps;
    }
    let mut at = between(&mut rng, interval / 2, interval);
    while at + MIN_HOLD <= time_limit {
        let kind = kinds[rng.random_range(0..kinds.len())];
        let fault = draw(&mut rng, kind, ids);
        let hold = between(&mut rng, interval / 2, interval * 3 / 2)
            .max(MIN_HOLD)
            .min(time_limit - at);
        steps.push(Step { at, hold, fault });
        at += hold + between(&mut rng, interval / 2, interval);
    }
    steps
}

fn between(rng: &mut ChaCha8Rng, low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    Duration::from_millis(rng.random_range(low.as_millis() as u64..=high.as_millis() as u64))
}

fn draw(rng: &mut ChaCha8Rng, kind: FaultKind, ids: &[NodeId]) -> Fault {
    let node = |rng: &mut ChaCha8Rng| ids[rng.random_range(0..ids.len())];
    let target = |rng: &mut ChaCha8Rng| {
        if rng.random_bool(0.5) {
            Target::Leader
        } else {
            Target::Node(node(rng))
        }
    };
    match kind {
        FaultKind::Partition => {
            let mut shuffled = ids.to_vec();
            shuffled.shuffle(rng);
            // A majorities ring on three nodes is nearly a total split (see partition.rs).
            let shapes = if ids.len() >= 5 { 5 } else { 4 };
            let partition = match rng.random_range(0..shapes) {
                0 => Partition::One(node(rng)),
                1 => Partition::Halves(shuffled),
                2 => Partition::Leader,
                3 => Partition::MesosFromLeader,
                _ => Partition::MajoritiesRing(shuffled),
            };
            Fault::Partition { partition }
        }
        FaultKind::Kill => Fault::Kill {
            target: target(rng),
        },
        FaultKind::Pause => Fault::Pause {
            target: target(rng),
        },
        FaultKind::Clock => {
            let mut chosen: Vec<NodeId> = ids
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.5))
                .collect();
            if chosen.is_empty() {
                chosen.push(node(rng));
            }
            let offsets_ms = chosen
                .into_iter()
                .map(|id| (id, clock_offset_ms(rng)))
                .collect();
            Fault::Clock { offsets_ms }
        }
        FaultKind::Membership => Fault::Membership {
            target: target(rng),
        },
    }
}

/// Jepsen's clock bumps: ±1.5^k ms with k uniform in 6..31, i.e. 11 ms to 288 s, most of them
/// small.
fn clock_offset_ms(rng: &mut ChaCha8Rng) -> i64 {
    let k: f64 = rng.random_range(6.0..31.0);
    let ms = 1.5f64.powf(k).round() as i64;
    if rng.random_bool(0.5) { ms } else { -ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [FaultKind; 5] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Clock,
        FaultKind::Membership,
    ];

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let a = plan(
            7,
            &ALL,
            &[1, 2, 3],
            Duration::from_secs(300),
            Duration::from_secs(8),
        );
        let b = plan(
            7,
            &ALL,
            &[1, 2, 3],
            Duration::from_secs(300),
            Duration::from_secs(8),
        );
        let c = plan(
            8,
            &ALL,
            &[1, 2, 3],
            Duration::from_secs(300),
            Duration::from_secs(8),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn faults_never_overlap_and_end_by_the_time_limit() {
        let limit = Duration::from_secs(60);
        for seed in 0..50 {
            let steps = plan(seed, &ALL, &[1, 2, 3, 4, 5], limit, Duration::from_secs(8));
            assert!(steps.len() >= 2, "seed {seed}: {steps:?}");
            for pair in steps.windows(2) {
                assert!(pair[0].at + pair[0].hold < pair[1].at, "seed {seed}");
            }
            let last = steps.last().unwrap();
            assert!(last.at + last.hold <= limit);
            assert!(steps.iter().all(|s| s.hold >= MIN_HOLD));
        }
    }

    #[test]
    fn only_the_kinds_asked_for_are_drawn() {
        let kinds = [FaultKind::Kill, FaultKind::Pause];
        let steps = plan(
            3,
            &kinds,
            &[1, 2, 3],
            Duration::from_secs(600),
            Duration::from_secs(5),
        );
        assert!(steps.iter().all(|s| kinds.contains(&s.fault.kind())));
        assert!(steps.iter().any(|s| s.fault.kind() == FaultKind::Kill));
        assert!(steps.iter().any(|s| s.fault.kind() == FaultKind::Pause));
        assert!(
            plan(
                3,
                &[],
                &[1, 2, 3],
                Duration::from_secs(60),
                Duration::from_secs(5)
            )
            .is_empty()
        );
    }

    #[test]
    fn rings_only_on_five_nodes_and_clock_offsets_stay_in_jepsens_range() {
        let three = plan(
            1,
            &[FaultKind::Partition],
            &[1, 2, 3],
            Duration::from_secs(3000),
            Duration::from_secs(5),
        );
        assert!(three.iter().all(|s| !matches!(
            s.fault,
            Fault::Partition {
                partition: Partition::MajoritiesRing(_)
            }
        )));
        let five = plan(
            1,
            &[FaultKind::Partition],
            &[1, 2, 3, 4, 5],
            Duration::from_secs(3000),
            Duration::from_secs(5),
        );
        assert!(five.iter().any(|s| matches!(
            s.fault,
            Fault::Partition {
                partition: Partition::MajoritiesRing(_)
            }
        )));
        let clocks = plan(
            1,
            &[FaultKind::Clock],
            &[1, 2, 3],
            Duration::from_secs(3000),
            Duration::from_secs(5),
        );
        for step in clocks {
            let Fault::Clock { offsets_ms } = step.fault else {
                unreachable!()
            };
            assert!(!offsets_ms.is_empty());
            assert!(
                offsets_ms
                    .iter()
                    .all(|(_, ms)| (11..=288_000).contains(&ms.abs()))
            );
        }
    }
}
