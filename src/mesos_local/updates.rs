//! The agents' reliable status updates: each change of a task, stamped (uuid, source, check
//! status, health) and queued until acknowledged; a task's kill by its executor; the end of its
//! process; and the resources a terminal state frees.

use super::checks;
use super::master::{Agent, Master, now_secs};
use super::process::Outcome;
use crate::mesos::{
    Base64Bytes, ContainerStatus, Event, FrameworkCapability, FrameworkId, Reason, TaskId,
    TaskSource, TaskState, TaskStatus, is_terminal,
};
use std::time::{Duration, Instant};

/// One status update a task's executor (or agent) reports; the rest of the status is filled in
/// by [`Master::report`].
pub(super) struct Change {
    pub state: TaskState,
    pub reason: Option<Reason>,
    pub message: Option<String>,
    pub container_status: Option<ContainerStatus>,
    /// Set on health updates, and on the terminal update of a task its health check killed.
    pub healthy: Option<bool>,
}

impl Change {
    pub fn new(state: TaskState) -> Change {
        Change {
            state,
            reason: None,
            message: None,
            container_status: None,
            healthy: None,
        }
    }
}

impl Master {
    /// Records a reliable (executor or agent) status update; see [`Master::report`].
    pub(super) fn update(
        &mut self,
        framework: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
        reason: Option<Reason>,
        message: Option<String>,
        container_status: Option<ContainerStatus>,
    ) {
        let change = Change {
            reason,
            message,
            container_status,
            ..Change::new(state)
        };
        self.report(framework, task_id, change);
    }

    /// Records a reliable (executor or agent) status update: it gets a fresh uuid, joins the
    /// task's queue, and is sent at once if it is the head. A task with a check carries the
    /// check's latest result (empty before the first). A terminal state frees the task's
    /// resources.
    pub(super) fn report(&mut self, framework: &FrameworkId, task_id: &TaskId, change: Change) {
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        let Some(task) = fw.tasks.get_mut(task_id) else {
            return;
        };
        if is_terminal(task.state) {
            return;
        }
        let Change {
            state,
            reason,
            message,
            container_status,
            healthy,
        } = change;
        let agent = self.agents.get(task.agent);
        let agent_id = agent.map(|a| a.id.clone());
        let reachable = agent.is_some_and(Agent::reachable);
        let mut status = TaskStatus::new(task_id.clone(), state);
        status.source = Some(if reason == Some(Reason::CONTAINER_LAUNCH_FAILED) {
            TaskSource::Agent
        } else {
            TaskSource::Executor
        });
        status.reason = reason;
        status.message = message;
        status.agent_id = agent_id;
        status.executor_id = Some(task.executor_id());
        status.timestamp = Some(now_secs());
        status.uuid = Some(Base64Bytes(uuid::Uuid::new_v4().as_bytes().to_vec()));
        status.container_status = container_status;
        status.healthy = healthy;
        status.check_status = task.info.check.as_ref().map(|c| {
            task.check_status
                .clone()
                .unwrap_or_else(|| checks::unknown_check_status(c.kind))
        });
        task.state = state;
        task.statuses.push(status.clone());
        task.unacked.push_back(status.clone());
        let send_now = task.unacked.len() == 1;
        if send_now {
            task.head_sent = Some(Instant::now());
            task.head_backoff = self.settings.status_retry_interval;
        }
        if is_terminal(state) {
            task.process = None;
            task.probes = None;
            let (agent, resources) = (task.agent, task.resources.clone());
            if let Some(a) = self.agents.get_mut(agent) {
                a.used = a.used.subtract(&resources);
            }
        }
        let ended_in_group = task
            .executor
            .clone()
            .filter(|_| is_terminal(state))
            .map(|e| (task.agent, e));
        // A partitioned agent's updates reach the master when it is back.
        let connected = fw.stream.is_some() && reachable;
        if send_now && connected {
            self.send(framework, Event::Update(crate::mesos::Update { status }));
        }
        if let Some((agent, executor)) = ended_in_group {
            self.group_task_ended(framework, agent, &executor, state);
        }
    }

    /// Kills a live task as its executor does: SIGTERM to its process, SIGKILL after `grace`;
    /// TASK_KILLING first for frameworks that understand it. A task with no process (simulated,
    /// or still fetching) is TASK_KILLED at once.
    pub(super) fn kill_task(&mut self, framework: &FrameworkId, task_id: &TaskId, grace: Duration) {
        let Some(fw) = self.frameworks.get(framework) else {
            return;
        };
        let killing_state = fw
            .info
            .has_capability(FrameworkCapability::TaskKillingState);
        let Some(task) = fw.tasks.get(task_id) else {
            return;
        };
        if is_terminal(task.state) {
            return;
        }
        if let Some(p) = &task.process {
            let _ = p.kill.try_send(grace);
        }
        let no_process = task.process.is_none();
        if killing_state && task.state != TaskState::Killing {
            self.update(framework, task_id, TaskState::Killing, None, None, None);
        }
        if no_process {
            let change = Change {
                message: Some("Command killed".into()),
                ..self.terminal_change(framework, task_id, TaskState::Killed)
            };
            self.report(framework, task_id, change);
        }
    }

    /// A terminal change; `healthy: false` when the task's health check killed it.
    fn terminal_change(&self, framework: &FrameworkId, task: &TaskId, state: TaskState) -> Change {
        let health_killed = self
            .frameworks
            .get(framework)
            .and_then(|f| f.tasks.get(task))
            .is_some_and(|t| t.health_killed);
        Change {
            healthy: health_killed.then_some(false),
            ..Change::new(state)
        }
    }

    pub(super) fn process_ended(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        pgid: u32,
        outcome: Outcome,
    ) {
        self.groups.remove(pgid);
        let (state, reason, message) = outcome.status();
        let change = Change {
            reason,
            message: Some(message),
            ..self.terminal_change(framework, task, state)
        };
        self.report(framework, task, change);
    }
}
