//! The nemesis: carries out the seeded schedule (`plan.rs`) on the cluster, recording each fault
//! in the history when it begins and when it is healed:
//! `{"process":"nemesis","type":"info","f":"kill","value":{"phase":"start","node":"n2",…}}`.
//! It owns the cluster and the firewall for the length of the run; the final heal
//! ([`Nemesis::heal_all`]) repairs whatever is left and waits for a settled cluster.

pub mod partition;
pub mod plan;

use crate::cluster::{Cluster, MESOS_IP, NodeId, node_ip, node_name};
use crate::history::{Op, OpType, Process, Recorder};
use crate::net::{Firewall, Link};
use crate::spec::FaultKind;
use plan::{Fault, Partition, Step, Target};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a membership change may take (adding waits for the wiped node to catch up).
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(30);
/// The seed's stream for choices made at run time (a target when no leader is known).
const RUNTIME_STREAM: u64 = 2;

/// A fault in force, with what its heal needs.
enum Active {
    Partition,
    Kill(NodeId),
    Pause(NodeId),
    Clock(Vec<NodeId>),
    Membership(NodeId),
}

pub struct Nemesis {
    cluster: Cluster,
    firewall: Firewall,
    recorder: Recorder,
    rng: ChaCha8Rng,
    /// The fault in force, its `f` and the value recorded when it began.
    active: Option<(Active, FaultKind, Value)>,
    /// Faults that could not be started or healed, for the run's notes.
    problems: Vec<String>,
}

impl Nemesis {
    pub fn new(cluster: Cluster, firewall: Firewall, recorder: Recorder, seed: u64) -> Nemesis {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(RUNTIME_STREAM);
        Nemesis {
            cluster,
            firewall,
            recorder,
            rng,
            active: None,
            problems: Vec::new(),
        }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn into_parts(self) -> (Cluster, Vec<String>) {
        (self.cluster, self.problems)
    }

    fn record(&self, kind: FaultKind, value: Value) {
        self.recorder.record(Op::new(
            Process::Nemesis,
            OpType::Info,
            kind.name(),
            None,
            value,
        ));
    }

    fn problem(&mut self, what: String) {
        eprintln!("jepsen: nemesis: {what}");
        self.problems.push(what);
    }

    /// Carries out `steps` (times since `start`) until they are done or `cancel` fires; a fault
    /// in force when it fires is left for [`Self::heal_all`].
    pub async fn run(&mut self, steps: &[Step], start: Instant, cancel: &CancellationToken) {
        for step in steps {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(start + step.at) => {}
            }
            self.cluster.reap_exited();
            if let Err(e) = self.begin(&step.fault).await {
                self.problem(format!("could not start {:?}: {e:#}", step.fault));
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(step.hold) => {}
            }
            self.heal().await;
        }
    }

    /// Resolves a target: the leader (or, when none is known, a random live node).
    async fn resolve(&mut self, target: Target) -> (NodeId, Value) {
        match target {
            Target::Node(id) => (id, json!(node_name(id))),
            Target::Leader => match self.cluster.leader().await {
                Some(id) => (id, json!("leader")),
                None => {
                    let ids = self.cluster.ids();
                    let id = ids[self.rng.random_range(0..ids.len())];
                    (id, json!("leader (none known: a random node)"))
                }
            },
        }
    }

    /// Starts `fault` and records it.
    async fn begin(&mut self, fault: &Fault) -> anyhow::Result<()> {
        let (active, value) = match fault {
            Fault::Partition { partition } => {
                let (shape, cuts) = self.partition_cuts(partition).await;
                let links: Vec<Link> = cuts.iter().map(|&(a, b)| (ip(a), ip(b))).collect();
                self.firewall.cut(&links)?;
                let cut: Vec<String> = cuts
                    .iter()
                    .map(|&(a, b)| format!("{}->{}", name(a), name(b)))
                    .collect();
                (
                    Active::Partition,
                    json!({"phase": "start", "shape": shape, "cut": cut}),
                )
            }
            Fault::Kill { target } => {
                let (id, chosen) = self.resolve(*target).await;
                self.cluster.kill(id);
                (
                    Active::Kill(id),
                    json!({"phase": "start", "node": node_name(id), "target": chosen}),
                )
            }
            Fault::Pause { target } => {
                let (id, chosen) = self.resolve(*target).await;
                self.cluster.pause(id)?;
                (
                    Active::Pause(id),
                    json!({"phase": "start", "node": node_name(id), "target": chosen}),
                )
            }
            Fault::Clock { offsets_ms } => {
                for &(id, ms) in offsets_ms {
                    self.cluster.set_clock(id, ms)?;
                }
                let offsets: serde_json::Map<String, Value> = offsets_ms
                    .iter()
                    .map(|&(id, ms)| (node_name(id), json!(ms)))
                    .collect();
                let ids = offsets_ms.iter().map(|&(id, _)| id).collect();
                (
                    Active::Clock(ids),
                    json!({"phase": "start", "offsets_ms": offsets}),
                )
            }
            Fault::Membership { target } => {
                let (id, chosen) = self.resolve(*target).await;
                self.cluster.remove_member(id, MEMBERSHIP_TIMEOUT).await?;
                // Only a node that is certainly out of the voters may lose its data.
                anyhow::ensure!(
                    self.cluster.is_voter(id).await == Some(false),
                    "{} still counts as a voter after its removal; not wiping it",
                    node_name(id)
                );
                self.cluster.wipe(id)?;
                (
                    Active::Membership(id),
                    json!({"phase": "start", "node": node_name(id), "target": chosen, "removed": true, "wiped": true}),
                )
            }
        };
        let kind = fault.kind();
        self.record(kind, value.clone());
        self.active = Some((active, kind, value));
        Ok(())
    }

