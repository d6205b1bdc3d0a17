//! Delivery of events to a framework's subscription: what its stream has no room for waits in the
//! subscription's backlog, in order, and a reader that is gone or stopped reading is
//! disconnected.

use super::Master;
use crate::mesos::{Event, FrameworkId};
use std::collections::VecDeque;
use tokio::sync::mpsc;

/// Events on their way to a subscription's HTTP stream. What does not fit waits in the
/// subscription's backlog: a master never closes a subscription for reading slowly (a real one
/// buffers without bound), and one call can produce more than this at once (an implicit
/// reconciliation answers for every task).
pub const EVENT_QUEUE: usize = 65_536;
/// Events a subscription's backlog may hold before the master gives up on its reader and
/// disconnects it (it resubscribes and gets its unacknowledged updates again): only a client that
/// stopped reading gets this far, so it cannot grow memory without bound. Several times what a
/// reconciliation of every task of the largest simulated cluster answers.
pub const MAX_BACKLOG: usize = 2_000_000;

pub(in crate::mesos_local) struct Stream {
    pub id: String,
    pub events: mpsc::Sender<Event>,
    /// Events that did not fit `events` yet, oldest first; sent before any newer one.
    pub backlog: VecDeque<Event>,
}

impl Stream {
    pub fn new(id: String, events: mpsc::Sender<Event>) -> Stream {
        Stream {
            id,
            events,
            backlog: VecDeque::new(),
        }
    }

    /// Moves backlogged events into the stream while it has room; `Err` when the reader is gone.
    fn flush(&mut self) -> Result<(), ()> {
        while let Some(event) = self.backlog.pop_front() {
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.backlog.push_front(event);
                    return Ok(());
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(()),
            }
        }
        Ok(())
    }
}

impl Master {
    /// Sends an event to a framework's subscription, in order after any backlog; a closed
    /// subscriber, or one whose backlog passed [`MAX_BACKLOG`], is disconnected.
    pub fn send(&mut self, framework: &FrameworkId, event: Event) {
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        let Some(stream) = &mut fw.stream else {
            return;
        };
        let problem = if stream.backlog.is_empty() {
            match stream.events.try_send(event) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(event)) => {
                    stream.backlog.push_back(event);
                    None
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Some("the reader is gone"),
            }
        } else {
            stream.backlog.push_back(event);
            (stream.backlog.len() > MAX_BACKLOG).then_some("the reader stopped reading")
        };
        if let Some(problem) = problem {
            tracing::warn!(framework_id = %framework, problem, "dropping the subscription");
            self.disconnect(framework);
        }
    }

    /// Whether some subscription has events waiting in its backlog.
    pub(super) fn backlogged(&self) -> bool {
        self.frameworks
            .values()
            .any(|f| f.stream.as_ref().is_some_and(|s| !s.backlog.is_empty()))
    }

    /// Moves backlogged events into their streams as far as they have room.
    pub(in crate::mesos_local) fn flush_backlogs(&mut self) {
        let mut gone = Vec::new();
        for (id, fw) in &mut self.frameworks {
            if let Some(stream) = &mut fw.stream
                && stream.flush().is_err()
            {
                gone.push(id.clone());
            }
        }
        for id in gone {
            tracing::warn!(framework_id = %id, "dropping the subscription: the reader is gone");
            self.disconnect(&id);
        }
    }
}
