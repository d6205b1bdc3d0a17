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
    /// Marathon's `processedOffersSummary`.
    pub offers: Value,
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
                "processedOffersSummary": entry.offers,
                "lastUnusedOffers": [],
            }))
        })
        .collect()
}
