//! The embedded master's one owner of mutable state (frameworks, agents, offers, tasks), driven
//! by a closed input enum in one `select!` loop; HTTP handlers and task supervisors reach it only
//! through [`MasterHandle`] and the loop's input queue.

pub(super) use super::agent::{Agent, Reach};
use super::allocation::Refusal;
use super::checks::Observation;
use super::operator::{AdminCommand, AdminError, LaunchRecord};
use super::probing::{MAX_PROBES, ProbeKey, TaskProbes};
use super::process::{Outcome, ProcessGroups};
use super::resources::Resources;
use super::simulated::Due;
use crate::mesos::{
    Address, AgentId, Call, CheckStatusInfo, ErrorEvent, Event, ExecutorId, ExecutorInfo,
    FrameworkCapability, FrameworkId, FrameworkInfo, MasterCapability, MasterInfo, OfferId,
    Subscribe, Subscribed, TaskId, TaskInfo, TaskState, TaskStatus,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Calls and process reports waiting for the master; HTTP handlers wait when it is full.
pub const INPUT_QUEUE: usize = 1024;
/// Events on their way to a subscription's HTTP stream. What does not fit waits in the
/// subscription's backlog: a master never closes a subscription for reading slowly (a real one
/// buffers without bound), and one call can produce more than this at once (an implicit
/// reconciliation answers for every task).
pub const EVENT_QUEUE: usize = 65_536;
/// Events a subscription's backlog may hold before the master gives up on its reader and
/// disconnects it (it resubscribes and gets its unacknowledged updates again): only a client that
/// stopped reading gets this far, so it cannot grow memory without bound. Several times what a
/// reconciliation of every task of the largest simulated cluster answers.
pub const MAX_BACKLOG: usize = 2_000_000;
/// How soon the master tries again to move a backlog into its stream.
const BACKLOG_RETRY: Duration = Duration::from_millis(2);
/// Terminal tasks kept per framework for `/state`, as Mesos keeps.
pub const COMPLETED_TASKS: usize = 1000;
/// Removed frameworks kept for `/state` and to refuse their resubscription.
pub const COMPLETED_FRAMEWORKS: usize = 100;
/// How often unacknowledged status updates are checked for redelivery.
const RETRY_TICK: Duration = Duration::from_millis(250);
/// The longest wait between redeliveries of an unacknowledged status update (Mesos' 10 min).
pub const MAX_STATUS_RETRY: Duration = Duration::from_secs(600);
/// The command executor's kill grace period when neither the task nor the KILL gives one.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);

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

/// Why the master refuses a call; `http` maps each to its status code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallRefused {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the framework is known but not subscribed.
    #[error("{0}")]
    Forbidden(String),
    /// 503: the master is shutting down.
    #[error("mesos-local is stopping")]
    Stopping,
}

/// A new subscription's event stream; it ends when the master closes the subscription.
pub struct Subscription {
    pub stream_id: String,
    pub events: mpsc::Receiver<Event>,
}

/// Everything the master reacts to, besides its own timers.
pub(super) enum Input {
    Subscribe {
        subscribe: Box<Subscribe>,
        reply: oneshot::Sender<Subscription>,
    },
    Call {
        call: Box<Call>,
        stream_id: Option<String>,
        reply: oneshot::Sender<Result<(), CallRefused>>,
    },
    State {
        reply: oneshot::Sender<serde_json::Value>,
    },
    /// A task's process ended (or was killed).
    Ended {
        framework: FrameworkId,
        task: TaskId,
        pgid: u32,
        outcome: Outcome,
    },
    /// A task's URIs are in its sandbox (or could not be fetched).
    Fetched {
        framework: FrameworkId,
        task: TaskId,
        result: Result<(), String>,
    },
    /// A health check's or check's probe ended.
    Probed {
        key: ProbeKey,
        observation: Observation,
        detail: String,
    },
    /// An operator's request through `/admin`.
    Admin {
        command: AdminCommand,
        reply: oneshot::Sender<Result<serde_json::Value, AdminError>>,
    },
}

/// How the rest of mesos-local talks to the master.
#[derive(Clone)]
pub struct MasterHandle {
    pub(super) tx: mpsc::Sender<Input>,
}

