//! One subscription of the leader, from SUBSCRIBED to the stream's end: store the framework id,
//! reconcile, then handle events (offers → write-ahead provisioning → LAUNCH; updates → commit →
//! acknowledge) and keep house once a second (revive or suppress, scale down, kill what is no
//! longer wanted, reconcile periodically and whatever stays provisioned without news).

use super::QueueStats;
use super::controller::{Decisions, decide};
use super::placement::place;
use super::task::task_info;
use super::{Fence, Settings};
use crate::api::queue::QueueEntry;
use crate::api::{Api, ApiError};
use crate::failpoint;
use crate::mesos::client::{Caller, ClientError, Subscription};
use crate::mesos::{
    Accept, Acknowledge, CallBody, Decline, Event, Filters, Kill, Offer, Operation, Reconcile,
    ReconcileTask, RoleList, TaskStatus,
};
use crate::metrics::METRICS;
use crate::state::ids::{AgentId, FrameworkId, InstanceId, TaskId};
use crate::state::model::{Condition, Goal, Instance, StatusReport};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Command, Outcome, State, StatusEffect};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;

/// How often the session keeps house.
const TICK: Duration = Duration::from_secs(1);
/// How long a KILL is given before it is sent again.
const KILL_RETRY: Duration = Duration::from_secs(10);
/// An instance still provisioned after this long (its LAUNCH lost, or its leader dead before
/// it) is reconciled explicitly; the answer (TASK_GONE/UNKNOWN) expunges it.
const PROVISIONED_TOO_LONG: Duration = Duration::from_secs(30);
/// Mesos' own default refusal: offers that did not fit come back soon.
const SHORT_REFUSAL: f64 = 5.0;

/// The refusal sent with an ACCEPT, for what the offer has left: none while instances still
/// wait (as Marathon, so the agent's rest comes back in the next allocation cycle rather than
/// after `SHORT_REFUSAL`, which capped launches at `max_instances_per_offer` per agent per 5 s),
/// Mesos' default otherwise.
/// ACCEPT calls sent at once: enough to hide the round trip, few enough not to swamp the
/// master with a thousand connections when a thousand offers arrive together.
const ACCEPTS_IN_FLIGHT: usize = 32;
/// Status updates being committed and acknowledged at once; beyond it the session reads no
/// further events until some are done, and the master holds the rest. A launch burst brings
/// tens of thousands of updates within a second: unbounded, each waited with its status in
/// memory, and the leader's footprint after the burst grew by a hundred MiB.
const UPDATES_IN_FLIGHT: usize = 2048;
/// Tasks named in one RECONCILE call: a call naming 100,000 tasks is over 10 MB, more than a
/// master takes in one body (mesos-local answers 413), and a leader that cannot send it can
/// never finish subscribing.
const RECONCILE_CHUNK: usize = 5_000;

/// `tasks` in RECONCILE-sized pieces, in order; none when `tasks` is empty.
fn reconcile_chunks(mut tasks: Vec<ReconcileTask>) -> Vec<Vec<ReconcileTask>> {
    let mut chunks = Vec::new();
    while tasks.len() > RECONCILE_CHUNK {
        let rest = tasks.split_off(RECONCILE_CHUNK);
        chunks.push(std::mem::replace(&mut tasks, rest));
    }
    if !tasks.is_empty() {
        chunks.push(tasks);
    }
    chunks
}

/// What a new subscription assumes of its offers: the master un-suppresses a framework that
/// subscribes without suppressed roles, but the long refusals an earlier subscription (this
/// leader's, or a deposed one's) sent with its declines outlive it. So it counts as having
/// declined for long: the first instances that wait revive the offers, or agents stay filtered
/// for `decline_offer_duration` after every re-subscription.
const SUBSCRIBED_SUPPRESSED: bool = false;
const SUBSCRIBED_DECLINED_LONG: bool = true;

