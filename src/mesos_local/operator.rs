//! The operator's requests through `/admin`, decided by the master: an agent made unreachable
//! and reachable again, removed, put into and out of maintenance; a simulated task finished or
//! failed; and the log of launches.

use super::master::{Agent, Master, Reach, Task, now_secs};
use crate::mesos::{
    AgentId, Event, FrameworkId, Reason, TaskId, TaskSource, TaskState, TaskStatus, TimeInfo,
    Unavailability, Update, is_terminal,
};
use serde::Serialize;
use serde_json::{Value as Json, json};
use std::time::SystemTime;

/// Launches kept for `GET /admin/launches`: enough for a benchmark's or a test's whole run, and
/// a bound on memory (a few hundred bytes each) for a long-lived mesos-local.
pub const LAUNCH_LOG: usize = 200_000;

/// What the operator asks of the master.
#[derive(Debug)]
pub(super) enum AdminCommand {
    /// The agent is partitioned away: its tasks are reported unreachable, it is offered no more.
    Unreachable(AgentId),
    /// The agent re-registers: its tasks are reported with their current state.
    Reachable(AgentId),
    /// The agent is gone for good, and its tasks with it.
    Remove(AgentId),
    /// Sets (or, with none, clears) the agent's maintenance window.
    Maintenance(AgentId, Option<Unavailability>),
    /// Ends a simulated task: TASK_FINISHED or TASK_FAILED.
    EndTask {
        task: TaskId,
        framework: Option<FrameworkId>,
        state: TaskState,
        message: Option<String>,
    },
    Launches,
}

/// Why the master refuses an operator's request; `admin` maps each to its status code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum AdminError {
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request does not fit the agent's or task's state.
    #[error("{0}")]
    Conflict(String),
    /// 503.
    #[error("mesos-local is stopping")]
    Stopping,
}

/// One launch, as `GET /admin/launches` lists it.
#[derive(Clone, Debug, Serialize)]
pub(super) struct LaunchRecord {
    pub task_id: String,
    pub agent_id: String,
    pub framework_id: String,
    /// The `Mesos-Stream-Id` of the ACCEPT that launched it.
    pub stream_id: String,
    /// Milliseconds since the epoch.
    pub time_ms: u64,
}

impl Master {
    pub(super) fn admin(&mut self, command: AdminCommand) -> Result<Json, AdminError> {
        match command {
            AdminCommand::Unreachable(id) => {
                let agent = self.agent_index(&id)?;
                let tasks = self.make_unreachable(agent);
                Ok(json!({"agent_id": id.value, "unreachable_tasks": tasks}))
            }
            AdminCommand::Reachable(id) => {
                let agent = self.agent_index(&id)?;
                let tasks = self.make_reachable(agent);
                Ok(json!({"agent_id": id.value, "reregistered_tasks": tasks}))
            }
            AdminCommand::Remove(id) => {
                let agent = self.agent_index(&id)?;
                let tasks = self.remove_agent(agent);
                Ok(json!({"agent_id": id.value, "gone_tasks": tasks}))
            }
            AdminCommand::Maintenance(id, window) => {
                let agent = self.agent_index(&id)?;
                if let Some(a) = self.agents.get_mut(agent) {
                    a.maintenance = window;
                }
                // Offers made before the change are rescinded; the next carry the window.
                self.rescind_agent_offers(agent);
                tracing::info!(agent_id = %id, ?window, "agent maintenance changed");
                Ok(json!({"agent_id": id.value, "unavailability": window}))
            }
            AdminCommand::EndTask {
                task,
                framework,
                state,
                message,
            } => self.end_task(&task, framework.as_ref(), state, message),
            AdminCommand::Launches => Ok(json!({"launches": self.launches})),
        }
    }

    /// A registered (not removed) agent by id.
    fn agent_index(&self, id: &AgentId) -> Result<usize, AdminError> {
        self.agents
            .iter()
            .position(|a| &a.id == id && a.reach != Reach::Removed)
            .ok_or_else(|| AdminError::NotFound(format!("Agent {id} is not registered")))
    }