impl MasterHandle {
    /// Subscribes (or fails over) a framework. Semantic refusals arrive as an ERROR event on the
    /// returned stream, as on a real master.
    pub async fn subscribe(&self, subscribe: Subscribe) -> Result<Subscription, CallRefused> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Subscribe {
            subscribe: Box::new(subscribe),
            reply,
        };
        self.tx
            .send(input)
            .await
            .map_err(|_| CallRefused::Stopping)?;
        rx.await.map_err(|_| CallRefused::Stopping)
    }

    /// Any call but SUBSCRIBE, checked against the framework's subscription.
    pub async fn call(&self, call: Call, stream_id: Option<String>) -> Result<(), CallRefused> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Call {
            call: Box::new(call),
            stream_id,
            reply,
        };
        self.tx
            .send(input)
            .await
            .map_err(|_| CallRefused::Stopping)?;
        rx.await.map_err(|_| CallRefused::Stopping)?
    }

    /// The `/state` document.
    pub async fn state(&self) -> Result<serde_json::Value, CallRefused> {
        let (reply, rx) = oneshot::channel();
        let input = Input::State { reply };
        self.tx
            .send(input)
            .await
            .map_err(|_| CallRefused::Stopping)?;
        rx.await.map_err(|_| CallRefused::Stopping)
    }

    /// An operator's request; its answer as JSON.
    pub(super) async fn admin(
        &self,
        command: AdminCommand,
    ) -> Result<serde_json::Value, AdminError> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Admin { command, reply };
        self.tx
            .send(input)
            .await
            .map_err(|_| AdminError::Stopping)?;
        rx.await.map_err(|_| AdminError::Stopping)?
    }
}

pub(super) struct OutstandingOffer {
    pub framework: FrameworkId,
    pub agent: usize,
    pub resources: Resources,
    /// For `--offer-timeout-secs`.
    pub made: Instant,
}

pub(super) struct Stream {
    pub id: String,
    pub events: mpsc::Sender<Event>,
    /// Events that did not fit `events` yet, oldest first; sent before any newer one.
    pub backlog: VecDeque<Event>,
}

impl Stream {
    pub fn new(id: String, events: mpsc::Sender<Event>) -> Stream {
        Stream {
            id,
            events,
            backlog: VecDeque::new(),
        }
    }

    /// Moves backlogged events into the stream while it has room; `Err` when the reader is gone.
    fn flush(&mut self) -> Result<(), ()> {
        while let Some(event) = self.backlog.pop_front() {
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.backlog.push_front(event);
                    return Ok(());
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(()),
            }
        }
        Ok(())
    }
}

/// A live task process: where to ask for a kill with a grace period.
pub(super) struct ProcessRef {
    pub kill: mpsc::Sender<Duration>,
}

pub(super) struct Task {
    pub info: TaskInfo,
    pub agent: usize,
    pub resources: Resources,
    /// The latest state, reliable or not; resources are released when it turns terminal.
    pub state: TaskState,
    pub statuses: Vec<TaskStatus>,
    /// Reliable updates not yet acknowledged; only the head is sent.
    pub unacked: VecDeque<TaskStatus>,
    pub head_sent: Option<Instant>,
    /// How long after `head_sent` the head is sent again; doubles each time, as the agent's
    /// status update manager retries.
    pub head_backoff: Duration,
    pub process: Option<ProcessRef>,
    /// Where its command runs; none for simulated tasks.
    pub sandbox: Option<PathBuf>,
    /// Its health check and check while it runs a process.
    pub probes: Option<Box<TaskProbes>>,
    /// The check's latest result, carried by every later status.
    pub check_status: Option<CheckStatusInfo>,
    /// Killed by its failing health check: its terminal status says `healthy: false`.
    pub health_killed: bool,
    /// The default executor of its task group; none for a command task (its own executor).
    pub executor: Option<ExecutorId>,
}

impl Task {
    /// The executor its statuses name: the group's, or the command executor's (the task id).
    pub fn executor_id(&self) -> ExecutorId {
        self.executor
            .clone()
            .unwrap_or_else(|| ExecutorId::new(self.info.task_id.as_str()))
    }
}

pub(super) struct Framework {
    pub info: FrameworkInfo,
    pub stream: Option<Stream>,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub unregistered_time: Option<f64>,
    pub disconnected_at: Option<Instant>,
    pub suppressed: bool,
    pub refusals: HashMap<usize, Refusal>,
    pub tasks: BTreeMap<TaskId, Task>,
    pub completed: VecDeque<Task>,
    /// Running default executors of task groups, by agent and executor id.
    pub executors: BTreeMap<(usize, ExecutorId), Executor>,
}

/// A default executor running a task group (and any group launched onto it later). It holds its
/// own resources until its last task ends.
pub(super) struct Executor {
    pub info: ExecutorInfo,
    pub resources: Resources,
    pub tasks: Vec<TaskId>,
    /// Where its tasks' sandboxes are; none on simulated agents.
    pub sandbox: Option<PathBuf>,
    /// Set once one of its tasks failed or was killed: it is killing the others.
    pub killing: bool,
}

impl Framework {
    pub fn id(&self) -> FrameworkId {
        self.info.id.clone().unwrap_or_else(|| FrameworkId::new(""))
    }

