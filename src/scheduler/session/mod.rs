//! One subscription of the leader, from SUBSCRIBED to the stream's end: store the framework id,
//! reconcile, then handle events (offers → write-ahead provisioning → LAUNCH; updates → commit →
//! acknowledge) and keep house once a second (revive or suppress, scale down, kill what is no
//! longer wanted, reconcile periodically and whatever stays provisioned without news).

use super::QueueStats;
use super::{Fence, Settings};
use crate::api::{Api, ApiError};
use crate::mesos::client::{Caller, ClientError, Subscription};
use crate::mesos::{CallBody, Event};
use crate::metrics::METRICS;
use crate::state::Command;
use crate::state::ids::{FrameworkId, InstanceId};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;

mod house;
mod offers;
mod status;
#[cfg(test)]
mod tests;

/// How often the session keeps house.
const TICK: Duration = Duration::from_secs(1);
/// Status updates being committed and acknowledged at once; beyond it the session reads no
/// further events until some are done, and the master holds the rest. A launch burst brings
/// tens of thousands of updates within a second: unbounded, each waited with its status in
/// memory, and the leader's footprint after the burst grew by a hundred MiB.
const UPDATES_IN_FLIGHT: usize = 2048;

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
pub(super) fn creates_demand(event: &crate::state::events::Event) -> bool {
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