/// How soon after new demand was committed (while offers are withheld) the leader keeps house;
/// a short wait lets a burst of writes (a group of many apps) count once.
const DEMAND_CHECK: Duration = Duration::from_millis(50);

/// Whether an applied event can make instances wait to launch: a deployment (of a new, scaled
/// or changed app or group) or an instance gone (it may be replaced).
fn creates_demand(event: &crate::state::events::Event) -> bool {
    use crate::state::events::Event as Applied;
    matches!(
        event,
        Applied::DeploymentStarted { .. } | Applied::InstanceExpunged { .. }
    )
}

/// Sleeps until `at`, or forever when there is no `at`.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The call that keeps offers flowing with demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OfferFlow {
    Revive,
    Suppress,
}

/// REVIVE when instances wait while offers may be withheld (suppressed, or declined for the
/// long duration); SUPPRESS when nothing waits and offers still come; else nothing.
fn offer_flow(waiting: u32, suppressed: bool, declined_long: bool) -> Option<OfferFlow> {
    if waiting > 0 && (suppressed || declined_long) {
        Some(OfferFlow::Revive)
    } else if waiting == 0 && !suppressed {
        Some(OfferFlow::Suppress)
    } else {
        None
    }
}

fn accept_refusal(waiting: u32) -> f64 {
    if waiting > 0 { 0.0 } else { SHORT_REFUSAL }
}