    /// The roles it is offered resources for: `roles` with MULTI_ROLE, else `role`, else `*`.
    pub fn roles(&self) -> Vec<String> {
        let multi_role = self.info.has_capability(FrameworkCapability::MultiRole);
        match (&self.info.role, multi_role) {
            _ if multi_role && !self.info.roles.is_empty() => self.info.roles.clone(),
            (Some(role), _) => vec![role.clone()],
            (None, _) => vec!["*".to_owned()],
        }
    }

    pub fn partition_aware(&self) -> bool {
        self.info
            .has_capability(FrameworkCapability::PartitionAware)
    }

    /// Keeps the last [`COMPLETED_TASKS`] terminal tasks.
    pub fn complete(&mut self, task: Task) {
        if self.completed.len() >= COMPLETED_TASKS {
            self.completed.pop_front();
        }
        self.completed.push_back(task);
    }
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

    /// The master's checks of a non-SUBSCRIBE call, in its order: known, subscribed, stream id
    /// present, stream id current.
    fn check_caller(
        &self,
        call: &Call,
        stream_id: Option<&str>,
    ) -> Result<FrameworkId, CallRefused> {
        let id = call.framework_id.clone().ok_or_else(|| {
            CallRefused::BadRequest("Expecting 'framework_id' to be present".into())
        })?;
        let framework = self
            .frameworks
            .get(&id)
            .ok_or_else(|| CallRefused::BadRequest("Framework cannot be found".into()))?;
        let stream = framework
            .stream
            .as_ref()
            .ok_or_else(|| CallRefused::Forbidden("Framework is not subscribed".into()))?;
        let given = stream_id.ok_or_else(|| {
            CallRefused::BadRequest(
                "All non-subscribe calls should include the 'Mesos-Stream-Id' header".into(),
            )
        })?;
        if given != stream.id {
            return Err(CallRefused::BadRequest(format!(
                "The stream ID '{given}' included in this request didn't match the stream ID \
                 currently associated with framework ID {id}"
            )));
        }
        Ok(id)
    }

    fn subscribe(&mut self, subscribe: Subscribe) -> Subscription {
        let (tx, events) = mpsc::channel(EVENT_QUEUE);
        let stream_id = uuid::Uuid::new_v4().to_string();
        let refuse = |tx: mpsc::Sender<Event>, message: &str| {
            let _ = tx.try_send(Event::Error(ErrorEvent {
                message: message.to_owned(),
            }));
        };
        let mut info = subscribe.framework_info;
        let now = now_secs();
        let id = match info.id.clone() {
            Some(id)
                if self
                    .completed_frameworks
                    .iter()
                    .any(|f| f.info.id.as_ref() == Some(&id)) =>
            {
                refuse(tx, "Framework has been removed");
                return Subscription { stream_id, events };
            }
            Some(id) if self.frameworks.contains_key(&id) => {
                let Some(fw) = self.frameworks.get_mut(&id) else {
                    return Subscription { stream_id, events };
                };
                if fw.info.principal != info.principal {
                    refuse(tx, "Changing framework's principal is not allowed.");
                    return Subscription { stream_id, events };
                }
                if let Some(old) = fw.stream.take() {
                    tracing::info!(framework_id = %id, "framework failed over");
                    let _ = old.events.try_send(Event::Error(ErrorEvent {
                        message: "Framework failed over".into(),
                    }));
                }
                // Resubscription keeps the user and checkpoint flag it started with.
                info.user = fw.info.user.clone();
                info.checkpoint = fw.info.checkpoint;
                fw.info = info;
                fw.reregistered_time = Some(now);
                self.discard_offers(&id);
                id
            }
            recovered => {
                let id = recovered.unwrap_or_else(|| {
                    let id = FrameworkId::new(format!("{}-{:04}", self.id, self.next_framework));
                    self.next_framework += 1;
                    id
                });
                info.id = Some(id.clone());
                let fw = Framework {
                    info,
                    stream: None,
                    registered_time: now,
                    reregistered_time: None,
                    unregistered_time: None,
                    disconnected_at: None,
                    suppressed: false,
                    refusals: HashMap::new(),
                    tasks: BTreeMap::new(),
                    completed: VecDeque::new(),
                    executors: BTreeMap::new(),
                };
                tracing::info!(framework_id = %id, name = %fw.info.name, "framework subscribed");
                self.frameworks.insert(id.clone(), fw);
                id
            }
        };
        let subscribed = Event::Subscribed(Subscribed {
            framework_id: id.clone(),
            heartbeat_interval_seconds: Some(self.settings.heartbeat_interval.as_secs_f64()),
            master_info: Some(self.master_info()),
        });
        let _ = tx.try_send(subscribed);
        let _ = tx.try_send(Event::Heartbeat);
        if let Some(fw) = self.frameworks.get_mut(&id) {
            fw.suppressed = !subscribe.suppressed_roles.is_empty();
            fw.disconnected_at = None;
            fw.info.id = Some(id.clone());
            fw.stream = Some(Stream::new(stream_id.clone(), tx));
        }
        self.resend_heads(&id, true);
        Subscription { stream_id, events }
    }

