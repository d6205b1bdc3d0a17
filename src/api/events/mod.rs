//! The event stream every node serves from its own applied log: domain events mapped onto
//! Marathon's event shapes (`marathon.rs`), type filters, and a bounded history so a
//! subscriber can resume.

use crate::state::AppliedEvent;
use crate::store::StateView;
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

mod marathon;
#[cfg(test)]
mod tests;

pub use marathon::marathon_events;

/// Applied events each node keeps for resuming subscribers (a few MiB at most).
pub const RETAINED_EVENTS: usize = 10_000;
/// How far a subscriber may fall behind before its stream is closed (Marathon's 1024).
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// Which Marathon event types a subscriber wants (`event_type=a&event_type=b` or `a,b`);
/// none named means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    types: BTreeSet<String>,
}

impl EventFilter {
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> EventFilter {
        let types = values
            .into_iter()
            .flat_map(|v| {
                v.as_ref()
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|t| !t.is_empty())
            .collect();
        EventFilter { types }
    }

    pub fn admits(&self, event_type: &str) -> bool {
        self.types.is_empty() || self.types.contains(event_type)
    }

    /// The Marathon events of `applied` this filter lets through.
    pub fn select(&self, applied: &AppliedEvent) -> Vec<(&'static str, Value)> {
        let mut events = marathon_events(applied);
        events.retain(|(kind, _)| self.admits(kind));
        events
    }
}

/// A resume point that fell out of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("events before index {first} are gone")]
pub struct Gone {
    /// The oldest index from which this node still holds every event.
    pub first: u64,
}

/// Why a subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ended {
    /// The subscriber fell more than [`SUBSCRIBER_BUFFER`] events behind.
    #[error("the subscriber fell behind; resume from index {resume_from}")]
    Lagged { resume_from: u64 },
    #[error("the node is shutting down")]
    Closed,
}

/// What the history hands on to live subscribers.
#[derive(Clone, Debug)]
enum Feed {
    Event(Arc<AppliedEvent>),
    /// The history itself missed events: every live subscriber must start over.
    Gap,
}

/// The last [`RETAINED_EVENTS`] applied events, fed by one task from the state machine's
/// broadcast. The ring and the live feed change together under one lock, so a subscriber's
/// backlog and live feed neither overlap nor leave a hole.
#[derive(Clone)]
pub struct EventHistory {
    ring: Arc<Mutex<Ring>>,
    live: broadcast::Sender<Feed>,
}

struct Ring {
    events: VecDeque<Arc<AppliedEvent>>,
    capacity: usize,
    /// Every event with an index from here on is held (or has not happened yet).
    complete_from: u64,
}

impl Ring {
    fn push(&mut self, event: Arc<AppliedEvent>) {
        if self.events.len() == self.capacity
            && let Some(old) = self.events.pop_front()
        {
            self.complete_from = self.complete_from.max(old.index + 1);
        }
        self.events.push_back(event);
    }
}

fn applied_index(view: &watch::Receiver<Arc<StateView>>) -> u64 {
    view.borrow().applied.map_or(0, |l| l.index)
}

impl EventHistory {
    /// Starts feeding the history from `source` until `shutdown`. `view` tells where a
    /// complete history starts: after what this node had applied when it (re)started.
    pub fn start(
        source: broadcast::Receiver<Arc<AppliedEvent>>,
        view: watch::Receiver<Arc<StateView>>,
        capacity: usize,
        shutdown: CancellationToken,
    ) -> EventHistory {
        // Subscribed before reading the index: nothing after it can be missed.
        let history = EventHistory::empty(capacity, applied_index(&view) + 1);
        tokio::spawn(history.clone().feed(source, view, shutdown));
        history
    }

    fn empty(capacity: usize, complete_from: u64) -> EventHistory {
        EventHistory {
            ring: Arc::new(Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(1024)),
                capacity: capacity.max(1),
                complete_from,
            })),
            live: broadcast::channel(SUBSCRIBER_BUFFER).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, event: Arc<AppliedEvent>) {
        let mut ring = self.lock();
        ring.push(Arc::clone(&event));
        // No subscriber is not an error.
        let _ = self.live.send(Feed::Event(event));
    }

    /// The history missed events: it starts afresh after `applied`.
    fn restart_after(&self, applied: u64) {
        let mut ring = self.lock();
        ring.events.clear();
        ring.complete_from = applied + 1;
        let _ = self.live.send(Feed::Gap);
    }

    async fn feed(
        self,
        mut source: broadcast::Receiver<Arc<AppliedEvent>>,
        view: watch::Receiver<Arc<StateView>>,
        shutdown: CancellationToken,
    ) {
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = source.recv() => r,
            };
            match received {
                Ok(event) => self.record(event),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event history fell behind the state machine");
                    // Events of entries applied after this are still queued for us.
                    self.restart_after(applied_index(&view));
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// A subscription to every event from `from_index` on (inclusive; 0: only new ones).
    pub fn subscribe(&self, from_index: u64) -> Result<Subscription, Gone> {
        let ring = self.lock();
        let live = self.live.subscribe();
        let backlog = if from_index == 0 {
            VecDeque::new()
        } else if from_index < ring.complete_from {
            return Err(Gone {
                first: ring.complete_from,
            });
        } else {
            ring.events
                .iter()
                .filter(|e| e.index >= from_index)
                .cloned()
                .collect()
        };
        Ok(Subscription {
            backlog,
            live,
            from_index,
            last_index: from_index.saturating_sub(1),
        })
    }
}

/// One subscriber's events: the backlog it asked for, then live ones.
pub struct Subscription {
    backlog: VecDeque<Arc<AppliedEvent>>,
    live: broadcast::Receiver<Feed>,
    from_index: u64,
    last_index: u64,
}

impl Subscription {
    pub async fn next(&mut self) -> Result<Arc<AppliedEvent>, Ended> {
        let event = match self.backlog.pop_front() {
            Some(e) => e,
            None => loop {
                match self.live.recv().await {
                    Ok(Feed::Event(e)) if e.index >= self.from_index => break e,
                    Ok(Feed::Event(_)) => {}
                    Ok(Feed::Gap) | Err(RecvError::Lagged(_)) => {
                        return Err(Ended::Lagged {
                            resume_from: self.last_index.max(1),
                        });
                    }
                    Err(RecvError::Closed) => return Err(Ended::Closed),
                }
            },
        };
        self.last_index = event.index;
        Ok(event)
    }
}
