//! Simulated agents: tasks that run no process. A launched task turns TASK_RUNNING after the
//! configured delay and runs until killed, or until the operator finishes or fails it. Every
//! pending RUNNING waits in one deadline-ordered queue of the master's, so thousands of agents
//! cost no timer each.

use super::master::Master;
use crate::mesos::{
    ContainerId, ContainerStatus, FrameworkId, IpAddress, NetworkInfo, TaskId, TaskState,
};
use std::time::{Duration, Instant};

/// Simulated tasks turned RUNNING per turn of the master's loop, so calls interleave.
const DUE_BATCH: usize = 512;
/// Free slots a subscriber's event queue must keep before more simulated updates are produced:
/// the simulation waits for a slow reader instead of overflowing (and dropping) its stream.
const STREAM_HEADROOM: usize = 1024;
/// How long the simulation waits for a full subscriber before looking again.
const FULL_PAUSE: Duration = Duration::from_millis(2);

/// What happens to a simulated task when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// It turns RUNNING.
    Running,
    /// Its health check reports healthy and its check succeeds.
    ProbesPass,
}

/// A simulated task that takes its next step at `at`.
pub(super) struct Due {
    pub at: Instant,
    pub framework: FrameworkId,
    pub task: TaskId,
    pub step: Step,
}

impl Master {
    /// Queues a just-launched simulated task for RUNNING after `delay`.
    pub(super) fn simulate(&mut self, framework: &FrameworkId, task: &TaskId, delay: Duration) {
        self.due.push_back(Due {
            at: Instant::now() + delay,
            framework: framework.clone(),
            task: task.clone(),
            step: Step::Running,
        });
    }

    /// When the loop should next call [`Master::run_due`].
    pub(super) fn next_due(&self) -> Option<Instant> {
        let head = self.due.front()?.at;
        Some(self.due_paused_until.map_or(head, |p| p.max(head)))
    }

    /// Turns the simulated tasks whose delay has passed RUNNING, a batch at a time.
    pub(super) fn run_due(&mut self) {
        self.due_paused_until = None;
        let now = Instant::now();
        for _ in 0..DUE_BATCH {
            let Some(head) = self.due.front() else {
                return;
            };
            if head.at > now {
                return;
            }
            if self.stream_nearly_full(&head.framework) {
                self.due_paused_until = Some(now + FULL_PAUSE);
                return;
            }
            if let Some(due) = self.due.pop_front() {
                match due.step {
                    Step::Running => self.simulated_running(&due.framework, &due.task),
                    Step::ProbesPass => self.simulated_probes_pass(&due.framework, &due.task),
                }
            }
        }
    }

    fn stream_nearly_full(&self, framework: &FrameworkId) -> bool {
        self.frameworks
            .get(framework)
            .and_then(|f| f.stream.as_ref())
            .is_some_and(|s| !s.backlog.is_empty() || s.events.capacity() < STREAM_HEADROOM)
    }

    /// TASK_RUNNING of a simulated task still staging (not killed, failed or removed meanwhile).
    fn simulated_running(&mut self, framework: &FrameworkId, task: &TaskId) {
        let Some(t) = self
            .frameworks
            .get(framework)
            .and_then(|f| f.tasks.get(task))
        else {
            return;
        };
        if t.state != TaskState::Staging {
            return;
        }
        // Its probes pass one run delay later; every task waits the same delay, so the queue
        // stays in deadline order.
        let probed = t.info.health_check.is_some() || t.info.check.is_some();
        let hostname = self
            .agents
            .get(t.agent)
            .map(|a| a.hostname.clone())
            .unwrap_or_default();
        let container_status = ContainerStatus {
            container_id: Some(ContainerId::new(uuid::Uuid::new_v4().to_string())),
            network_infos: vec![NetworkInfo {
                ip_addresses: vec![IpAddress {
                    protocol: None,
                    ip_address: Some(hostname),
                }],
                ..NetworkInfo::default()
            }],
            executor_pid: None,
        };
        self.update(
            framework,
            task,
            TaskState::Running,
            None,
            None,
            Some(container_status),
        );
        if let (true, Some(delay)) = (probed, self.settings.simulated) {
            self.due.push_back(Due {
                at: Instant::now() + delay,
                framework: framework.clone(),
                task: task.clone(),
                step: Step::ProbesPass,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos_local::master::tests::bare_master;
    use crate::mesos_local::master::{Framework, Stream};

    #[tokio::test]
    async fn due_tasks_wait_for_their_deadline_and_for_a_reader_with_room() {
        let mut m = bare_master(Some(Duration::from_secs(60)));
        assert_eq!(m.next_due(), None, "nothing queued, no wake-up");
        let (fw, task) = (FrameworkId::new("F"), TaskId::new("t"));
        m.simulate(&fw, &task, Duration::from_secs(60));
        let at = m.next_due().unwrap_or_else(|| panic!("a deadline"));
        assert!(at > Instant::now() + Duration::from_secs(59));
        m.run_due();
        assert_eq!(m.due.len(), 1, "not due yet");
        let paused = Instant::now() + Duration::from_secs(120);
        m.due_paused_until = Some(paused);
        assert_eq!(m.next_due(), Some(paused), "a pause defers the deadline");
        m.due_paused_until = None;
        m.simulate(&fw, &TaskId::new("now"), Duration::ZERO);
        m.due.rotate_left(1);
        m.run_due();
        assert_eq!(m.due.len(), 1, "the due one (of an unknown task) is gone");

        // A subscriber without room for more: the simulation waits for it.
        let (events, _rx) = tokio::sync::mpsc::channel(STREAM_HEADROOM - 1);
        let framework = Framework {
            info: crate::mesos::FrameworkInfo::new("u", "n"),
            stream: Some(Stream::new("s".into(), events)),
            registered_time: 0.0,
            reregistered_time: None,
            unregistered_time: None,
            disconnected_at: None,
            suppressed: false,
            refusals: Default::default(),
            tasks: Default::default(),
            completed: Default::default(),
            executors: Default::default(),
        };
        m.frameworks.insert(fw.clone(), framework);
        m.simulate(&fw, &TaskId::new("blocked"), Duration::ZERO);
        m.due.rotate_left(1);
        m.run_due();
        assert_eq!(m.due.len(), 2, "nothing taken while the reader is full");
        assert!(m.due_paused_until.is_some_and(|p| p > Instant::now()));
    }
}