    /// Sends an event to a framework's subscription, in order after any backlog; a closed
    /// subscriber, or one whose backlog passed [`MAX_BACKLOG`], is disconnected.
    pub fn send(&mut self, framework: &FrameworkId, event: Event) {
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        let Some(stream) = &mut fw.stream else {
            return;
        };
        let problem = if stream.backlog.is_empty() {
            match stream.events.try_send(event) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(event)) => {
                    stream.backlog.push_back(event);
                    None
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Some("the reader is gone"),
            }
        } else {
            stream.backlog.push_back(event);
            (stream.backlog.len() > MAX_BACKLOG).then_some("the reader stopped reading")
        };
        if let Some(problem) = problem {
            tracing::warn!(framework_id = %framework, problem, "dropping the subscription");
            self.disconnect(framework);
        }
    }

    /// Whether some subscription has events waiting in its backlog.
    fn backlogged(&self) -> bool {
        self.frameworks
            .values()
            .any(|f| f.stream.as_ref().is_some_and(|s| !s.backlog.is_empty()))
    }

    /// Moves backlogged events into their streams as far as they have room.
    pub(super) fn flush_backlogs(&mut self) {
        let mut gone = Vec::new();
        for (id, fw) in &mut self.frameworks {
            if let Some(stream) = &mut fw.stream
                && stream.flush().is_err()
            {
                gone.push(id.clone());
            }
        }
        for id in gone {
            tracing::warn!(framework_id = %id, "dropping the subscription: the reader is gone");
            self.disconnect(&id);
        }
    }

    fn disconnect(&mut self, framework: &FrameworkId) {
        if let Some(fw) = self.frameworks.get_mut(framework) {
            fw.stream = None;
            fw.disconnected_at = Some(Instant::now());
            tracing::info!(framework_id = %framework, "framework disconnected");
        }
        self.discard_offers(framework);
    }

    /// Notices subscriptions whose client went away, and removes frameworks whose failover
    /// timeout has passed.
    fn check_subscriptions(&mut self) {
        let closed: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, f)| f.stream.as_ref().is_some_and(|s| s.events.is_closed()))
            .map(|(id, _)| id.clone())
            .collect();
        for id in closed {
            self.disconnect(&id);
        }
        let now = Instant::now();
        let expired: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, f)| {
                let timeout = f
                    .info
                    .failover_timeout
                    .filter(|t| t.is_finite() && *t > 0.0);
                let timeout = Duration::from_secs_f64(timeout.unwrap_or(0.0).min(1e9));
                f.disconnected_at.is_some_and(|at| now >= at + timeout)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            tracing::info!(framework_id = %id, "failover timeout passed: removing the framework");
            self.remove_framework(&id);
        }
    }

    /// Redelivers the head of every task's unacknowledged updates: all of them right after a
    /// (re)subscription (`all`), else those whose backoff has passed (it then doubles).
    fn resend_heads(&mut self, framework: &FrameworkId, all: bool) {
        let retry = self.settings.status_retry_interval;
        let now = Instant::now();
        let agents = &self.agents;
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        if fw.stream.is_none() {
            return;
        }
        let mut due = Vec::new();
        for task in fw.tasks.values_mut() {
            let Some(head) = task.unacked.front() else {
                continue;
            };
            // A partitioned agent's updates wait for it to come back.
            if !agents.get(task.agent).is_some_and(Agent::reachable) {
                continue;
            }
            if all {
                task.head_backoff = retry;
            } else if task
                .head_sent
                .is_none_or(|at| now >= at + task.head_backoff)
            {
                task.head_backoff = (task.head_backoff * 2).min(MAX_STATUS_RETRY);
            } else {
                continue;
            }
            task.head_sent = Some(now);
            due.push(head.clone());
        }
        for status in due {
            self.send(framework, Event::Update(crate::mesos::Update { status }));
        }
    }

    /// Redelivers due updates, except to a subscriber that has not yet been sent everything
    /// (its backlog is not empty): what it has not received is not lost, and resending would
    /// only lengthen its backlog.
    fn retry_updates(&mut self) {
        let ids: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, f)| f.stream.as_ref().is_none_or(|s| s.backlog.is_empty()))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.resend_heads(&id, false);
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
