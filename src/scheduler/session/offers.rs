//! Offers: placement, write-ahead provisioning of each instance, and the ACCEPT that launches it.

use super::{Session, SessionError};
use crate::api::ApiError;
use crate::failpoint;
use crate::mesos::{Accept, CallBody, Decline, Filters, Offer, Operation};
use crate::metrics::METRICS;
use crate::scheduler::controller::decide;
use crate::scheduler::placement::place;
use crate::scheduler::task::task_info;
use crate::state::Command;
use crate::state::ids::{AgentId, InstanceId};
use crate::state::model::{Goal, Instance};
use crate::state::time::Timestamp;
use futures::StreamExt;
use std::collections::BTreeMap;

/// Mesos' own default refusal: offers that did not fit come back soon.
pub(super) const SHORT_REFUSAL: f64 = 5.0;

/// ACCEPT calls sent at once: enough to hide the round trip, few enough not to swamp the
/// master with a thousand connections when a thousand offers arrive together.
const ACCEPTS_IN_FLIGHT: usize = 32;

/// The refusal sent with an ACCEPT, for what the offer has left: none while instances still
/// wait (as Marathon, so the agent's rest comes back in the next allocation cycle rather than
/// after `SHORT_REFUSAL`, which capped launches at `max_instances_per_offer` per agent per 5 s),
/// Mesos' default otherwise.
pub(super) fn accept_refusal(waiting: u32) -> f64 {
    if waiting > 0 { 0.0 } else { SHORT_REFUSAL }
}

impl Session {
    pub(super) async fn offers(&mut self, offers: Vec<Offer>) -> Result<(), SessionError> {
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
    pub(super) async fn provision(
        &self,
        offer: &Offer,
        placed: Vec<crate::scheduler::Placed>,
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
}

/// An offer's agent attributes as text, the way constraints compare them.
fn attributes(offer: &Offer) -> BTreeMap<String, String> {
    offer
        .attributes
        .iter()
        .map(|a| (a.name.clone(), a.value.to_text()))
        .collect()
}
