//! The leader's Mesos scheduler: while this node acts as leader it is subscribed as the
//! framework, launches the instances the state asks for, kills the ones it no longer wants, and
//! commits every task status through Raft before acknowledging it to Mesos. It stops the moment
//! the node stops acting as leader; the next leader subscribes with the same framework id.
//!
//! Two fences keep a deposed leader from acting: every call first checks that this node still
//! acts as leader of the term it started in ([`Fence`]), and the master accepts calls only on
//! the newest subscription of a framework id, so an old leader's stream id is refused.
//!
//! - `session`: one subscription, from SUBSCRIBE to the stream's end.
//! - `placement`: which waiting instances go on which offer (pure).
//! - `task`: the TaskInfo of an instance (pure); `checks`: its agent-run checks (pure).
//! - `health`: the term's leader-run health checks, verdicts committed through Raft;
//!   `readiness`: the term's readiness checks of instances a deployment starts.

mod checks;
mod controller;
mod health;
mod placement;
mod queue_stats;
mod readiness;
mod session;
mod task;

pub use placement::{
    DEFAULT_MAX_INSTANCES_PER_OFFER, GpuScheduling, MatchSettings, OfferPlan, Placed, Refusal,
    Want, place,
};
pub use queue_stats::QueueStats;
pub use task::task_info;

use crate::api::Api;
use crate::config::MesosConfig;
use crate::mesos::client::{Backoff, Client, ClientConfig, ClientError, Subscription};
use crate::mesos::{FrameworkCapability, FrameworkInfo};
use crate::raft::Leadership;
use crate::state::ids::FrameworkId;
use crate::state::model::Goal;
use crate::state::time::Timestamp;
use crate::state::{Command, Outcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the scheduler needs from the node's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub framework_name: String,
    pub role: String,
    pub user: String,
    pub failover_timeout_secs: u64,
    pub principal: Option<String>,
    /// The node's REST address, shown as the framework's web UI in Mesos.
    pub webui_url: Option<String>,
    pub reconciliation_interval: Duration,
    /// How long declined offers stay away while nothing waits to launch.
    pub decline_offer_duration: Duration,
    /// At most this many instances placed on one offer.
    pub max_instances_per_offer: usize,
}

impl Settings {
    pub fn from_config(mesos: &MesosConfig, webui_url: Option<String>) -> Settings {
        Settings {
            framework_name: mesos.framework_name.clone(),
            role: mesos.role.clone(),
            user: mesos.user.clone().unwrap_or_else(current_user),
            failover_timeout_secs: mesos.failover_timeout_secs,
            principal: mesos.principal.clone(),
            webui_url,
            reconciliation_interval: Duration::from_secs(mesos.reconciliation_interval_secs),
            decline_offer_duration: Duration::from_secs(mesos.decline_offer_duration_secs),
            max_instances_per_offer: mesos.max_instances_per_offer,
        }
    }

    /// How offers are matched at `now`.
    pub fn match_settings(&self, now: Timestamp) -> MatchSettings {
        MatchSettings {
            max_instances_per_offer: self.max_instances_per_offer,
            ..MatchSettings::at(now)
        }
    }

    /// The FrameworkInfo every leader subscribes with; `id` is the stored framework id.
    pub fn framework_info(&self, id: Option<&FrameworkId>) -> FrameworkInfo {
        let mut info = FrameworkInfo::new(self.user.clone(), self.framework_name.clone());
        info.id = id.map(crate::mesos::FrameworkId::from);
        info.failover_timeout = Some(self.failover_timeout_secs as f64);
        info.checkpoint = Some(true);
        info.roles = vec![self.role.clone()];
        info.principal = self.principal.clone();
        info.webui_url = self.webui_url.clone();
        info.capabilities = vec![
            FrameworkCapability::PartitionAware,
            FrameworkCapability::MultiRole,
            FrameworkCapability::GpuResources,
            FrameworkCapability::RegionAware,
            FrameworkCapability::TaskKillingState,
        ];
        info
    }
}

/// The Unix user tasks run as when none is configured: the one running baton, as Marathon.
fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_string())
}

/// The client configuration for the node's masters.
pub fn client_config(mesos: &MesosConfig) -> ClientConfig {
    let mut config = ClientConfig::new(mesos.masters.clone());
    config.credential = mesos
        .principal
        .clone()
        .map(|p| (p, mesos.secret.clone().unwrap_or_default()));
    config
}

/// How often the leader looks for deployment progress and instances to decommission.
const DRIVE_INTERVAL: Duration = Duration::from_millis(500);

