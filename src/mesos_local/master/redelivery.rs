//! Redelivery of unacknowledged status updates, as the agent's status update manager retries:
//! only each task's oldest is sent, again after a backoff that doubles, and all of them at once
//! after a (re)subscription.

use super::{Agent, Master};
use crate::mesos::{Event, FrameworkId};
use std::time::{Duration, Instant};

/// The longest wait between redeliveries of an unacknowledged status update (Mesos' 10 min).
pub const MAX_STATUS_RETRY: Duration = Duration::from_secs(600);

impl Master {
    /// Redelivers the head of every task's unacknowledged updates: all of them right after a
    /// (re)subscription (`all`), else those whose backoff has passed (it then doubles).
    pub(super) fn resend_heads(&mut self, framework: &FrameworkId, all: bool) {
        let retry = self.settings.status_retry_interval;
        let now = Instant::now();
        let agents = &self.agents;
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        if fw.stream.is_none() {
            return;
        }
        let mut due = Vec::new();
        for task in fw.tasks.values_mut() {
            let Some(head) = task.unacked.front() else {
                continue;
            };
            // A partitioned agent's updates wait for it to come back.
            if !agents.get(task.agent).is_some_and(Agent::reachable) {
                continue;
            }
            if all {
                task.head_backoff = retry;
            } else if task
                .head_sent
                .is_none_or(|at| now >= at + task.head_backoff)
            {
                task.head_backoff = (task.head_backoff * 2).min(MAX_STATUS_RETRY);
            } else {
                continue;
            }
            task.head_sent = Some(now);
            due.push(head.clone());
        }
        for status in due {
            self.send(framework, Event::Update(crate::mesos::Update { status }));
        }
    }

    /// Redelivers due updates, except to a subscriber that has not yet been sent everything
    /// (its backlog is not empty): what it has not received is not lost, and resending would
    /// only lengthen its backlog.
    pub(super) fn retry_updates(&mut self) {
        let ids: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, f)| f.stream.as_ref().is_none_or(|s| s.backlog.is_empty()))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.resend_heads(&id, false);
        }
    }
}
