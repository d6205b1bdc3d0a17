//! The launch queue as the leader's scheduler last published it: which apps wait for how many
//! instances, whether they are backed off, and what the last offers said about them.

use crate::state::State;
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use serde_json::{Value, json};

/// One app waiting to launch instances.
#[derive(Clone, Debug)]
pub struct QueueEntry {
    pub app: PathId,
    pub count: u32,
    /// Backed off after failures until then (`None`: launches as soon as an offer fits).
    pub delayed_until: Option<Timestamp>,
    /// When the app started waiting.
    pub since: Timestamp,
    /// What the last offers said about the app (`processedOffersSummary`).
    pub offers: OfferSummary,
}

/// One waiting app's offer statistics, kept as counts and rendered as Marathon's
/// `processedOffersSummary` only when asked for (the leader publishes the queue every second,
/// and as JSON trees 10,000 waiting apps took tens of MB each time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfferSummary {
    /// Offers the app took a turn on.
    pub processed: u64,
    /// Offers the app got nothing from.
    pub unused: u64,
    pub last_unused_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// Agents whose last offer went unused.
    pub last_offers: u64,
    /// Declined offers by reason, in the funnel's order: the last offer of each agent, and all
    /// of this launch attempt.
    pub last_declined: Vec<(&'static str, u64)>,
    pub attempt_declined: Vec<(&'static str, u64)>,
}

impl OfferSummary {
    /// Marathon's `processedOffersSummary`.
    pub fn to_json(&self) -> Value {
        let mut summary = serde_json::Map::new();
        summary.insert("processedOffersCount".into(), json!(self.processed));
        summary.insert("unusedOffersCount".into(), json!(self.unused));
        if let Some(at) = self.last_unused_at {
            summary.insert("lastUnusedOfferAt".into(), json!(at.to_string()));
        }
        if let Some(at) = self.last_used_at {
            summary.insert("lastUsedOfferAt".into(), json!(at.to_string()));
        }
        summary.insert(
            "rejectSummaryLastOffers".into(),
            funnel(self.last_offers, &self.last_declined),
        );
        summary.insert(
            "rejectSummaryLaunchAttempt".into(),
            funnel(self.processed, &self.attempt_declined),
        );
        Value::Object(summary)
    }
}

/// The funnel: each reason with the offers it declined and the offers that reached it (those
/// processed, less the ones declined by an earlier reason).
fn funnel(processed: u64, declined: &[(&'static str, u64)]) -> Value {
    let mut reached = processed;
    let steps: Vec<Value> = declined
        .iter()
        .map(|(reason, declined)| {
            let step = json!({
                "reason": reason,
                "declined": declined,
                "processed": reached,
            });
            reached = reached.saturating_sub(*declined);
            step
        })
        .collect();
    Value::Array(steps)
}

/// Marathon's QueueItem JSON for each entry whose app still exists (`/v2/queue`, gRPC
/// `GetQueue`): the app, how many instances wait, the backoff delay left and the offer funnel.
pub fn queue_items(entries: &[QueueEntry], state: &State, now: Timestamp) -> Vec<Value> {
    entries
        .iter()
        .filter_map(|entry| {
            let record = state.app(&entry.app)?;
            let left = entry
                .delayed_until
                .map_or(0, |until| (until.millis() - now.millis()).max(0));
            Some(json!({
                "app": record.spec.to_marathon_json(),
                "count": entry.count,
                "delay": {
                    "timeLeftSeconds": (left + 999) / 1000,
                    "overdue": left == 0,
                },
                "since": entry.since.to_string(),
                "processedOffersSummary": entry.offers.to_json(),
                "lastUnusedOffers": [],
            }))
        })
        .collect()
}