    /// The shape's name and the links to cut, with "the leader" resolved now.
    async fn partition_cuts(&mut self, partition: &Partition) -> (Value, Vec<(Host, Host)>) {
        let ids = self.cluster.ids();
        let nodes = |cuts: Vec<partition::Cut>| -> Vec<(Host, Host)> {
            cuts.into_iter()
                .map(|(a, b)| (Host::Node(a), Host::Node(b)))
                .collect()
        };
        match partition {
            Partition::One(id) => (
                json!({"one": name(Host::Node(*id))}),
                nodes(partition::complete(&partition::isolate(*id, &ids))),
            ),
            Partition::Halves(shuffled) => {
                let components = partition::halves(shuffled);
                let named: Vec<Vec<String>> = components
                    .iter()
                    .map(|c| c.iter().map(|&i| node_name(i)).collect())
                    .collect();
                (
                    json!({"halves": named}),
                    nodes(partition::complete(&components)),
                )
            }
            Partition::MajoritiesRing(ring) => {
                let named: Vec<String> = ring.iter().map(|&i| node_name(i)).collect();
                (
                    json!({"majorities-ring": named}),
                    nodes(partition::majorities_ring(ring)),
                )
            }
            Partition::Leader => {
                let (id, chosen) = self.resolve(Target::Leader).await;
                (
                    json!({"leader": node_name(id), "target": chosen}),
                    nodes(partition::complete(&partition::isolate(id, &ids))),
                )
            }
            Partition::MesosFromLeader => {
                let (id, chosen) = self.resolve(Target::Leader).await;
                (
                    json!({"mesos-from-leader": node_name(id), "target": chosen}),
                    vec![(Host::Node(id), Host::Mesos), (Host::Mesos, Host::Node(id))],
                )
            }
        }
    }

    /// Heals the fault in force, if any, and records it.
    pub async fn heal(&mut self) {
        let Some((active, kind, started)) = self.active.take() else {
            return;
        };
        let result = match &active {
            Active::Partition => self.firewall.heal(),
            Active::Kill(id) => self.cluster.restart(*id).await,
            Active::Pause(id) => self.cluster.resume(*id),
            Active::Clock(ids) => ids.iter().try_for_each(|&id| self.cluster.set_clock(id, 0)),
            Active::Membership(id) => self.cluster.rejoin(*id, MEMBERSHIP_TIMEOUT).await,
        };
        let mut value = started;
        value["phase"] = json!("end");
        if let Err(e) = result {
            value["error"] = json!(format!("{e:#}"));
            self.problem(format!("healing {}: {e:#}", kind.name()));
        }
        self.record(kind, value);
    }

    /// The final heal: the fault in force, then everything that could still be wrong (rules,
    /// stopped or dead nodes, clocks, nodes out of the membership); returns the settled leader.
    pub async fn heal_all(&mut self, settle: Duration) -> anyhow::Result<NodeId> {
        self.heal().await;
        self.firewall.heal()?;
        self.cluster.revive_all().await?;
        for id in self.cluster.ids() {
            if self.cluster.has_clock() {
                self.cluster.set_clock(id, 0)?;
            }
        }
        for id in self.cluster.ids() {
            if self.cluster.is_voter(id).await == Some(false) {
                self.problem(format!(
                    "{} was out of the membership at the final heal",
                    node_name(id)
                ));
                self.cluster.rejoin(id, MEMBERSHIP_TIMEOUT).await?;
            }
        }
        self.cluster.wait_healthy(settle).await
    }
}

/// An address partitions can cut: a node, or mesos-local.
#[derive(Clone, Copy, Debug)]
enum Host {
    Node(NodeId),
    Mesos,
}

fn ip(host: Host) -> std::net::Ipv4Addr {
    match host {
        Host::Node(id) => node_ip(id),
        Host::Mesos => MESOS_IP,
    }
}

fn name(host: Host) -> String {
    match host {
        Host::Node(id) => node_name(id),
        Host::Mesos => "mesos".to_string(),
    }
}