/// How a session ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// An operator's teardown: the framework is gone, its id is not to be used again.
    TornDown,
    /// This node's term ended.
    TermEnded,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum SessionError {
    #[error("no longer leader")]
    Deposed,
    #[error(transparent)]
    Mesos(#[from] ClientError),
    #[error("the master sent ERROR: {0}")]
    MasterError(String),
    #[error("cannot record the framework id {0}: {1}")]
    FrameworkId(String, ApiError),
}

pub(super) struct Session {
    api: Api,
    settings: Settings,
    fence: Fence,
    subscription: Subscription,
    caller: Caller,
    /// Whether offers are suppressed (nothing waits to launch).
    suppressed: bool,
    /// Whether offers were declined for the long duration since the last REVIVE: new demand
    /// must then revive, or those agents stay filtered for minutes.
    declined_long: bool,
    /// When each instance's task was last sent a KILL.
    killed: HashMap<InstanceId, Instant>,
    /// When each long-provisioned instance was last reconciled.
    checked: HashMap<InstanceId, Instant>,
    last_reconciliation: Instant,
    /// Status updates being committed and then acknowledged.
    updates: JoinSet<()>,
    /// What the last offers said about each waiting app (`/v2/queue`).
    queue: QueueStats,
    /// Since when each app has been waiting to launch.
    waiting_since: HashMap<PathId, Timestamp>,
}

impl Session {
    pub(super) fn new(
        api: Api,
        settings: Settings,
        fence: Fence,
        subscription: Subscription,
    ) -> Session {
        let caller = subscription.caller();
        Session {
            api,
            settings,
            fence,
            subscription,
            caller,
            suppressed: SUBSCRIBED_SUPPRESSED,
            declined_long: SUBSCRIBED_DECLINED_LONG,
            killed: HashMap::new(),
            checked: HashMap::new(),
            last_reconciliation: Instant::now(),
            updates: JoinSet::new(),
            queue: QueueStats::default(),
            waiting_since: HashMap::new(),
        }
    }

    pub(super) async fn run(mut self) -> Result<Ended, SessionError> {
        self.store_framework_id().await?;
        if self.teardown_if_requested().await? {
            return Ok(Ended::TornDown);
        }
        self.reconcile_everything().await?;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut applied = self.api.events();
        // When new demand was committed while offers are withheld: keep house then, not at the
        // next tick, so the offers it revives come up to a second sooner.
        let mut demand_check: Option<tokio::time::Instant> = None;
        let mut events_open = true;
        loop {
            tokio::select! {
                _ = self.fence.term.cancelled() => return Ok(Ended::TermEnded),
                event = self.subscription.next_event(), if self.updates.len() < UPDATES_IN_FLIGHT => {
                    self.handle(event?).await?
                }
                _ = tick.tick() => {
                    if self.teardown_if_requested().await? {
                        return Ok(Ended::TornDown);
                    }
                    demand_check = None;
                    self.keep_house().await?;
                }
                received = applied.recv(), if events_open => {
                    let demand = match received {
                        Ok(e) => creates_demand(&e.event),
                        Err(RecvError::Lagged(_)) => true,
                        // The node is stopping; a closed channel would answer at once forever.
                        Err(RecvError::Closed) => {
                            events_open = false;
                            false
                        }
                    };
                    if demand && (self.suppressed || self.declined_long) && demand_check.is_none() {
                        demand_check = Some(tokio::time::Instant::now() + DEMAND_CHECK);
                    }
                }
                _ = sleep_until_some(demand_check) => {
                    demand_check = None;
                    self.keep_house().await?;
                }
                Some(_) = self.updates.join_next(), if !self.updates.is_empty() => {}
            }
        }
    }

    /// Publishes the launch queue for `/v2/queue`: apps waiting for offers, and apps backed off.
    fn publish_queue(&mut self, decisions: &Decisions) {
        let now = Timestamp::now();
        let mut entries = Vec::new();
        for want in &decisions.wants {
            entries.push((want.app.id.clone(), want.count, None));
        }
        for (app, count, until) in &decisions.delayed {
            entries.push((app.clone(), *count, Some(*until)));
        }
        self.waiting_since
            .retain(|app, _| entries.iter().any(|(a, _, _)| a == app));
        self.queue
            .retain_waiting(|app| entries.iter().any(|(a, _, _)| a == app));
        let published = entries
            .into_iter()
            .map(|(app, count, delayed_until)| {
                let since = *self.waiting_since.entry(app.clone()).or_insert(now);
                QueueEntry {
                    offers: self.queue.summary(&app),
                    app,
                    count,
                    delayed_until,
                    since,
                }
            })
            .collect();
        self.api.publish_queue(published);
    }

    /// Sends a call if, and only if, this node acts as leader of the session's term (waiting
    /// through a lapse of its lease).
    async fn call(&self, body: CallBody) -> Result<(), SessionError> {
        if !self.fence.acting().await {
            return Err(SessionError::Deposed);
        }
        Ok(self.caller.call(body).await?)
    }

    async fn store_framework_id(&self) -> Result<(), SessionError> {
        let assigned = FrameworkId(self.subscription.framework_id.value.clone().into());
        let stored = self.api.local_view().state.settings().framework_id.clone();
        if stored.as_ref() == Some(&assigned) {
            return Ok(());
        }
        if !self.fence.acting().await {
            return Err(SessionError::Deposed);
        }
        match self
            .api
            .propose(
                None,
                Command::SetFrameworkId {
                    id: assigned.clone(),
                },
            )
            .await
        {
            Ok(_) => {
                tracing::info!(framework_id = %assigned, "framework id stored");
                Ok(())
            }
            Err(e) => Err(SessionError::FrameworkId(assigned.0.to_string(), e)),
        }
    }

    /// An operator's committed teardown request: TEARDOWN (Mesos kills every task and forgets
    /// the framework), then forget it here too. True when the framework is gone.
    async fn teardown_if_requested(&self) -> Result<bool, SessionError> {
        let settings = self.api.local_view().state.settings().clone();
        let Some(id) = settings
            .framework_id
            .filter(|_| settings.teardown_requested)
        else {
            return Ok(false);
        };
        tracing::warn!(framework_id = %id, "tearing the framework down, as an operator asked");
        self.call(CallBody::Teardown).await?;
        forget_framework(&self.api, id).await?;
        Ok(true)
    }

    async fn handle(&mut self, event: Event) -> Result<(), SessionError> {
        match event {
            Event::Offers(offers) => self.offers(offers.offers).await,
            Event::Update(update) => {
                METRICS.status_updates.inc();
                self.status(update.status);
                Ok(())
            }
            Event::Error(e) => Err(SessionError::MasterError(e.message)),
            Event::Failure(f) => {
                tracing::info!(agent = ?f.agent_id, executor = ?f.executor_id, status = ?f.status, "Mesos reports a failure");
                Ok(())
            }
            // Offers are answered as they arrive, so a rescinded one is already gone here.
            Event::Rescind(_)
            | Event::Subscribed(_)
            | Event::Heartbeat
            | Event::InverseOffers(_)
            | Event::RescindInverseOffer(_)
            | Event::UpdateOperationStatus(_)
            | Event::Message(_)
            | Event::Unknown { .. } => Ok(()),
        }
    }

    /// Commits a status through Raft and acknowledges it only once committed; if the commit
    /// fails (leadership lost), the update stays unacknowledged and Mesos sends it again to
    /// the next leader.
    fn status(&mut self, status: TaskStatus) {
        // A reconciliation answer (no uuid: nothing to acknowledge) that repeats the state is
        // not committed: a leader reconciles every instance after each subscription, and at
        // 100,000 tasks those empty writes cost a new leader its lease.
        if status.uuid.is_none()
            && self
                .api
                .local_view()
                .state
                .repeats_observation(&report(&status))
        {
            return;
        }
        let api = self.api.clone();
        let fence = self.fence.clone();
        let caller = self.caller.clone();
        self.updates.spawn(async move {
            let report = report(&status);
            let outcome = api.propose(None, Command::RecordStatus { report }).await;
            let effect = match outcome {
                Ok(Outcome::Status { effect, .. }) => effect,
                Ok(other) => {
                    tracing::error!(?other, "RecordStatus answered with another outcome");
                    return;
                }
                Err(e) => {
                    tracing::info!(task = %status.task_id, %e, "status not recorded; Mesos will send it again");
                    return;
                }
            };
            if !fence.holds() {
                return;
            }
            if effect == StatusEffect::UnknownTask && !crate::mesos::is_terminal(status.state) {
                tracing::warn!(task = %status.task_id, state = %status.state, "killing a task no instance owns");
                let kill = CallBody::Kill(Kill {
                    task_id: status.task_id.clone(),
                    agent_id: status.agent_id.clone(),
                    kill_policy: None,
                });
                if let Err(e) = caller.call(kill).await {
                    tracing::warn!(task = %status.task_id, %e, "cannot kill an orphan task");
                }
            }
            if let Some(ack) = Acknowledge::for_status(&status)
                && let Err(e) = caller.call(CallBody::Acknowledge(ack)).await
            {
                tracing::info!(task = %status.task_id, %e, "acknowledgement not delivered");
            }
        });
    }

    async fn offers(&mut self, offers: Vec<Offer>) -> Result<(), SessionError> {
        let view = self.api.local_view();
        let mut wants = decide(&view.state, Timestamp::now()).wants;
        let settings = self.settings.match_settings(Timestamp::now());
        let plans = place(&offers, &mut wants, &view.state, &settings);
        let waiting: u32 = wants.iter().map(|w| w.count).sum();
        METRICS.offers_processed.add(offers.len() as u64);
        let mut declined = Vec::new();
        let mut placed = Vec::new();
        for (offer, plan) in offers.iter().zip(plans) {
            self.queue.record(&offer.agent_id, &plan, Timestamp::now());
            for (app, refusal) in &plan.refused {
                tracing::debug!(app = %app.id, agent = %offer.hostname, reason = refusal.as_str(), "offer does not fit");
            }
            if plan.placed.is_empty() {
                declined.push(offer.id.clone());
            } else {
                placed.push((offer, plan.placed));
            }
        }
        // Every offer's instances are committed at once, so that the log batches them, and
        // not one offer's round trip after another's.
        let this = &*self;
        let provisioned =
            futures::future::join_all(placed.into_iter().map(|(offer, placed)| async move {
                (offer, this.provision(offer, placed).await)
            }))
            .await;
        let refuse = accept_refusal(waiting);
        let mut accepts = Vec::new();
        for (offer, tasks) in provisioned {
            let tasks = tasks?;
            if tasks.is_empty() {
                declined.push(offer.id.clone());
                continue;
            }
            let launched = tasks.len() as u64;
            failpoint::hit("launch.after-provision");
            let launch = CallBody::Accept(Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![Operation::launch(tasks)],
                filters: Some(Filters::refuse_seconds(refuse)),
            });
            accepts.push(async move {
                this.call(launch).await?;
                METRICS.offers_used.inc();
                METRICS.launches.add(launched);
                Ok::<(), SessionError>(())
            });
        }
        let mut accepts = futures::stream::iter(accepts).buffer_unordered(ACCEPTS_IN_FLIGHT);
        while let Some(result) = accepts.next().await {
            result?;
        }
        drop(accepts);
        if !declined.is_empty() {
            let refuse = if waiting > 0 {
                SHORT_REFUSAL
            } else {
                self.declined_long = true;
                self.settings.decline_offer_duration.as_secs_f64()
            };
            let count = declined.len() as u64;
            let decline = CallBody::Decline(Decline {
                offer_ids: declined,
                filters: Some(Filters::refuse_seconds(refuse)),
            });
            self.call(decline).await?;
            METRICS.offers_declined.add(count);
        }
        Ok(())
    }

    /// Commits each placed instance as provisioned (the write-ahead of its LAUNCH) and returns
    /// the tasks of those that committed.
    async fn provision(
        &self,
        offer: &Offer,
        placed: Vec<super::Placed>,
    ) -> Result<Vec<crate::mesos::TaskInfo>, SessionError> {
        if placed.is_empty() {
            return Ok(Vec::new());
        }
        if !self.fence.acting().await {
            return Err(SessionError::Deposed);
        }
        let view = self.api.local_view();
        let mut pending = Vec::with_capacity(placed.len());
        for p in placed {
            let Some(record) = view.state.app(&p.app.id) else {
                continue;
            };
            let instance = Instance {
                id: InstanceId::for_app(&p.app.id, uuid::Uuid::new_v4()),
                app: p.app.id.clone(),
                app_version: record.version,
                goal: Goal::Running,
                observed: None,
                agent: Some(AgentId(offer.agent_id.value.clone().into())),
                hostname: Some(offer.hostname.clone()),
                agent_attributes: attributes(offer),
                region: offer
                    .domain
                    .as_ref()
                    .and_then(|d| d.region())
                    .map(String::from),
                zone: offer
                    .domain
                    .as_ref()
                    .and_then(|d| d.zone())
                    .map(String::from),
                host_ports: p.host_ports.clone(),
                incarnation: 1,
                reservation: None,
                provisioned_at: Timestamp::now(),
                health: Default::default(),
                ready: false,
                readiness_response: None,
                check_result: None,
                revision: 0,
            };
            let task = task_info(
                &instance,
                record.version,
                &p,
                &offer.agent_id,
                &offer.hostname,
            );
            pending.push((instance, task));
        }
        let commits = pending.iter().map(|(instance, _)| {
            self.api.propose(
                None,
                Command::ProvisionInstance {
                    instance: Box::new(instance.clone()),
                },
            )
        });
        let results = futures::future::join_all(commits).await;
        let mut tasks = Vec::new();
        for ((instance, task), result) in pending.into_iter().zip(results) {
            match result {
                Ok(_) => tasks.push(task),
                Err(ApiError::NotLeader { .. }) => return Err(SessionError::Deposed),
                Err(e) => tracing::warn!(instance = %instance.id, %e, "instance not provisioned"),
            }
        }
        Ok(tasks)
    }

    async fn keep_house(&mut self) -> Result<(), SessionError> {
        let view = self.api.local_view();
        let state = &view.state;
        let decisions = decide(state, Timestamp::now());
        self.publish_queue(&decisions);
        let waiting: u32 = decisions.wants.iter().map(|w| w.count).sum();
        match offer_flow(waiting, self.suppressed, self.declined_long) {
            Some(OfferFlow::Revive) => {
                self.call(CallBody::Revive(RoleList::default())).await?;
                self.suppressed = false;
                self.declined_long = false;
                tracing::info!(waiting, "instances wait to launch: offers revived");
            }
            Some(OfferFlow::Suppress) => {
                self.call(CallBody::Suppress(RoleList::default())).await?;
                self.suppressed = true;
            }
            None => {}
        }
        self.kill_decommissioned(state).await?;
        if self.last_reconciliation.elapsed() >= self.settings.reconciliation_interval {
            self.reconcile_everything().await?;
        } else {
            self.reconcile_stuck(state).await?;
        }
        Ok(())
    }

    async fn kill_decommissioned(&mut self, state: &State) -> Result<(), SessionError> {
        let now = Instant::now();
        let due: Vec<&Instance> = state
            .instances()
            .filter(|i| i.goal == Goal::Decommissioned)
            .filter(|i| {
                self.killed
                    .get(&i.id)
                    .is_none_or(|at| now - *at >= KILL_RETRY)
            })
            .collect();
        self.killed.retain(|id, _| state.instance(id).is_some());
        for instance in due {
            let kill = CallBody::Kill(Kill {
                task_id: crate::mesos::TaskId::new(instance.task_id().0.to_string()),
                agent_id: instance
                    .agent
                    .as_ref()
                    .map(|a| crate::mesos::AgentId::new(a.0.to_string())),
                kill_policy: None,
            });
            self.call(kill).await?;
            METRICS.kills.inc();
            self.killed.insert(instance.id.clone(), now);
        }
        Ok(())
    }

    /// Asks about every instance (explicitly, so the master answers for tasks it does not
    /// know), then about every task the master knows (implicitly, which finds orphans).
    async fn reconcile_everything(&mut self) -> Result<(), SessionError> {
        let view = self.api.local_view();
        let tasks: Vec<ReconcileTask> = view.state.instances().map(reconcile_task).collect();
        tracing::info!(tasks = tasks.len(), "reconciling");
        for tasks in reconcile_chunks(tasks) {
            self.call(CallBody::Reconcile(Reconcile { tasks })).await?;
        }
        self.call(CallBody::Reconcile(Reconcile::default())).await?;
        self.last_reconciliation = Instant::now();
        Ok(())
    }

    async fn reconcile_stuck(&mut self, state: &State) -> Result<(), SessionError> {
        let now = Instant::now();
        let wall = Timestamp::now();
        let too_long = PROVISIONED_TOO_LONG.as_millis() as i64;
        let stuck: Vec<&Instance> = state
            .instances()
            .filter(|i| i.condition() == Condition::Provisioned)
            .filter(|i| wall.millis() - i.provisioned_at.millis() >= too_long)
            .filter(|i| {
                self.checked
                    .get(&i.id)
                    .is_none_or(|at| now - *at >= PROVISIONED_TOO_LONG)
            })
            .collect();
        self.checked.retain(|id, _| state.instance(id).is_some());
        if stuck.is_empty() {
            return Ok(());
        }
        let tasks = stuck.iter().map(|i| reconcile_task(i)).collect();
        for tasks in reconcile_chunks(tasks) {
            self.call(CallBody::Reconcile(Reconcile { tasks })).await?;
        }
        for i in stuck {
            self.checked.insert(i.id.clone(), now);
        }
        Ok(())
    }
}

