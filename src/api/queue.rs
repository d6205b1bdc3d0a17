//! The launch queue as the leader's scheduler last published it: which apps wait for how many
//! instances, whether they are backed off, and what the last offers said about them.

use crate::state::path::PathId;
use crate::state::time::Timestamp;
use serde_json::Value;

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