    /// Remembers a launch for `GET /admin/launches`.
    pub(super) fn record_launch(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        agent: &AgentId,
    ) {
        let stream_id = self
            .frameworks
            .get(framework)
            .and_then(|f| f.stream.as_ref())
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let time_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        if self.launches.len() >= LAUNCH_LOG {
            self.launches.pop_front();
        }
        self.launches.push_back(LaunchRecord {
            task_id: task.value.clone(),
            agent_id: agent.value.clone(),
            framework_id: framework.value.clone(),
            stream_id,
            time_ms,
        });
    }

    /// The tasks of every framework on `agent`: (framework, task id, partition aware).
    fn tasks_on(&self, agent: usize) -> Vec<(FrameworkId, TaskId, bool)> {
        self.frameworks
            .iter()
            .flat_map(|(id, f)| {
                let aware = f.partition_aware();
                f.tasks
                    .iter()
                    .filter(move |(_, t)| t.agent == agent)
                    .map(move |(t, _)| (id.clone(), t.clone(), aware))
            })
            .collect()
    }

    /// A master-generated update about a task on an agent that changed: no uuid, not retried.
    fn agent_status(
        &self,
        task: &Task,
        state: TaskState,
        reason: Reason,
        message: &str,
    ) -> TaskStatus {
        let mut status = TaskStatus::new(task.info.task_id.clone(), state);
        status.source = Some(TaskSource::Master);
        status.reason = Some(reason);
        status.message = Some(message.to_owned());
        status.agent_id = self.agents.get(task.agent).map(|a| a.id.clone());
        status.timestamp = Some(now_secs());
        status
    }

    /// Returns how many of its live tasks were reported TASK_UNREACHABLE (TASK_LOST).
    fn make_unreachable(&mut self, agent: usize) -> usize {
        let since = now_secs();
        match self.agents.get_mut(agent) {
            Some(a) if a.reach == Reach::Reachable => a.reach = Reach::Unreachable(since),
            _ => return 0,
        }
        self.rescind_agent_offers(agent);
        let mut reported = 0;
        for (framework, task_id, aware) in self.tasks_on(agent) {
            let Some(task) = self
                .frameworks
                .get(&framework)
                .and_then(|f| f.tasks.get(&task_id))
            else {
                continue;
            };
            if is_terminal(task.state) {
                continue;
            }
            let state = if aware {
                TaskState::Unreachable
            } else {
                TaskState::Lost
            };
            let mut status =
                self.agent_status(task, state, Reason::AGENT_REMOVED, "Agent is unreachable");
            status.unreachable_time = Some(TimeInfo {
                nanoseconds: (since * 1e9) as i64,
            });
            self.send(&framework, Event::Update(Update { status }));
            reported += 1;
        }
        tracing::info!(agent_id = %self.agents[agent].id, tasks = reported, "agent unreachable");
        reported
    }

    /// Returns how many tasks were re-reported; their pending reliable updates follow.
    fn make_reachable(&mut self, agent: usize) -> usize {
        match self.agents.get_mut(agent) {
            Some(a) if matches!(a.reach, Reach::Unreachable(_)) => a.reach = Reach::Reachable,
            _ => return 0,
        }
        let mut reported = 0;
        for (framework, task_id, _) in self.tasks_on(agent) {
            let Some(task) = self
                .frameworks
                .get(&framework)
                .and_then(|f| f.tasks.get(&task_id))
            else {
                continue;
            };
            let status = self.agent_status(
                task,
                task.state,
                Reason::AGENT_REREGISTERED,
                "Unreachable agent re-reregistered",
            );
            self.send(&framework, Event::Update(Update { status }));
            reported += 1;
            let retry = self.settings.status_retry_interval;
            let head = self
                .frameworks
                .get_mut(&framework)
                .and_then(|f| f.tasks.get_mut(&task_id))
                .and_then(|t| {
                    let head = t.unacked.front().cloned()?;
                    t.head_sent = Some(std::time::Instant::now());
                    t.head_backoff = retry;
                    Some(head)
                });
            if let Some(status) = head {
                self.send(&framework, Event::Update(Update { status }));
            }
        }
        tracing::info!(agent_id = %self.agents[agent].id, tasks = reported, "agent reachable again");
        reported
    }