/// Commits that the framework is gone (after a TEARDOWN, or when the master says it was
/// removed while a teardown was pending).
pub(super) async fn forget_framework(api: &Api, id: FrameworkId) -> Result<(), SessionError> {
    match api
        .propose(
            None,
            Command::ForgetFramework {
                framework_id: id.clone(),
            },
        )
        .await
    {
        Ok(_) => {
            tracing::warn!(framework_id = %id, "framework torn down and forgotten");
            Ok(())
        }
        Err(e) => Err(SessionError::FrameworkId(id.0.to_string(), e)),
    }
}

/// An offer's agent attributes as text, the way constraints compare them.
fn attributes(offer: &Offer) -> BTreeMap<String, String> {
    offer
        .attributes
        .iter()
        .map(|a| (a.name.clone(), a.value.to_text()))
        .collect()
}

fn reconcile_task(instance: &Instance) -> ReconcileTask {
    ReconcileTask {
        task_id: crate::mesos::TaskId::new(instance.task_id().0.to_string()),
        agent_id: instance
            .agent
            .as_ref()
            .map(|a| crate::mesos::AgentId::new(a.0.to_string())),
    }
}

/// A Mesos status as the state records it.
fn report(status: &TaskStatus) -> StatusReport {
    StatusReport {
        task_id: TaskId(status.task_id.value.clone().into()),
        agent: status
            .agent_id
            .as_ref()
            .map(|a| AgentId(a.value.clone().into())),
        condition: crate::mesos::condition(status.state),
        status_uuid: status.uuid.as_ref().map(|u| u.to_base64()),
        message: status.message.clone(),
        reason: status.reason.as_ref().map(|r| r.as_str().to_string()),
        healthy: status.healthy,
        check: check_result(status),
    }
}

