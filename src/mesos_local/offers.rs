//! The master's offers: each allocation cycle turned into OFFERS events (one per agent and
//! framework role, reserved resources in the framework's reservation format), outstanding offers
//! returned to their agents when used, declined or discarded, and rescinded when their resources
//! are no longer the framework's to use (agent unreachable, removed, maintenance changed, offer
//! timeout).

use super::allocation::{self, Allocation, Candidate};
use super::master::{Master, OutstandingOffer};
use super::resources::{Format, Resources};
use crate::mesos::{
    Address, AllocationInfo, Event, FrameworkCapability, FrameworkId, Offer, OfferId, Offers,
    Rescind, Url,
};
use std::collections::BTreeMap;
use std::time::Instant;

impl Master {
    /// Returns a framework's outstanding offers to their agents, without RESCIND (the framework
    /// forgets its offers when its subscription ends).
    pub fn discard_offers(&mut self, framework: &FrameworkId) {
        let ids: Vec<OfferId> = self
            .offers
            .iter()
            .filter(|(_, o)| &o.framework == framework)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.take_offer(&id);
        }
    }

    /// Removes an outstanding offer and gives its resources back to the agent.
    pub fn take_offer(&mut self, id: &OfferId) -> Option<OutstandingOffer> {
        let offer = self.offers.remove(id)?;
        if let Some(agent) = self.agents.get_mut(offer.agent) {
            agent.offered = agent.offered.subtract(&offer.resources);
        }
        Some(offer)
    }

    /// Takes back an outstanding offer and tells its framework with RESCIND.
    pub fn rescind(&mut self, id: &OfferId) {
        if let Some(offer) = self.take_offer(id) {
            tracing::debug!(offer_id = %id, framework_id = %offer.framework, "rescinding offer");
            let rescind = Event::Rescind(Rescind {
                offer_id: id.clone(),
            });
            self.send(&offer.framework, rescind);
        }
    }

    /// Rescinds every outstanding offer of one agent.
    pub fn rescind_agent_offers(&mut self, agent: usize) {
        let ids: Vec<OfferId> = self
            .offers
            .iter()
            .filter(|(_, o)| o.agent == agent)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.rescind(&id);
        }
    }

    /// Rescinds the offers outstanding longer than `--offer-timeout-secs`.
    pub fn rescind_expired_offers(&mut self) {
        let Some(timeout) = self.settings.offer_timeout else {
            return;
        };
        let now = Instant::now();
        let ids: Vec<OfferId> = self
            .offers
            .iter()
            .filter(|(_, o)| now >= o.made + timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.rescind(&id);
        }
    }

    /// One allocation cycle: every reachable agent's free resources to one framework that wants
    /// them.
    pub fn allocate(&mut self) {
        let now = Instant::now();
        let ids: Vec<FrameworkId> = self.frameworks.keys().cloned().collect();
        if !self
            .frameworks
            .values()
            .any(|f| f.stream.is_some() && !f.suppressed)
        {
            return;
        }
        let free: Vec<Resources> = self
            .agents
            .iter()
            .map(|a| {
                if a.reachable() {
                    a.free()
                } else {
                    Resources::default()
                }
            })
            .collect();
        let roles: Vec<Vec<String>> = self.frameworks.values().map(|f| f.roles()).collect();
        let allocations = {
            let candidates: Vec<Candidate<'_>> = self
                .frameworks
                .values()
                .zip(&roles)
                .map(|(f, roles)| Candidate {
                    wants_offers: f.stream.is_some() && !f.suppressed,
                    refusals: &f.refusals,
                    roles,
                })
                .collect();
            allocation::allocate(&free, &candidates, self.rotation, now)
        };
        self.rotation = self.rotation.wrapping_add(1);
        let mut by_framework: BTreeMap<usize, Vec<Offer>> = BTreeMap::new();
        for a in allocations {
            let Allocation {
                agent,
                framework: fw,
                role,
                resources,
            } = a;
            let Some(framework_id) = ids.get(fw) else {
                continue;
            };
            let Some(offer) = self.make_offer(framework_id, agent, &role, resources) else {
                continue;
            };
            by_framework.entry(fw).or_default().push(offer);
        }
        for (fw, offers) in by_framework {
            if let Some(id) = ids.get(fw) {
                self.send(id, Event::Offers(Offers { offers }));
            }
        }
        for fw in self.frameworks.values_mut() {
            fw.refusals.retain(|_, r| r.until > now);
        }
    }

    fn make_offer(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        role: &str,
        resources: Resources,
    ) -> Option<Offer> {
        let id = OfferId::new(format!("{}-O{}", self.id, self.next_offer));
        self.next_offer += 1;
        let info = self.frameworks.get(framework).map(|f| &f.info);
        let multi_role = info.is_some_and(|i| i.has_capability(FrameworkCapability::MultiRole));
        let refinement =
            info.is_some_and(|i| i.has_capability(FrameworkCapability::ReservationRefinement));
        let allocation_info = multi_role.then(|| AllocationInfo {
            role: role.to_owned(),
        });
        let format = if refinement {
            Format::Refined
        } else {
            Format::Legacy
        };
        let wire: Vec<_> = resources
            .to_wire_as(format)
            .into_iter()
            .map(|mut r| {
                r.allocation_info = allocation_info.clone();
                r
            })
            .collect();
        let a = self.agents.get_mut(agent)?;
        a.offered = a.offered.add(&resources);
        self.offers.insert(
            id.clone(),
            OutstandingOffer {
                framework: framework.clone(),
                agent,
                resources,
                made: Instant::now(),
            },
        );
        Some(Offer {
            id,
            framework_id: framework.clone(),
            agent_id: a.id.clone(),
            hostname: a.hostname.clone(),
            url: Some(Url {
                scheme: "http".into(),
                address: Address {
                    hostname: Some(a.hostname.clone()),
                    ip: Some(a.hostname.clone()),
                    port: 5051,
                },
                path: Some("/slave(1)".into()),
            }),
            domain: a.domain.clone(),
            allocation_info,
            resources: wire,
            attributes: a.attributes.clone(),
            executor_ids: Vec::new(),
            unavailability: a.maintenance,
        })
    }
}