/// The deployment driver: while this node leads, commits what the controller decides that
/// needs no Mesos (finished deployment steps, instances to decommission, unreachable instances
/// to mark inactive or expunge), so deployments
/// progress and scale-downs are recorded even while no master is reachable. Launches and kills
/// are the Mesos session's.
async fn drive_deployments(api: &Api, fence: &Fence) {
    let mut tick = tokio::time::interval(DRIVE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = fence.term.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !fence.holds() {
            continue;
        }
        let view = api.local_view();
        let decisions = controller::decide(&view.state, Timestamp::now());
        let goals = decisions
            .decommission
            .iter()
            .map(|id| Command::SetInstanceGoal {
                id: id.clone(),
                goal: Goal::Decommissioned,
            });
        let steps = decisions
            .advance
            .iter()
            .map(|(id, step)| Command::AdvanceDeployment {
                id: id.clone(),
                step: *step,
            });
        let inactive = decisions
            .inactive
            .iter()
            .map(|id| Command::MarkUnreachableInactive { id: id.clone() });
        let expunge = decisions
            .expunge
            .iter()
            .map(|id| Command::ExpungeUnreachable { id: id.clone() });
        let commands: Vec<Command> = goals.chain(steps).chain(inactive).chain(expunge).collect();
        if commands.is_empty() {
            continue;
        }
        let proposals = commands.into_iter().map(|c| api.propose(None, c));
        for result in futures::future::join_all(proposals).await {
            match result {
                Ok(Outcome::DeploymentAdvanced { id, finished: true }) => {
                    tracing::info!(deployment = %id, "deployment finished");
                }
                Ok(Outcome::UnreachableExpired { id, expunged }) => {
                    tracing::info!(instance = %id, expunged, "unreachable instance expired");
                }
                Ok(_) => {}
                Err(e) => tracing::info!(%e, "a scheduling decision was not committed"),
            }
        }
        // Wait for what was just committed before deciding again.
        api.wait_for_newer_state(&view).await;
    }
}

/// The framework id the master gave a subscription of this node whose commit did not happen.
/// A first registration holds the lock until it is answered, so a later term waits for its id.
type Registered = Arc<tokio::sync::Mutex<Option<FrameworkId>>>;

/// The leader service: runs one scheduler per leadership term until `shutdown`.
pub struct Scheduler {
    api: Api,
    settings: Settings,
    client: Client,
}

/// How often a leader whose lease lapsed looks whether it came back.
const LAPSE_POLL: Duration = Duration::from_millis(10);

/// The term a scheduler acts in: a call to Mesos is made only while [`Fence::holds`] — the
/// session's calls wait in [`Fence::acting`] through a lapse of the lease; the status tasks,
/// which must not wait, check `holds` and leave the update to the next leader.
#[derive(Clone)]
pub struct Fence {
    api: Api,
    term: CancellationToken,
}

impl Fence {
    /// Whether this node still acts as leader of the term the scheduler started in (lease
    /// included, so a node continued after SIGSTOP fails this before its watch catches up).
    pub fn holds(&self) -> bool {
        !self.term.is_cancelled() && self.api.leadership().is_leader()
    }

    /// Waits until this node may act as leader of the term again (the lease lapses under load
    /// and returns with the next quorum acknowledgement); `false` when the term ended instead.
    pub async fn acting(&self) -> bool {
        while !self.holds() {
            tokio::select! {
                _ = self.term.cancelled() => return false,
                _ = tokio::time::sleep(LAPSE_POLL) => {}
            }
        }
        true
    }
}

impl Scheduler {
    pub fn new(api: Api, settings: Settings, client: Client) -> Scheduler {
        Scheduler {
            api,
            settings,
            client,
        }
    }