/// The Mesos check result a status carries, as the state records it.
fn check_result(status: &TaskStatus) -> Option<crate::state::health::CheckResult> {
    use crate::state::health::CheckResult;
    let check = status.check_status.as_ref()?;
    if let Some(http) = &check.http {
        return Some(CheckResult::Http {
            status_code: http.status_code,
        });
    }
    if let Some(tcp) = &check.tcp {
        return Some(CheckResult::Tcp {
            succeeded: tcp.succeeded,
        });
    }
    check.command.as_ref().map(|c| CheckResult::Command {
        exit_code: c.exit_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconciliation_answer_that_repeats_the_state_is_not_committed() {
        use crate::state::app::{AppInput, parse_app};
        use crate::state::{Deploy, PutMode, Request, ids::DeploymentId};
        let mut state = State::default();
        let apply = |state: &mut State, index: u64, command: Command| {
            let request = Request::new(Timestamp(1_000 + index as i64), None, command);
            let (response, _) = state.apply((index, 0), &request);
            response.expect("command accepted");
        };
        let app = parse_app(br#"{"id": "/r", "cmd": "sleep 1"}"#, AppInput::Create).expect("app");
        let deploy = Deploy {
            id: DeploymentId("d1".into()),
            force: true,
        };
        let put = Command::PutApp {
            app: Box::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy,
        };
        apply(&mut state, 1, put);
        let path = PathId::parse("/r", None).expect("path");
        let unknown = InstanceId::for_app(&path, uuid::Uuid::new_v4());
        let version = state.app(&path).expect("app").version;
        let id = InstanceId::for_app(&path, uuid::Uuid::new_v4());
        let instance = Instance::fixture(id.clone(), path, version);
        let task = instance.task_id();
        let provision = Command::ProvisionInstance {
            instance: Box::new(instance),
        };
        apply(&mut state, 2, provision);
        let answer = |condition| StatusReport::fixture(task.clone(), condition);
        assert!(
            !state.repeats_observation(&answer(Condition::Running)),
            "nothing observed yet: news"
        );
        let running = Command::RecordStatus {
            report: StatusReport {
                status_uuid: Some("u1".into()),
                ..answer(Condition::Running)
            },
        };
        apply(&mut state, 3, running);
        assert!(state.repeats_observation(&answer(Condition::Running)));
        assert!(!state.repeats_observation(&answer(Condition::Gone)));
        let other_task = TaskId(format!("{}x", task.0).into());
        assert!(!state.repeats_observation(&StatusReport::fixture(other_task, Condition::Running)));
        assert!(!state.repeats_observation(&StatusReport::fixture(
            TaskId(format!("{unknown}._app.1").into()),
            Condition::Running
        )));
    }

    #[test]
    fn a_deployment_or_a_lost_instance_creates_demand_and_a_running_status_does_not() {
        use crate::state::app::{AppInput, parse_app};
        use crate::state::{Deploy, PutMode, Request, ids::DeploymentId};
        let mut state = State::default();
        let mut apply = |index: u64, command: Command| {
            let request = Request::new(Timestamp(1_000 + index as i64), None, command);
            let (response, applied) = state.apply((index, 0), &request);
            response.expect("command accepted");
            applied.events.iter().any(creates_demand)
        };
        let app = parse_app(br#"{"id": "/d", "cmd": "sleep 1"}"#, AppInput::Create).expect("app");
        let put = Command::PutApp {
            app: Box::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: Deploy {
                id: DeploymentId("d1".into()),
                force: true,
            },
        };
        assert!(apply(1, put), "a new app's deployment");
        let path = PathId::parse("/d", None).expect("path");
        let id = InstanceId::for_app(&path, uuid::Uuid::new_v4());
        let instance = Instance::fixture(id.clone(), path, Timestamp(1_001));
        let task = instance.task_id();
        let provision = Command::ProvisionInstance {
            instance: Box::new(instance),
        };
        assert!(!apply(2, provision), "an instance placed");
        let status = |uuid: &str, condition| Command::RecordStatus {
            report: StatusReport {
                status_uuid: Some(uuid.into()),
                ..StatusReport::fixture(task.clone(), condition)
            },
        };
        assert!(
            !apply(3, status("u1", Condition::Running)),
            "a task running"
        );
        assert!(apply(4, status("u2", Condition::Gone)), "a task gone");
    }

    #[test]
    fn a_new_subscription_revives_offers_as_soon_as_instances_wait() {
        // After a re-subscription, whatever the last session declined for long.
        let at_subscription =
            |waiting| offer_flow(waiting, SUBSCRIBED_SUPPRESSED, SUBSCRIBED_DECLINED_LONG);
        assert_eq!(at_subscription(1), Some(OfferFlow::Revive));
        assert_eq!(at_subscription(0), Some(OfferFlow::Suppress));
        // Within a session: revive only when offers may be withheld, suppress once.
        assert_eq!(offer_flow(3, false, false), None);
        assert_eq!(offer_flow(3, true, false), Some(OfferFlow::Revive));
        assert_eq!(offer_flow(3, false, true), Some(OfferFlow::Revive));
        assert_eq!(offer_flow(0, true, false), None);
        assert_eq!(offer_flow(0, false, true), Some(OfferFlow::Suppress));
    }

    #[test]
    fn an_accept_refuses_the_rest_of_its_offer_only_when_nothing_waits() {
        assert_eq!(accept_refusal(1), 0.0);
        assert_eq!(accept_refusal(100_000), 0.0);
        assert_eq!(accept_refusal(0), SHORT_REFUSAL);
    }

    #[test]
    fn reconciliation_is_split_into_bounded_calls_that_name_every_task_once() {
        let task = |n: usize| ReconcileTask {
            task_id: crate::mesos::TaskId::new(format!("t{n}")),
            agent_id: None,
        };
        assert!(reconcile_chunks(Vec::new()).is_empty());
        let total = 2 * RECONCILE_CHUNK + 3;
        let chunks = reconcile_chunks((0..total).map(task).collect());
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![RECONCILE_CHUNK, RECONCILE_CHUNK, 3]);
        let ids: Vec<String> = chunks
            .iter()
            .flatten()
            .map(|t| t.task_id.value.clone())
            .collect();
        let want: Vec<String> = (0..total).map(|n| format!("t{n}")).collect();
        assert_eq!(ids, want);
    }
}
