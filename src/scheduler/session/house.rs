//! Housekeeping once a second: the launch queue, the offer flow (revive or suppress), kills of
//! what is no longer wanted, and reconciliation.

use super::{Session, SessionError};
use crate::api::queue::QueueEntry;
use crate::mesos::{CallBody, Kill, Reconcile, ReconcileTask, RoleList};
use crate::metrics::METRICS;
use crate::scheduler::controller::{Decisions, decide};
use crate::state::State;
use crate::state::model::{Condition, Goal, Instance};
use crate::state::time::Timestamp;
use std::time::{Duration, Instant};

/// How long a KILL is given before it is sent again.
const KILL_RETRY: Duration = Duration::from_secs(10);
/// An instance still provisioned after this long (its LAUNCH lost, or its leader dead before
/// it) is reconciled explicitly; the answer (TASK_GONE/UNKNOWN) expunges it.
const PROVISIONED_TOO_LONG: Duration = Duration::from_secs(30);
/// Tasks named in one RECONCILE call: a call naming 100,000 tasks is over 10 MB, more than a
/// master takes in one body (mesos-local answers 413), and a leader that cannot send it can
/// never finish subscribing.
pub(super) const RECONCILE_CHUNK: usize = 5_000;

/// `tasks` in RECONCILE-sized pieces, in order; none when `tasks` is empty.
pub(super) fn reconcile_chunks(mut tasks: Vec<ReconcileTask>) -> Vec<Vec<ReconcileTask>> {
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

/// The call that keeps offers flowing with demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OfferFlow {
    Revive,
    Suppress,
}

/// REVIVE when instances wait while offers may be withheld (suppressed, or declined for the
/// long duration); SUPPRESS when nothing waits and offers still come; else nothing.
pub(super) fn offer_flow(waiting: u32, suppressed: bool, declined_long: bool) -> Option<OfferFlow> {
    if waiting > 0 && (suppressed || declined_long) {
        Some(OfferFlow::Revive)
    } else if waiting == 0 && !suppressed {
        Some(OfferFlow::Suppress)
    } else {
        None
    }
}

impl Session {
    /// Publishes the launch queue for `/v2/queue`: apps waiting for offers, and apps backed off.
    pub(super) fn publish_queue(&mut self, decisions: &Decisions) {
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

    pub(super) async fn keep_house(&mut self) -> Result<(), SessionError> {
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

    pub(super) async fn kill_decommissioned(&mut self, state: &State) -> Result<(), SessionError> {
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
    pub(super) async fn reconcile_everything(&mut self) -> Result<(), SessionError> {
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

    pub(super) async fn reconcile_stuck(&mut self, state: &State) -> Result<(), SessionError> {
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

fn reconcile_task(instance: &Instance) -> ReconcileTask {
    ReconcileTask {
        task_id: crate::mesos::TaskId::new(instance.task_id().0.to_string()),
        agent_id: instance
            .agent
            .as_ref()
            .map(|a| crate::mesos::AgentId::new(a.0.to_string())),
    }
}
