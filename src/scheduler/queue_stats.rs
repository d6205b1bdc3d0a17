//! Per-app statistics of the offers the matcher processed, for `/v2/queue`'s
//! `processedOffersSummary`: kept in the leader's memory, fed one offer plan at a time, and
//! forgotten once an app no longer waits (Marathon's `OfferMatchStatistics`).

use super::placement::{OfferPlan, Refusal};
use crate::api::queue::OfferSummary;
use crate::mesos::AgentId;
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use std::collections::{HashMap, HashSet};

/// The offer statistics of every app waiting to launch.
#[derive(Debug, Default)]
pub struct QueueStats {
    apps: HashMap<PathId, AppOffers>,
}

/// One app's statistics since it started waiting.
#[derive(Debug, Default)]
struct AppOffers {
    /// Offers the app took a turn on.
    processed: u64,
    /// Offers the app got nothing from.
    unused: u64,
    /// Unused offers by reason, over the whole launch attempt.
    attempt: [u64; Refusal::FUNNEL.len()],
    /// The reason of the last unused offer from each agent. A used offer leaves its agent's
    /// entry alone, as in Marathon.
    last_offers: HashMap<String, Refusal>,
    last_used_at: Option<Timestamp>,
    last_unused_at: Option<Timestamp>,
}

impl QueueStats {
    /// Counts one matched offer from `agent`, seen `at`: for each app that took a turn on it,
    /// used if it placed at least one instance, otherwise unused with its reason.
    pub fn record(&mut self, agent: &AgentId, plan: &OfferPlan, at: Timestamp) {
        let used: HashSet<&PathId> = plan.placed.iter().map(|p| &p.app.id).collect();
        for id in &used {
            let stats = self.apps.entry((*id).clone()).or_default();
            stats.processed += 1;
            stats.last_used_at = Some(at);
        }
        for (app, refusal) in &plan.refused {
            if used.contains(&app.id) {
                continue;
            }
            let stats = self.apps.entry(app.id.clone()).or_default();
            stats.processed += 1;
            stats.unused += 1;
            stats.attempt[refusal.index()] += 1;
            stats.last_offers.insert(agent.value.clone(), *refusal);
            stats.last_unused_at = Some(at);
        }
    }

    /// Forgets the apps for which `waiting` is false: their launch attempt is over, and the next
    /// one starts from zero.
    pub fn retain_waiting(&mut self, mut waiting: impl FnMut(&PathId) -> bool) {
        self.apps.retain(|id, _| waiting(id));
    }