    pub async fn run(
        self,
        mut leadership: watch::Receiver<Leadership>,
        shutdown: CancellationToken,
    ) {
        // The id the master gave a subscription of this node whose commit did not happen (the
        // session or the whole term ended first): subscribing again without it would register
        // a second framework, and leave the first one's tasks behind. Kept across terms: a node
        // re-elected at once (two elections while a cluster starts) reuses it.
        let registered: Registered = Arc::default();
        loop {
            let term = tokio::select! {
                _ = shutdown.cancelled() => return,
                l = leadership.wait_for(|l| l.term_token.as_ref().is_some_and(|t| !t.is_cancelled())) => {
                    match l {
                        Ok(l) => l.term_token.clone(),
                        Err(_) => return,
                    }
                }
            };
            let Some(term) = term else { continue };
            let fence = Fence {
                api: self.api.clone(),
                term: term.clone(),
            };
            tracing::info!("acting as leader: starting the Mesos scheduler");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.lead(&fence, &registered) => {}
                _ = drive_deployments(&self.api, &fence) => {}
                _ = health::run(&self.api, &fence) => {}
                _ = readiness::run(&self.api, &fence) => {}
            }
            self.api.publish_queue(Vec::new());
            tracing::info!("no longer leader: the Mesos scheduler stopped");
        }
    }

    /// The master refused the subscription with an ERROR event. When it says the framework was
    /// removed and an operator's teardown is pending, the TEARDOWN reached Mesos before the
    /// last leader could record it: record it now, so the next subscription registers anew.
    /// Otherwise the framework was removed behind baton's back (or the request is invalid);
    /// subscribing again under a new id would orphan its tasks, so baton keeps retrying and
    /// says so.
    async fn subscription_refused(&self, fence: &Fence, message: &str) {
        let settings = self.api.local_view().state.settings().clone();
        let removed = message.contains("removed");
        match settings.framework_id {
            Some(id) if removed && settings.teardown_requested && fence.holds() => {
                if let Err(e) = session::forget_framework(&self.api, id).await {
                    tracing::warn!(%e, "cannot forget the torn-down framework");
                }
            }
            _ => tracing::error!(
                message,
                framework_id = ?settings.framework_id,
                "Mesos refuses the subscription; an operator must act (a removed framework's \
                 tasks are gone: `baton cluster teardown-framework` makes baton register anew)"
            ),
        }
    }

    /// SUBSCRIBEs with `info`. A first registration (no id) runs to its end on a task of its
    /// own that keeps the id in `registered` even if the term ends (and this call is dropped)
    /// meanwhile: the master registers the framework as the call arrives, and an id lost with
    /// the term would make the next subscription a second framework.
    async fn subscribe(
        &self,
        info: FrameworkInfo,
        registered: &Registered,
    ) -> Result<Subscription, ClientError> {
        if info.id.is_some() {
            return self.client.subscribe(info, Vec::new()).await;
        }
        let client = self.client.clone();
        let mut registered = Arc::clone(registered).lock_owned().await;
        let call = tokio::spawn(async move {
            let subscribed = client.subscribe(info, Vec::new()).await;
            if let Ok(s) = &subscribed {
                *registered = Some(FrameworkId(s.framework_id.value.clone().into()));
            }
            subscribed
        });
        call.await.unwrap_or_else(|e| {
            Err(ClientError::Http(format!(
                "the subscription task failed: {e}"
            )))
        })
    }

    /// Subscribes again and again (with backoff) until the term ends.
    async fn lead(&self, fence: &Fence, registered: &Registered) {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        while fence.acting().await {
            let stored = self.api.local_view().state.settings().framework_id.clone();
            let known = match stored {
                Some(id) => {
                    // Committed (it is the stored one), or moot: a stored id is what subscribes.
                    *registered.lock().await = None;
                    Some(id)
                }
                None => registered.lock().await.clone(),
            };
            let info = self.settings.framework_info(known.as_ref());
            let subscribed = tokio::select! {
                _ = fence.term.cancelled() => return,
                s = self.subscribe(info, registered) => s,
            };
            match subscribed {
                Ok(subscription) => {
                    backoff.reset();
                    *registered.lock().await =
                        Some(FrameworkId(subscription.framework_id.value.clone().into()));
                    tracing::info!(
                        framework_id = %subscription.framework_id,
                        master = %subscription.master,
                        "subscribed to Mesos"
                    );
                    let session = session::Session::new(
                        self.api.clone(),
                        self.settings.clone(),
                        fence.clone(),
                        subscription,
                    );
                    match session.run().await {
                        Err(e) => tracing::warn!(%e, "Mesos subscription ended"),
                        Ok(session::Ended::TornDown) => *registered.lock().await = None,
                        Ok(session::Ended::TermEnded) => {}
                    }
                }
                Err(ClientError::SubscribeFailed(message)) => {
                    *registered.lock().await = None;
                    self.subscription_refused(fence, &message).await;
                }
                Err(e) => tracing::warn!(%e, "cannot subscribe to Mesos"),
            }
            let pause = backoff.next_delay();
            tokio::select! {
                _ = fence.term.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_matched_with_the_configured_instances_per_offer() {
        let mesos = MesosConfig {
            max_instances_per_offer: 40,
            ..MesosConfig::default()
        };
        let settings = Settings::from_config(&mesos, None);
        assert_eq!(
            settings
                .match_settings(Timestamp(0))
                .max_instances_per_offer,
            40
        );
        let defaults = Settings::from_config(&MesosConfig::default(), None);
        assert_eq!(
            defaults
                .match_settings(Timestamp(0))
                .max_instances_per_offer,
            DEFAULT_MAX_INSTANCES_PER_OFFER
        );
    }
}
