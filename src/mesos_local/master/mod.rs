//! The embedded master's one owner of mutable state (frameworks, agents, offers, tasks), driven
//! by a closed input enum in one `select!` loop; HTTP handlers and task supervisors reach it only
//! through [`MasterHandle`] and the loop's input queue.
//!
//! This file holds the master's state and its loop; `handle` is what the rest of mesos-local
//! sends it, `records` what it keeps of frameworks, tasks, executors and offers,
//! `subscriptions` SUBSCRIBE and the checks of every other call, `streams` the delivery of
//! events to subscribers, and `redelivery` the retries of unacknowledged status updates. Its
//! handling of calls, offers, tasks and the rest is in `mesos_local`'s other modules.

mod handle;
mod records;
mod redelivery;
mod streams;
mod subscriptions;

pub(super) use handle::Input;
pub use handle::{CallRefused, INPUT_QUEUE, MasterHandle, Subscription};
pub use records::{COMPLETED_FRAMEWORKS, DEFAULT_KILL_GRACE};
pub(super) use records::{Executor, Framework, OutstandingOffer, ProcessRef, Task};
// Other modules' tests build frameworks with a subscription.
#[cfg(test)]
pub(super) use streams::Stream;

pub(super) use super::agent::{Agent, Reach};
use super::operator::LaunchRecord;
use super::probing::{MAX_PROBES, ProbeKey};
use super::process::ProcessGroups;
use super::simulated::Due;
use crate::mesos::{Address, AgentId, FrameworkId, MasterCapability, MasterInfo, OfferId};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How soon the master tries again to move a backlog into its stream.
const BACKLOG_RETRY: Duration = Duration::from_millis(2);
/// How often unacknowledged status updates are checked for redelivery.
const RETRY_TICK: Duration = Duration::from_millis(250);

/// The master's timings and where it keeps sandboxes.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub heartbeat_interval: Duration,
    pub allocation_interval: Duration,
    pub status_retry_interval: Duration,
    /// Agents run no processes: a task turns RUNNING this long after its launch.
    pub simulated: Option<Duration>,
    /// Outstanding offers older than this are rescinded.
    pub offer_timeout: Option<Duration>,
}

pub(super) struct Master {
    pub id: String,
    pub settings: Settings,
    pub started: f64,
    pub agents: Vec<Agent>,
    pub frameworks: BTreeMap<FrameworkId, Framework>,
    pub completed_frameworks: VecDeque<Framework>,
    pub offers: HashMap<OfferId, OutstandingOffer>,
    pub next_framework: u64,
    pub next_offer: u64,
    pub rotation: usize,
    pub groups: ProcessGroups,
    /// Simulated tasks waiting to turn RUNNING, in deadline order (one delay for all).
    pub due: VecDeque<Due>,
    /// Set while a subscriber's queue is too full to take more simulated updates.
    pub due_paused_until: Option<Instant>,
    /// The latest launches, for `GET /admin/launches`.
    pub launches: VecDeque<LaunchRecord>,
    /// Due health-check and check probes, by deadline (then order of scheduling).
    pub probe_queue: BTreeMap<(Instant, u64), ProbeKey>,
    pub probe_seq: u64,
    /// Counts task launches that have probes, to tell a task's probes from an earlier task's.
    pub probe_runs: u64,
    /// Bounds the probes running at once.
    pub probe_slots: Arc<tokio::sync::Semaphore>,
    /// For task supervisors to report to this loop.
    pub inputs: mpsc::Sender<Input>,
    pub tracker: TaskTracker,
    pub cancel: CancellationToken,
}

/// Seconds since the epoch, as Mesos' `/state` and status timestamps have them.
pub(super) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Master {
    /// A master with these agents (their ids are assigned here) and no frameworks yet.
    pub fn new(
        settings: Settings,
        mut agents: Vec<Agent>,
        inputs: mpsc::Sender<Input>,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Master {
        let id = uuid::Uuid::new_v4().to_string();
        for (i, a) in agents.iter_mut().enumerate() {
            a.id = AgentId::new(format!("{id}-S{i}"));
        }
        Master {
            id,
            settings,
            started: now_secs(),
            agents,
            frameworks: BTreeMap::new(),
            completed_frameworks: VecDeque::new(),
            offers: HashMap::new(),
            next_framework: 0,
            next_offer: 0,
            rotation: 0,
            groups: ProcessGroups::new(),
            due: VecDeque::new(),
            due_paused_until: None,
            launches: VecDeque::new(),
            probe_queue: BTreeMap::new(),
            probe_seq: 0,
            probe_runs: 0,
            probe_slots: Arc::new(tokio::sync::Semaphore::new(MAX_PROBES)),
            inputs,
            tracker,
            cancel,
        }
    }

    pub fn master_info(&self) -> MasterInfo {
        let ip = self.settings.listen.ip();
        let ip_u32 = match ip {
            std::net::IpAddr::V4(v4) => u32::from_le_bytes(v4.octets()),
            std::net::IpAddr::V6(_) => 0,
        };
        let port = u32::from(self.settings.listen.port());
        MasterInfo {
            id: self.id.clone(),
            ip: ip_u32,
            port,
            pid: Some(format!("master@{}", self.settings.listen)),
            hostname: Some(ip.to_string()),
            version: Some(super::VERSION.to_owned()),
            address: Some(Address {
                hostname: Some(ip.to_string()),
                ip: Some(ip.to_string()),
                port,
            }),
            domain: None,
            capabilities: vec![MasterCapability {
                kind: "AGENT_UPDATE".into(),
            }],
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Subscribe { subscribe, reply } => {
                let subscription = self.subscribe(*subscribe);
                let _ = reply.send(subscription);
                self.allocate();
            }
            Input::Call {
                call,
                stream_id,
                reply,
            } => {
                let checked = self.check_caller(&call, stream_id.as_deref());
                match checked {
                    Ok(framework) => {
                        let _ = reply.send(self.apply(&framework, call.body));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Input::State { reply } => {
                let _ = reply.send(super::view::state(self));
            }
            Input::Ended {
                framework,
                task,
                pgid,
                outcome,
            } => self.process_ended(&framework, &task, pgid, outcome),
            Input::Fetched {
                framework,
                task,
                result,
            } => self.fetched(&framework, &task, result),
            Input::Probed {
                key,
                observation,
                detail,
            } => self.probed(key, observation, &detail),
            Input::Admin { command, reply } => {
                let _ = reply.send(self.admin(command));
            }
        }
    }
}

/// Sleeps until `at`, or for ever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The master's loop: the one place its state changes.
pub(super) async fn run(mut master: Master, mut inputs: mpsc::Receiver<Input>) {
    let cancel = master.cancel.clone();
    let mut allocation = tokio::time::interval(master.settings.allocation_interval);
    allocation.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retry = tokio::time::interval(RETRY_TICK);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        master.flush_backlogs();
        let due = master.next_due();
        let probe = master.next_probe();
        let backlog = master.backlogged().then(|| Instant::now() + BACKLOG_RETRY);
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            Some(input) = inputs.recv() => master.handle(input),
            () = sleep_until(backlog) => {}
            () = sleep_until(due) => master.run_due(),
            () = sleep_until(probe) => master.run_probes(),
            _ = allocation.tick() => {
                master.check_subscriptions();
                master.rescind_expired_offers();
                master.allocate();
            }
            _ = retry.tick() => master.retry_updates(),
        }
    }
    tracing::info!("mesos-local stopping: killing every task");
    master.groups.kill_all();
}

#[cfg(test)]
pub(super) mod tests;