    /// The offer statistics of `app` (zeros if no offer was processed for it).
    pub fn summary(&self, app: &PathId) -> OfferSummary {
        let empty = AppOffers::default();
        let stats = self.apps.get(app).unwrap_or(&empty);
        let mut last = [0u64; Refusal::FUNNEL.len()];
        for refusal in stats.last_offers.values() {
            last[refusal.index()] += 1;
        }
        let by_reason = |declined: &[u64; Refusal::FUNNEL.len()]| {
            Refusal::FUNNEL
                .iter()
                .map(|reason| (reason.as_str(), declined[reason.index()]))
                .collect()
        };
        OfferSummary {
            processed: stats.processed,
            unused: stats.unused,
            last_unused_at: stats.last_unused_at,
            last_used_at: stats.last_used_at,
            last_offers: stats.last_offers.len() as u64,
            last_declined: by_reason(&last),
            attempt_declined: by_reason(&stats.attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::placement::Placed;
    use crate::state::app::{AppDefinition, AppInput, parse_app};
    use std::sync::Arc;

    fn app(id: &str) -> Arc<AppDefinition> {
        let json = format!(r#"{{"id":"{id}","cmd":"x"}}"#);
        Arc::new(parse_app(json.as_bytes(), AppInput::Create).expect("valid app"))
    }

    fn refused(app: &Arc<AppDefinition>, refusal: Refusal) -> OfferPlan {
        OfferPlan {
            placed: Vec::new(),
            refused: vec![(Arc::clone(app), refusal)],
        }
    }

    fn placed(app: &Arc<AppDefinition>, then: Option<Refusal>) -> OfferPlan {
        OfferPlan {
            placed: vec![Placed {
                app: Arc::clone(app),
                resources: Vec::new(),
                host_ports: Vec::new(),
            }],
            refused: then.map(|r| (Arc::clone(app), r)).into_iter().collect(),
        }
    }

    fn step(summary: &serde_json::Value, list: &str, reason: Refusal) -> (u64, u64) {
        let step = &summary[list][reason.index()];
        assert_eq!(step["reason"], reason.as_str());
        (
            step["declined"].as_u64().expect("declined"),
            step["processed"].as_u64().expect("processed"),
        )
    }

    #[test]
    fn counts_processed_and_unused_offers_and_the_last_reason_per_agent() {
        let web = app("/web");
        let (a1, a2, a3) = (AgentId::new("a1"), AgentId::new("a2"), AgentId::new("a3"));
        let mut stats = QueueStats::default();
        stats.record(
            &a1,
            &refused(&web, Refusal::InsufficientCpus),
            Timestamp(1_000),
        );
        stats.record(
            &a2,
            &refused(&web, Refusal::UnfulfilledRole),
            Timestamp(2_000),
        );
        // a1's next offer fails for another reason: only the last one counts for the agent.
        stats.record(
            &a1,
            &refused(&web, Refusal::InsufficientMemory),
            Timestamp(3_000),
        );
        stats.record(
            &a3,
            &refused(&web, Refusal::InsufficientMemory),
            Timestamp(4_000),
        );
        // Placed one, then ran out of ports: the offer was used.
        stats.record(
            &a2,
            &placed(&web, Some(Refusal::InsufficientPorts)),
            Timestamp(5_000),
        );

        let s = stats.summary(&web.id).to_json();
        assert_eq!(s["processedOffersCount"], 5);
        assert_eq!(s["unusedOffersCount"], 4);
        assert_eq!(s["lastUnusedOfferAt"], "1970-01-01T00:00:04.000Z");
        assert_eq!(s["lastUsedOfferAt"], "1970-01-01T00:00:05.000Z");
        let last = "rejectSummaryLastOffers";
        let reasons: Vec<&str> = s[last]
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| r["reason"].as_str().expect("a reason"))
            .collect();
        let funnel: Vec<&str> = Refusal::FUNNEL.iter().map(|r| r.as_str()).collect();
        assert_eq!(reasons, funnel, "every reason, in funnel order");
        // Last offers: a1 mem, a2 role (its later used offer leaves it), a3 mem.
        assert_eq!(step(&s, last, Refusal::UnfulfilledRole), (1, 3));
        assert_eq!(step(&s, last, Refusal::UnfulfilledConstraint), (0, 2));
        assert_eq!(step(&s, last, Refusal::InsufficientCpus), (0, 2));
        assert_eq!(step(&s, last, Refusal::InsufficientMemory), (2, 2));
        assert_eq!(step(&s, last, Refusal::InsufficientDisk), (0, 0));
        assert_eq!(step(&s, last, Refusal::DeclinedScarceResources), (0, 0));
        // The launch attempt counts every unused offer, from all processed ones.
        let attempt = "rejectSummaryLaunchAttempt";
        assert_eq!(step(&s, attempt, Refusal::UnfulfilledRole), (1, 5));
        assert_eq!(step(&s, attempt, Refusal::InsufficientCpus), (1, 4));
        assert_eq!(step(&s, attempt, Refusal::InsufficientMemory), (2, 3));
        assert_eq!(step(&s, attempt, Refusal::InsufficientPorts), (0, 1));
    }

    #[test]
    fn an_app_without_offers_has_a_zero_summary_and_no_timestamps() {
        let stats = QueueStats::default();
        let s = stats.summary(&app("/idle").id).to_json();
        assert_eq!(s["processedOffersCount"], 0);
        assert_eq!(s["unusedOffersCount"], 0);
        assert!(s.get("lastUnusedOfferAt").is_none());
        assert!(s.get("lastUsedOfferAt").is_none());
        assert_eq!(
            s["rejectSummaryLastOffers"].as_array().map(Vec::len),
            Some(10)
        );
        assert_eq!(
            step(&s, "rejectSummaryLastOffers", Refusal::InsufficientCpus),
            (0, 0)
        );
    }

    #[test]
    fn apps_that_no_longer_wait_are_forgotten() {
        let (web, db) = (app("/web"), app("/db"));
        let agent = AgentId::new("a1");
        let mut stats = QueueStats::default();
        let mut plan = refused(&web, Refusal::InsufficientCpus);
        plan.refused
            .push((Arc::clone(&db), Refusal::UnfulfilledConstraint));
        stats.record(&agent, &plan, Timestamp(1));
        stats.retain_waiting(|id| *id == db.id);
        assert_eq!(stats.summary(&web.id).to_json()["processedOffersCount"], 0);
        assert_eq!(stats.summary(&db.id).to_json()["unusedOffersCount"], 1);
        assert_eq!(
            step(
                &stats.summary(&db.id).to_json(),
                "rejectSummaryLastOffers",
                Refusal::UnfulfilledConstraint
            ),
            (1, 1)
        );
    }
}