    /// Returns how many live tasks were reported TASK_GONE (TASK_LOST); every task of the
    /// agent is forgotten and any process of it killed.
    fn remove_agent(&mut self, agent: usize) -> usize {
        self.rescind_agent_offers(agent);
        if let Some(a) = self.agents.get_mut(agent) {
            a.reach = Reach::Removed;
        }
        let mut reported = 0;
        for (framework, task_id, aware) in self.tasks_on(agent) {
            let Some(mut task) = self
                .frameworks
                .get_mut(&framework)
                .and_then(|f| f.tasks.remove(&task_id))
            else {
                continue;
            };
            if let Some(p) = task.process.take() {
                let _ = p.kill.try_send(std::time::Duration::ZERO);
            }
            task.unacked.clear();
            if !is_terminal(task.state) {
                let state = if aware {
                    TaskState::Gone
                } else {
                    TaskState::Lost
                };
                let status = self.agent_status(
                    &task,
                    state,
                    Reason::AGENT_REMOVED_BY_OPERATOR,
                    "Agent removed by the operator",
                );
                if let Some(a) = self.agents.get_mut(agent) {
                    a.used = a.used.subtract(&task.resources);
                }
                task.state = state;
                task.statuses.push(status.clone());
                self.send(&framework, Event::Update(Update { status }));
                reported += 1;
            }
            if let Some(fw) = self.frameworks.get_mut(&framework) {
                fw.complete(task);
            }
        }
        for fw in self.frameworks.values_mut() {
            fw.refusals.remove(&agent);
            // Its default executors went with it.
            fw.executors.retain(|(a, _), _| *a != agent);
        }
        tracing::info!(agent_id = %self.agents[agent].id, tasks = reported, "agent removed");
        reported
    }

    fn end_task(
        &mut self,
        task: &TaskId,
        framework: Option<&FrameworkId>,
        state: TaskState,
        message: Option<String>,
    ) -> Result<Json, AdminError> {
        let holders: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(id, f)| framework.is_none_or(|w| w == *id) && f.tasks.contains_key(task))
            .map(|(id, _)| id.clone())
            .collect();
        let framework = match holders.as_slice() {
            [] => return Err(AdminError::NotFound(format!("Task {task} is not known"))),
            [one] => one.clone(),
            _ => {
                return Err(AdminError::Conflict(format!(
                    "Task {task} is known to several frameworks; name one with ?framework_id="
                )));
            }
        };
        if self.settings.simulated.is_none() {
            return Err(AdminError::Conflict(format!(
                "Task {task} runs a process; only simulated tasks (--simulated) end on request"
            )));
        }
        let current = self
            .frameworks
            .get(&framework)
            .and_then(|f| f.tasks.get(task))
            .map(|t| {
                (
                    t.state,
                    self.agents.get(t.agent).is_some_and(Agent::reachable),
                )
            });
        match current {
            Some((s, _)) if is_terminal(s) => {
                return Err(AdminError::Conflict(format!("Task {task} is already {s}")));
            }
            Some((_, false)) => {
                return Err(AdminError::Conflict(format!(
                    "Task {task} is on an unreachable agent"
                )));
            }
            _ => {}
        }
        let message = message.unwrap_or_else(|| match state {
            TaskState::Finished => "Command exited with status 0".to_owned(),
            _ => "Command exited with status 1".to_owned(),
        });
        self.update(&framework, task, state, None, Some(message), None);
        Ok(json!({"framework_id": framework.value, "task_id": task.value, "state": state}))
    }
}
