//! Which waiting instances go on which offer: a pure function of the offers, the demand, the
//! committed state and the settings, so it is tested without Mesos or a clock.
//!
//! Each (offer, app) pair goes through Marathon's funnel, and the first check that fails is the
//! app's reason for that offer: role and `acceptedResourceRoles`, placement constraints (and the
//! local region), reservations (resident apps, not built yet), agent maintenance, cpus, mem,
//! disk, gpus, host ports, and finally scarce resources (GPU agents are kept for GPU apps).
//! Offers are served in order; on each, the waiting apps take turns, one instance at a time, up
//! to `max_instances_per_offer`, taking from what the offer has left, so an offer is never
//! overcommitted and two instances placed in one round respect UNIQUE, GROUP_BY and the rest.
//!
//! - `pool`: what an offer can still give (scalars, port ranges).
//! - `constraints`: constraint operators, fields and the spread of each app's instances.

mod constraints;
mod pool;
#[cfg(test)]
mod tests;

use crate::mesos::{Offer, Resource};
use crate::state::app::AppDefinition;
use crate::state::time::Timestamp;
use constraints::{Agent, Existing, Spread};
use pool::{EPSILON, Pool, SCALARS, has_gpus};
use std::sync::Arc;
use std::time::Duration;

/// Instances of one app that should be launched.
#[derive(Clone, Debug)]
pub struct Want {
    pub app: Arc<AppDefinition>,
    pub count: u32,
}

/// One instance to launch on one offer: the resources taken for it, with the reservation
/// fields of the offered resources they came from (the master wants them back as offered).
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    pub app: Arc<AppDefinition>,
    pub resources: Vec<Resource>,
    pub host_ports: Vec<u32>,
}

/// Why an app got nothing (more) from an offer: Marathon's `NoOfferMatchReason`s, declared in
/// its funnel order, which is also the order the matcher checks them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    UnfulfilledRole,
    UnfulfilledConstraint,
    NoCorrespondingReservationFound,
    AgentMaintenance,
    InsufficientCpus,
    InsufficientMemory,
    InsufficientDisk,
    InsufficientGpus,
    InsufficientPorts,
    DeclinedScarceResources,
}

impl Refusal {
    /// Every reason, in funnel order.
    pub const FUNNEL: [Refusal; 10] = [
        Refusal::UnfulfilledRole,
        Refusal::UnfulfilledConstraint,
        Refusal::NoCorrespondingReservationFound,
        Refusal::AgentMaintenance,
        Refusal::InsufficientCpus,
        Refusal::InsufficientMemory,
        Refusal::InsufficientDisk,
        Refusal::InsufficientGpus,
        Refusal::InsufficientPorts,
        Refusal::DeclinedScarceResources,
    ];

    /// Marathon's name for the reason, as `/v2/queue` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::UnfulfilledRole => "UnfulfilledRole",
            Refusal::UnfulfilledConstraint => "UnfulfilledConstraint",
            Refusal::NoCorrespondingReservationFound => "NoCorrespondingReservationFound",
            Refusal::AgentMaintenance => "AgentMaintenance",
            Refusal::InsufficientCpus => "InsufficientCpus",
            Refusal::InsufficientMemory => "InsufficientMemory",
            Refusal::InsufficientDisk => "InsufficientDisk",
            Refusal::InsufficientGpus => "InsufficientGpus",
            Refusal::InsufficientPorts => "InsufficientPorts",
            Refusal::DeclinedScarceResources => "DeclinedScarceResources",
        }
    }

    /// The reason's place in the funnel (0 for `UnfulfilledRole`).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Marathon's `--gpu_scheduling_behavior`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GpuScheduling {
    /// Apps without GPUs decline agents that have any (Marathon's default since 1.8), so GPU
    /// agents stay free for the apps that need them.
    #[default]
    Restricted,
    /// Any app may land on a GPU agent.
    Unrestricted,
}

/// Marathon's `--max_instances_per_offer` default: at most this many instances (of all apps
/// together) per offer, so one agent is not flooded with launches at once.
pub const DEFAULT_MAX_INSTANCES_PER_OFFER: usize = 5;

/// What the matcher needs besides offers, demand and state. It never reads the clock: `now` is
/// the caller's.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchSettings {
    /// The master's region. Apps without an `@region` constraint go only to agents of this
    /// region (agents without a fault domain are taken as local); `None` disables the rule.
    pub local_region: Option<String>,
    pub gpu_scheduling: GpuScheduling,
    pub max_instances_per_offer: usize,
    /// When the offers are matched, for maintenance windows.
    pub now: Timestamp,
    /// Marathon's `--draining_seconds`: agents are refused this long before their maintenance
    /// window starts.
    pub draining: Duration,
}

impl MatchSettings {
    /// Marathon's defaults, matching at `now`.
    pub fn at(now: Timestamp) -> MatchSettings {
        MatchSettings {
            local_region: None,
            gpu_scheduling: GpuScheduling::default(),
            max_instances_per_offer: DEFAULT_MAX_INSTANCES_PER_OFFER,
            now,
            draining: Duration::ZERO,
        }
    }

    /// Whether the offer's agent is in (or about to enter) a maintenance window. As Marathon: a
    /// window that has started (less the draining time) refuses the agent until it is over; a
    /// window without a duration never ends.
    fn in_maintenance(&self, offer: &Offer) -> bool {
        let Some(window) = &offer.unavailability else {
            return false;
        };
        let now = i128::from(self.now.millis()) * 1_000_000;
        let start = i128::from(window.start.nanoseconds);
        let draining = i128::try_from(self.draining.as_nanos()).unwrap_or(i128::MAX);
        if now < start.saturating_sub(draining) {
            return false;
        }
        match &window.duration {
            Some(duration) => now <= start + i128::from(duration.nanoseconds),
            None => true,
        }
    }
}

/// The placements on one offer, and why each app that took its turn on it got nothing more
/// from it (an app may have placed instances before being refused). Apps that never took a
/// turn, because the offer reached `max_instances_per_offer` first, appear in neither list.
#[derive(Debug, Default)]
pub struct OfferPlan {
    pub placed: Vec<Placed>,
    pub refused: Vec<(Arc<AppDefinition>, Refusal)>,
}

/// Places as many wanted instances as fit on each offer, in order; `wants` counts down as
/// instances are placed, so nothing is placed twice across offers. `state` tells where each
/// app's instances already run, for its constraints.
pub fn place(
    offers: &[Offer],
    wants: &mut [Want],
    state: &crate::state::State,
    settings: &MatchSettings,
) -> Vec<OfferPlan> {
    place_among(offers, wants, state, settings)
}

fn place_among(
    offers: &[Offer],
    wants: &mut [Want],
    existing: &dyn Existing,
    settings: &MatchSettings,
) -> Vec<OfferPlan> {
    let mut spread = Spread::new(existing);
    offers
        .iter()
        .map(|offer| {
            let mut matcher = OfferMatcher {
                agent: Agent::of(offer),
                pool: Pool::new(offer),
                maintenance: settings.in_maintenance(offer),
                scarce: settings.gpu_scheduling == GpuScheduling::Restricted && has_gpus(offer),
                settings,
            };
            let mut plan = OfferPlan::default();
            // Apps take turns: the first round visits every waiting app in order, later rounds
            // only those that placed one in the round before.
            let mut round: Box<dyn Iterator<Item = usize>> = Box::new(0..wants.len());
            loop {
                let mut again = Vec::new();
                for i in round {
                    if plan.placed.len() >= settings.max_instances_per_offer {
                        return plan;
                    }
                    let want = &mut wants[i];
                    if want.count == 0 {
                        continue;
                    }
                    match matcher.place(&want.app, &mut spread) {
                        Ok(placed) => {
                            want.count -= 1;
                            plan.placed.push(placed);
                            again.push(i);
                        }
                        Err(refusal) => plan.refused.push((Arc::clone(&want.app), refusal)),
                    }
                }
                if again.is_empty() {
                    break;
                }
                round = Box::new(again.into_iter());
            }
            plan
        })
        .collect()
}

/// One offer being matched: its agent as constraints read it, and what it has left.
struct OfferMatcher<'o> {
    agent: Agent,
    pool: Pool,
    maintenance: bool,
    scarce: bool,
    settings: &'o MatchSettings,
}

impl OfferMatcher<'_> {
    /// Places one instance of `app` if it passes the funnel, taking its resources.
    fn place(&mut self, app: &Arc<AppDefinition>, spread: &mut Spread) -> Result<Placed, Refusal> {
        if !self.pool.any_usable(app) {
            return Err(Refusal::UnfulfilledRole);
        }
        if !spread.allows(app, &self.agent, self.settings.local_region.as_deref()) {
            return Err(Refusal::UnfulfilledConstraint);
        }
        if self.maintenance {
            return Err(Refusal::AgentMaintenance);
        }
        let amounts = [app.cpus, app.mem, app.disk, f64::from(app.gpus)];
        for ((name, refusal), amount) in SCALARS.iter().zip(amounts) {
            if amount > EPSILON && self.pool.scalar_left(name, app) + EPSILON < amount {
                return Err(*refusal);
            }
        }
        let wanted: Vec<u32> = app
            .port_definitions
            .iter()
            .map(|p| if app.require_ports { p.port } else { 0 })
            .collect();
        let picked = self
            .pool
            .pick_ports(&wanted, app)
            .ok_or(Refusal::InsufficientPorts)?;
        if self.scarce && app.gpus == 0 {
            return Err(Refusal::DeclinedScarceResources);
        }
        let mut resources = Vec::new();
        for ((name, _), amount) in SCALARS.iter().zip(amounts) {
            if amount > EPSILON {
                resources.extend(self.pool.take_scalar(name, amount, app));
            }
        }
        resources.extend(self.pool.take_ports(&picked));
        spread.record(app, &self.agent);
        Ok(Placed {
            app: Arc::clone(app),
            resources,
            host_ports: picked.iter().map(|&(_, p)| p).collect(),
        })
    }
}
